"""Creating email: drafts or submitted, idempotent with a request id, one email per To, the
account's signature, a stable Message-ID and tracking tag, batch creation all or nothing, and
bad input refused with the field named and nothing stored."""

from __future__ import annotations

import email as email_parser
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2

from tests.support.errors import field_violations, precondition_types
from tests.support.outgoing import ADDRESS, email, sandbox_account, wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"


@pytest.fixture
async def account(accounts: Accounts, sandbox: Sandbox) -> apb.Account:
    message = sandbox_account(sandbox)
    message.signature.text = "Best regards, ERP"
    message.signature.html = "<p>Best regards, <b>ERP</b></p>"
    return (await accounts.CreateAccount(apb.CreateAccountRequest(account=message))).account


async def _all(emails: Emails) -> list[pb.Email]:
    return list((await emails.ListEmails(pb.ListEmailsRequest(page_size=500))).emails)


async def test_a_draft_is_kept_with_everything_the_sender_wrote(
    emails: Emails, account: apb.Account
) -> None:
    message = email("a@example.com")
    message.cc.add(address="c@example.com", name="Cee")
    message.bcc.add(address="hidden@example.com")
    message.html_body = "<p>Hi</p>"
    message.attachments.add(file_name="invoice.pdf", content=b"%PDF-1.4 ...")
    message.headers.add(name="X-Order", value="42")
    message.related_entity.CopyFrom(pb.RelatedEntity(type="invoice", id="INV-42"))
    message.owner_id = "EMP1"

    created = (await emails.CreateEmail(pb.CreateEmailRequest(email=message))).emails[0]

    got = (await emails.GetEmail(pb.GetEmailRequest(email_id=created.email_id))).email
    assert got.status == pb.EMAIL_STATUS_DRAFT
    assert getattr(got, "from").address == ADDRESS
    assert [a.address for a in got.bcc] == ["hidden@example.com"]
    assert got.attachments[0].content_type == "application/pdf"
    assert got.attachments[0].content == b"%PDF-1.4 ..."
    assert got.related_entity.id == "INV-42" and got.owner_id == "EMP1"
    assert got.message_id.startswith("<") and got.tracking_tag in got.tracking_tag
    assert got.created_by == "anonymous"


async def test_the_sent_message_carries_signature_tag_and_no_bcc_header(
    emails: Emails, account: apb.Account, sandbox: Sandbox
) -> None:
    message = email("a@example.com")
    message.bcc.add(address="hidden@example.com")
    message.html_body = "<html><body><p>Hi</p></body></html>"

    created = await emails.CreateEmail(pb.CreateEmailRequest(email=message, submit=True))
    (sent,) = await wait_until(emails, [created.emails[0].email_id])

    (received,) = sandbox.received_messages()
    assert sorted(received.rcpt_tos) == ["a@example.com", "hidden@example.com"]
    parsed = email_parser.message_from_bytes(received.raw, policy=email_parser.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"].endswith(sent.tracking_tag)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Best regards, ERP" in text
    assert "<b>ERP</b>" in html


async def test_the_same_request_id_creates_nothing_more(
    emails: Emails, account: apb.Account
) -> None:
    request = pb.CreateEmailRequest(email=email(), request_id="order-42-confirmation")

    first = await emails.CreateEmail(request)
    second = await emails.CreateEmail(request)

    assert [e.email_id for e in second.emails] == [e.email_id for e in first.emails]
    assert len(await _all(emails)) == 1


async def test_one_email_per_to_address(emails: Emails, account: apb.Account) -> None:
    message = email("a@example.com", "b@example.com", "c@example.com")
    message.cc.add(address="boss@example.com")

    created = await emails.CreateEmail(pb.CreateEmailRequest(email=message, one_email_per_to=True))

    assert [[a.address for a in e.to] for e in created.emails] == [
        ["a@example.com"],
        ["b@example.com"],
        ["c@example.com"],
    ]
    assert all([a.address for a in e.cc] == ["boss@example.com"] for e in created.emails)
    assert len({e.message_id for e in created.emails}) == 3


async def test_the_default_account_is_used_when_none_is_named(
    emails: Emails, account: apb.Account, preferences: Prefs
) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(default_account_id="sandbox"),
            update_mask=field_mask_pb2.FieldMask(paths=["default_account_id"]),
        )
    )

    created = await emails.CreateEmail(pb.CreateEmailRequest(email=email(account_id="")))

    assert created.emails[0].account_id == "sandbox"


async def test_a_batch_is_created_whole_or_not_at_all(emails: Emails, account: apb.Account) -> None:
    good = pb.CreateEmailRequest(email=email("a@example.com"))
    bad = pb.CreateEmailRequest(email=email("not an address"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.BatchCreateEmails(pb.BatchCreateEmailsRequest(requests=[good, bad]))

    assert "requests[1].email.to[0].address" in field_violations(error.value)
    with pytest.raises(grpc.aio.AioRpcError) as alone:
        await emails.BatchCreateEmails(pb.BatchCreateEmailsRequest(requests=[bad]))
    assert "requests[0].email.to[0].address" in field_violations(alone.value)
    assert await _all(emails) == []
    created = await emails.BatchCreateEmails(pb.BatchCreateEmailsRequest(requests=[good] * 3))
    assert len(created.emails) == 3


async def test_each_request_id_of_a_batch_creates_its_emails_once(
    emails: Emails, account: apb.Account
) -> None:
    first = pb.CreateEmailRequest(email=email("a@example.com"), request_id="invoice-1")
    second = pb.CreateEmailRequest(email=email("b@example.com"), request_id="invoice-2")
    unnamed = pb.CreateEmailRequest(email=email("c@example.com"))
    alone = await emails.CreateEmail(first)

    batch = pb.BatchCreateEmailsRequest(requests=[first, second, unnamed])
    created = await emails.BatchCreateEmails(batch)
    again = await emails.BatchCreateEmails(pb.BatchCreateEmailsRequest(requests=[second, first]))

    ids = [e.email_id for e in created.emails]
    assert ids[0] == alone.emails[0].email_id  # invoice-1 was created before the batch
    assert [e.email_id for e in again.emails] == [ids[1], ids[0]]
    assert [e.to[0].address for e in created.emails] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert len(await _all(emails)) == 3


async def test_a_request_id_repeated_within_a_batch_is_refused(
    emails: Emails, account: apb.Account
) -> None:
    twice = pb.CreateEmailRequest(email=email(), request_id="invoice-1")

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.BatchCreateEmails(pb.BatchCreateEmailsRequest(requests=[twice, twice]))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error.value)) == ["requests[1].request_id"]
    assert await _all(emails) == []


def _no_recipient(m: pb.Email) -> None:
    del m.to[:]


def _injected_subject(m: pb.Email) -> None:
    m.subject = "Hello\r\nBcc: victim@example.com"


def _injected_address(m: pb.Email) -> None:
    m.to[0].address = "a@example.com\r\nBcc: victim@example.com"


def _injected_header(m: pb.Email) -> None:
    m.headers.add(name="X-Test", value="ok\nBcc: victim@example.com")


def _structural_header(m: pb.Email) -> None:
    m.headers.add(name="Bcc", value="victim@example.com")


def _big_attachment(m: pb.Email) -> None:
    m.attachments.add(file_name="big.bin", content=b"x" * (10 * 1024 * 1024 + 1))


BAD = [
    ("email.to", _no_recipient),
    ("email.subject", _injected_subject),
    ("email.to[0].address", _injected_address),
    ("email.headers[0].value", _injected_header),
    ("email.headers[0].name", _structural_header),
    ("email.attachments[0].content", _big_attachment),
]


@pytest.mark.parametrize(("field", "spoil"), BAD, ids=[f for f, _ in BAD])
async def test_bad_email_is_refused_with_the_field_named_and_nothing_stored(
    emails: Emails, account: apb.Account, field: str, spoil: object
) -> None:
    message = email()
    spoil(message)  # type: ignore[operator]

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.CreateEmail(pb.CreateEmailRequest(email=message, submit=True))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert await _all(emails) == []


async def test_an_unknown_account_is_named(emails: Emails, account: apb.Account) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.CreateEmail(pb.CreateEmailRequest(email=email(account_id="ghost")))

    assert "email.account_id" in field_violations(error.value)


async def test_a_receive_only_account_cannot_send(
    emails: Emails, accounts: Accounts, sandbox: Sandbox
) -> None:
    receiving = sandbox_account(sandbox, "inbox")
    receiving.usage = apb.ACCOUNT_USAGE_RECEIVE_ONLY
    receiving.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    receiving.incoming.host = "127.0.0.1"
    await accounts.CreateAccount(apb.CreateAccountRequest(account=receiving))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await emails.CreateEmail(pb.CreateEmailRequest(email=email(account_id="inbox")))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["ACCOUNT_DOES_NOT_SEND"]


async def test_an_account_with_pending_email_cannot_be_deleted(
    emails: Emails, accounts: Accounts, account: apb.Account, preferences: Prefs
) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )
    await emails.CreateEmail(pb.CreateEmailRequest(email=email(), submit=True))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="sandbox"))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["PENDING_EMAIL"]
