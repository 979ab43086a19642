"""CreateMailbox, ListMailboxes, IssueOAuthToken, DeliverMessage and ResetUidValidity through the
generated stubs against a running sandbox."""

from __future__ import annotations

import asyncio
import base64
import poplib
from datetime import UTC, datetime

import grpc
import pytest
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.sandbox.store import DELETED, INBOX, SEEN
from erpmail.v1 import sandbox_pb2 as pb
from google.protobuf import timestamp_pb2

from tests.sandbox.control.support import field_violations, resource_name

RAW = b"From: crm@example.com\r\nSubject: Order 17\r\n\r\nPlease confirm.\r\n"


async def test_created_mailbox_has_an_inbox_and_the_address_as_username(
    erpmail_sandbox: SandboxFixture,
) -> None:
    response = await erpmail_sandbox.stub.CreateMailbox(
        pb.CreateMailboxRequest(address="sales@example.com", password="s3cret")
    )

    mailbox = response.mailbox
    assert (mailbox.address, mailbox.username, mailbox.password) == (
        "sales@example.com",
        "sales@example.com",
        "s3cret",
    )
    assert [f.name for f in mailbox.folders] == [INBOX]
    assert erpmail_sandbox.store.authenticate("sales@example.com", "s3cret") is not None


async def test_created_mailbox_logs_in_with_its_own_username_over_pop3(
    erpmail_sandbox: SandboxFixture,
) -> None:
    await erpmail_sandbox.stub.CreateMailbox(
        pb.CreateMailboxRequest(address="sales@example.com", password="s3cret", username="sales")
    )

    def login() -> bytes:
        client = poplib.POP3("127.0.0.1", erpmail_sandbox.pop3_port, timeout=10)
        try:
            client.user("sales")
            return client.pass_("s3cret")
        finally:
            client.quit()

    assert (await asyncio.to_thread(login)).startswith(b"+OK")


async def test_a_taken_address_is_already_exists_whatever_its_case(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox("sales@example.com", "one")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.CreateMailbox(
            pb.CreateMailboxRequest(address="Sales@Example.com", password="two")
        )

    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "address" in field_violations(caught.value)


async def test_bad_mailbox_input_names_every_bad_field(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.CreateMailbox(
            pb.CreateMailboxRequest(address="not an address", username="two words")
        )

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"address", "password", "username"}


async def test_mailboxes_are_listed_by_address_page_by_page(
    erpmail_sandbox: SandboxFixture,
) -> None:
    for address in ("c@example.com", "a@example.com", "b@example.com"):
        erpmail_sandbox.create_mailbox(address, "pw")

    seen: list[str] = []
    token = ""
    while True:
        page = await erpmail_sandbox.stub.ListMailboxes(
            pb.ListMailboxesRequest(page_size=2, page_token=token)
        )
        seen += [m.address for m in page.mailboxes]
        token = page.next_page_token
        if not token:
            break

    assert seen == ["a@example.com", "b@example.com", "c@example.com"]


async def test_a_forged_page_token_is_invalid_argument(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.ListMailboxes(pb.ListMailboxesRequest(page_token="garbage!"))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(caught.value)


async def test_issued_oauth_token_authenticates_the_mailbox_for_xoauth2(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "pw")

    response = await erpmail_sandbox.stub.IssueOAuthToken(
        pb.IssueOAuthTokenRequest(address="erp@example.com")
    )

    store = erpmail_sandbox.store
    assert store.authenticate_token("erp@example.com", response.access_token) is not None
    assert base64.b64decode(response.xoauth2_initial_response) == (
        f"user=erp@example.com\x01auth=Bearer {response.access_token}\x01\x01".encode()
    )


async def test_oauth_token_for_an_unknown_mailbox_is_not_found(
    erpmail_sandbox: SandboxFixture,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.IssueOAuthToken(
            pb.IssueOAuthTokenRequest(address="nobody@example.com")
        )

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert resource_name(caught.value) == "nobody@example.com"


async def test_delivered_message_is_in_the_folder_with_its_flags_and_date(
    erpmail_sandbox: SandboxFixture,
) -> None:
    mailbox = erpmail_sandbox.create_mailbox("erp@example.com", "pw")
    when = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    internal_date = timestamp_pb2.Timestamp()
    internal_date.FromDatetime(when)

    response = await erpmail_sandbox.stub.DeliverMessage(
        pb.DeliverMessageRequest(
            address="erp@example.com", raw=RAW, flags=[SEEN], internal_date=internal_date
        )
    )

    [stored] = mailbox.folder(INBOX).messages
    assert (stored.raw, stored.flags, stored.internal_date) == (RAW, {SEEN}, when)
    assert (response.folder.name, response.uid, response.folder.message_count) == (INBOX, 1, 1)


async def test_delivered_message_is_fetched_over_pop3(erpmail_sandbox: SandboxFixture) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "pw")
    await erpmail_sandbox.stub.DeliverMessage(
        pb.DeliverMessageRequest(address="erp@example.com", raw=RAW)
    )

    def fetch() -> list[bytes]:
        client = poplib.POP3("127.0.0.1", erpmail_sandbox.pop3_port, timeout=10)
        try:
            client.user("erp@example.com")
            client.pass_("pw")
            return client.retr(1)[1]
        finally:
            client.quit()

    assert b"Subject: Order 17" in await asyncio.to_thread(fetch)


async def test_delivery_into_a_missing_folder_is_not_found_unless_asked_to_create_it(
    erpmail_sandbox: SandboxFixture,
) -> None:
    mailbox = erpmail_sandbox.create_mailbox("erp@example.com", "pw")
    request = pb.DeliverMessageRequest(address="erp@example.com", folder="Archive", raw=RAW)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.DeliverMessage(request)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert resource_name(caught.value) == "erp@example.com/Archive"

    request.create_folder = True
    response = await erpmail_sandbox.stub.DeliverMessage(request)
    assert response.folder.name == "Archive"
    assert [m.raw for m in mailbox.folder("Archive").messages] == [RAW]


async def test_bad_delivery_input_names_the_fields(erpmail_sandbox: SandboxFixture) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "pw")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.DeliverMessage(
            pb.DeliverMessageRequest(address="erp@example.com", flags=["\\Seen", "two words"])
        )

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"raw", "flags[1]"}


async def test_reset_uidvalidity_gives_a_new_value_and_renumbers_from_one(
    erpmail_sandbox: SandboxFixture,
) -> None:
    mailbox = erpmail_sandbox.create_mailbox("erp@example.com", "pw")
    for _ in range(3):
        erpmail_sandbox.store.append(mailbox, INBOX, RAW)
    inbox = mailbox.folder(INBOX)
    inbox.messages[0].flags.add(DELETED)
    inbox.expunge()
    before = inbox.uidvalidity

    response = await erpmail_sandbox.stub.ResetUidValidity(
        pb.ResetUidValidityRequest(address="erp@example.com")
    )

    assert response.folder.uidvalidity != before
    assert [m.uid for m in inbox.messages] == [1, 2]
    assert response.folder.uidnext == 3


async def test_reset_uidvalidity_of_an_unknown_folder_is_not_found(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "pw")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.ResetUidValidity(
            pb.ResetUidValidityRequest(address="erp@example.com", folder="Nope")
        )

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
