"""Receive all, end to end against the sandbox: IMAP and POP3 receipt, nothing fetched twice,
a UIDVALIDITY reset resynchronised without duplicates, keep a copy or remove, the date filter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.sandbox.store import SEEN, Mailbox
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    common_pb2,
    emails_pb2_grpc,
    preferences_pb2_grpc,
    processing_pb2_grpc,
)
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import preferences_pb2 as ppb
from erpmail.v1 import processing_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.support.errors import precondition_types

Processing: TypeAlias = "processing_pb2_grpc.ProcessingServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
ADDRESS, PASSWORD = "support@sandbox.test", "support-pw"


def message(number: int, subject: str = "") -> bytes:
    return (
        f"From: Customer {number} <customer{number}@example.com>\r\n"
        f"To: {ADDRESS}\r\nSubject: {subject or f'Question {number}'}\r\n"
        f"Message-ID: <question-{number}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, this is question {number}.\r\n"
    ).encode()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        yield running


@pytest.fixture
def mailbox(sandbox: Sandbox) -> Mailbox:
    return sandbox.store.create_mailbox(ADDRESS, PASSWORD)


async def _account(
    accounts: Accounts,
    sandbox: Sandbox,
    protocol: int = apb.INCOMING_PROTOCOL_IMAP,
    **content: object,
) -> None:
    name = "imap" if protocol == apb.INCOMING_PROTOCOL_IMAP else "pop3"
    account = apb.Account(
        account_id="support",
        email_address=ADDRESS,
        usage=apb.ACCOUNT_USAGE_RECEIVE_ONLY,
        incoming=apb.IncomingServer(
            protocol=protocol,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=sandbox.ports[name],
            security=common_pb2.CONNECTION_SECURITY_NONE,
            username=ADDRESS,
            password=PASSWORD,
        ),
    )
    for key, value in content.items():
        if key == "fetch_after":
            account.content.fetch_after.FromDatetime(value)  # type: ignore[arg-type]
        else:
            setattr(account.content, key, value)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))


async def _receive(processing: Processing) -> pb.AccountReceipt:
    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["support"]))
    (receipt,) = result.receipts
    assert receipt.ok, receipt.error
    return receipt


async def _received(emails: Emails) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="support", page_size=500))
    return list(listed.emails)


async def test_imap_mail_is_received_once_and_the_server_flags_are_untouched(
    accounts: Accounts, processing: Processing, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox)
    for n in range(3):
        sandbox.store.append(mailbox, "INBOX", message(n))

    first = await _receive(processing)
    second = await _receive(processing)

    assert (first.fetched, first.stored) == (3, 3)
    assert (second.fetched, second.stored) == (0, 0)
    got = await _received(emails)
    assert sorted(e.subject for e in got) == ["Question 0", "Question 1", "Question 2"]
    assert {e.direction for e in got} == {epb.EMAIL_DIRECTION_INCOMING}
    assert getattr(got[0], "from").address.startswith("customer")
    assert all(SEEN not in m.flags for m in mailbox.folder("INBOX").messages)  # BODY.PEEK
    assert len(mailbox.folder("INBOX").messages) == 3  # a copy is kept by default


async def test_new_mail_after_a_receive_is_fetched_alone(
    accounts: Accounts, processing: Processing, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox)
    sandbox.store.append(mailbox, "INBOX", message(1))
    await _receive(processing)
    sandbox.store.append(mailbox, "INBOX", message(2))

    again = await _receive(processing)

    assert (again.fetched, again.stored) == (1, 1)


async def test_a_uidvalidity_reset_resynchronises_without_duplicates(
    accounts: Accounts, processing: Processing, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox)
    for n in range(3):
        sandbox.store.append(mailbox, "INBOX", message(n))
    await _receive(processing)
    sandbox.store.reset_uidvalidity(mailbox, "INBOX")
    sandbox.store.append(mailbox, "INBOX", message(3))

    after = await _receive(processing)

    assert after.stored == 1  # only the new one; the others are known by Message-ID
    assert len(await _received(emails)) == 4


async def test_remove_from_server_deletes_only_what_was_stored(
    accounts: Accounts, processing: Processing, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox, remove_from_server=True)
    for n in range(2):
        sandbox.store.append(mailbox, "INBOX", message(n))

    receipt = await _receive(processing)

    assert receipt.stored == 2
    assert mailbox.folder("INBOX").messages == []


async def test_only_mail_received_after_the_date_is_fetched(
    accounts: Accounts, processing: Processing, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    now = datetime.now(UTC)
    await _account(accounts, sandbox, fetch_after=now - timedelta(days=2))
    sandbox.store.append(mailbox, "INBOX", message(1), internal_date=now - timedelta(days=10))
    sandbox.store.append(mailbox, "INBOX", message(2), internal_date=now)

    await _receive(processing)

    assert [e.subject for e in await _received(emails)] == ["Question 2"]


async def test_pop3_mail_is_received_once_and_removed_when_asked(
    accounts: Accounts, processing: Processing, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox, protocol=apb.INCOMING_PROTOCOL_POP3, remove_from_server=True)
    for n in range(3):
        sandbox.store.append(mailbox, "INBOX", message(n))

    first = await _receive(processing)
    second = await _receive(processing)

    assert (first.fetched, first.stored) == (3, 3)
    assert second.fetched == 0
    assert mailbox.folder("INBOX").messages == []
    assert len(await _received(emails)) == 3


async def test_a_message_that_cannot_be_parsed_is_kept_with_the_problem(
    accounts: Accounts, processing: Processing, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    await _account(accounts, sandbox)
    broken = (
        b"From: x@example.com\r\nSubject: broken\r\nMessage-ID: <broken@example.com>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain;'
        b" charset=x-unknown-charset\r\n\r\n\xff\xfe garbage\r\n"
    )
    sandbox.store.append(mailbox, "INBOX", broken)

    receipt = await _receive(processing)

    assert receipt.stored == 1
    (got,) = await _received(emails)
    assert got.subject == "broken"
    assert got.error  # the problem is said on the email


async def test_receiving_while_suspended_is_refused(
    accounts: Accounts, processing: Processing, channel: grpc.aio.Channel, sandbox: Sandbox
) -> None:
    await _account(accounts, sandbox)
    await preferences_pb2_grpc.PreferencesServiceStub(channel).UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["support"]))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["PROCESSING_SUSPENDED"]


async def test_a_wrong_password_is_reported_on_the_receipt(
    accounts: Accounts, processing: Processing, sandbox: Sandbox
) -> None:
    sandbox.store.create_mailbox(ADDRESS, "another-password")
    await _account(accounts, sandbox)

    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["support"]))

    (receipt,) = result.receipts
    assert not receipt.ok and receipt.error
    assert PASSWORD not in receipt.error


async def test_an_account_that_fetches_on_creation_receives_at_once(
    accounts: Accounts, emails: Emails, sandbox: Sandbox, mailbox: Mailbox
) -> None:
    sandbox.store.append(mailbox, "INBOX", message(1))

    await _account(accounts, sandbox, fetch_on_create=True)

    async with asyncio.timeout(20):
        while True:
            received = await _received(emails)
            if received:
                break
            await asyncio.sleep(0.05)
    assert [e.subject for e in received] == ["Question 1"]
