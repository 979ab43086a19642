"""Delivery status notifications: the recipients a received DSN reports failed are refused on the
outgoing email it is about, once. The decision fed with values, then end to end: sent through the
sandbox's SMTP, the DSN received over its IMAP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeAlias

import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.server.incoming.bounces import Bounce, apply_bounce, bounce_of, reply_of
from erpmail.server.incoming.parse import FailedRecipient, parse_message
from erpmail.server.outgoing.models import Recipient, RecipientKind, RecipientStatus
from erpmail.server.outgoing.outcomes import Reply
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, common_pb2, emails_pb2_grpc, processing_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import processing_pb2 as pb

from tests.support.outgoing import ADDRESS, PASSWORD, email, sandbox_account, wait_until

Processing: TypeAlias = "processing_pb2_grpc.ProcessingServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
OTHER_ADDRESS, OTHER_PASSWORD = "other@sandbox.test", "other-pw"


def dsn(original_message_id: str, failed: str, message_id: str = "<dsn-1@mx.example.net>") -> bytes:
    """A Postfix-style bounce: `failed` refused with 5.1.1 for the message `original_message_id`."""
    text = f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {ADDRESS}
Subject: Undelivered Mail Returned to Sender
Message-ID: {message_id}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown

--B
Content-Type: text/rfc822-headers

From: ERP <{ADDRESS}>
Subject: Invoice 42
Message-ID: {original_message_id}

--B--
"""
    return text.replace("\n", "\r\n").encode()


# -- the decision ----------------------------------------------------------------------------------


def recipient(address: str, status: RecipientStatus, code: int = 0) -> Recipient:
    return Recipient(address, RecipientKind.TO, status=status, reply_code=code)


def bounce(*failed: FailedRecipient) -> Bounce:
    return Bounce("<erpmail.1.abc@erp.example>", failed)


USER_UNKNOWN = FailedRecipient("b@example.com", "5.1.1", "550 5.1.1 User unknown")


def test_only_accepted_recipients_the_report_names_become_refused() -> None:
    recipients = [
        recipient("a@example.com", RecipientStatus.ACCEPTED),
        recipient("b@example.com", RecipientStatus.ACCEPTED),
        recipient("c@example.com", RecipientStatus.REFUSED, 550),  # refused at RCPT TO already
        recipient("d@example.com", RecipientStatus.PENDING),  # the dispatcher's
    ]
    report = bounce(
        USER_UNKNOWN,
        FailedRecipient("c@example.com", "5.1.1", ""),
        FailedRecipient("d@example.com", "5.1.1", ""),
        FailedRecipient("stranger@example.com", "5.1.1", ""),
    )

    update = apply_bounce(recipients, "", report)

    assert update is not None
    assert [(r.address, r.reply) for r in update.refusals] == [
        ("b@example.com", Reply(550, "5.1.1", "User unknown"))
    ]


def test_addresses_match_whatever_their_case_and_each_is_named_once() -> None:
    recipients = [
        recipient("Bob@Example.com", RecipientStatus.ACCEPTED),
        Recipient("bob@example.com", RecipientKind.CC, status=RecipientStatus.ACCEPTED),
    ]
    report = bounce(FailedRecipient("BOB@example.COM", "5.1.1", ""))

    update = apply_bounce(recipients, "", report)

    assert update is not None
    assert [r.address for r in update.refusals] == ["Bob@Example.com"]


def test_the_error_keeps_what_it_said_and_names_the_bounced_recipients() -> None:
    recipients = [recipient("b@example.com", RecipientStatus.ACCEPTED)]
    earlier = "some recipients were refused: c@example.com (550 5.1.1 no such user)"

    update = apply_bounce(recipients, earlier, bounce(USER_UNKNOWN))
    fresh = apply_bounce(recipients, "", bounce(USER_UNKNOWN))

    assert update is not None and fresh is not None
    assert update.error == earlier + "; bounced: b@example.com (550 5.1.1 User unknown)"
    assert fresh.error == "bounced: b@example.com (550 5.1.1 User unknown)"


def test_a_report_naming_no_accepted_recipient_changes_nothing() -> None:
    recipients = [recipient("b@example.com", RecipientStatus.REFUSED, 550)]
    assert apply_bounce(recipients, "", bounce(USER_UNKNOWN)) is None
    assert apply_bounce([], "", bounce(USER_UNKNOWN)) is None


@pytest.mark.parametrize(
    ("status", "diagnostic", "expected"),
    [
        ("5.1.1", "550 5.1.1 User unknown", Reply(550, "5.1.1", "User unknown")),
        ("5.2.2", "552-5.2.2 Mailbox full", Reply(552, "5.2.2", "Mailbox full")),
        ("5.1.1", "", Reply(550, "5.1.1", "")),  # the code from the status class
        ("4.4.7", "connection timed out", Reply(450, "4.4.7", "connection timed out")),
        ("4.4.7", "550 5.0.0 odd", Reply(450, "4.4.7", "5.0.0 odd")),  # the classes disagree
        ("", "550 5.1.1 User unknown", Reply(550, "5.1.1", "User unknown")),
        ("", "553 bad address", Reply(553, "", "bad address")),
        ("nonsense", "", Reply(0, "", "")),  # nothing said: no reply code is made up
    ],
)
def test_the_reply_comes_from_the_diagnostic_or_else_the_status_class(
    status: str, diagnostic: str, expected: Reply
) -> None:
    assert reply_of(FailedRecipient("b@example.com", status, diagnostic)) == expected


def test_an_over_long_diagnostic_is_cut() -> None:
    reply = reply_of(FailedRecipient("b@example.com", "5.1.1", "550 " + "x" * 10_000))
    assert len(reply.text) == 1000


def test_only_a_delivery_report_naming_a_message_and_a_failure_is_a_bounce() -> None:
    report = parse_message(dsn("<erpmail.1.abc@erp.example>", "b@example.com"))
    delayed = parse_message(
        dsn("<erpmail.1.abc@erp.example>", "b@example.com").replace(
            b"Action: failed", b"Action: delayed"
        )
    )
    nameless = parse_message(dsn("", "b@example.com"))
    plain = parse_message(b"From: a@example.com\r\nMessage-ID: <m@x>\r\n\r\nHello\r\n")

    found = bounce_of(report)

    assert found is not None
    assert found.original_message_id == "<erpmail.1.abc@erp.example>"
    assert [f.address for f in found.failed] == ["b@example.com"]
    assert bounce_of(delayed) is None
    assert bounce_of(nameless) is None
    assert bounce_of(plain) is None


# -- end to end ------------------------------------------------------------------------------------


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        running.store.create_mailbox(ADDRESS, PASSWORD)
        running.store.create_mailbox(OTHER_ADDRESS, OTHER_PASSWORD)
        yield running


@pytest.fixture
async def sent(accounts: Accounts, emails: Emails, sandbox: Sandbox) -> epb.Email:
    """An email the account sent to two recipients, both accepted by the server."""
    account = sandbox_account(sandbox)
    account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
    account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    account.incoming.host = "127.0.0.1"
    account.incoming.port = sandbox.ports["imap"]
    account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))
    created = await emails.CreateEmail(
        epb.CreateEmailRequest(email=email("a@example.com", "b@example.com"), submit=True)
    )
    (done,) = await wait_until(emails, [created.emails[0].email_id])
    assert done.status == epb.EMAIL_STATUS_PROCESSED
    assert [r.status for r in done.recipients] == [epb.RECIPIENT_STATUS_ACCEPTED] * 2
    return done


async def _receive(processing: Processing, account_id: str = "sandbox") -> pb.AccountReceipt:
    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=[account_id]))
    (receipt,) = result.receipts
    assert receipt.ok, receipt.error
    return receipt


async def _get(emails: Emails, email_id: str) -> epb.Email:
    return (await emails.GetEmail(epb.GetEmailRequest(email_id=email_id))).email


async def _incoming(emails: Emails, account_id: str) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id=account_id, page_size=100))
    return [e for e in listed.emails if e.direction == epb.EMAIL_DIRECTION_INCOMING]


async def test_a_bounce_refuses_the_reported_recipient_once_and_leaves_the_other_accepted(
    emails: Emails, processing: Processing, sandbox: Sandbox, sent: epb.Email
) -> None:
    sandbox.store.deliver("", [ADDRESS], dsn(sent.message_id, "b@example.com"))

    first = await _receive(processing)
    after = await _get(emails, sent.email_id)
    again = await _receive(processing)

    assert first.stored == 1
    by_address = {r.address: r for r in after.recipients}
    assert by_address["a@example.com"].status == epb.RECIPIENT_STATUS_ACCEPTED
    refused = by_address["b@example.com"]
    assert refused.status == epb.RECIPIENT_STATUS_REFUSED
    assert (refused.reply_code, refused.enhanced_status) == (550, "5.1.1")
    assert "User unknown" in refused.reply_text
    assert after.some_recipients_failed
    assert "b@example.com" in after.error and "a@example.com" not in after.error
    assert after.status == epb.EMAIL_STATUS_PROCESSED  # it was sent; it stays so
    assert after.update_time.ToDatetime() > sent.update_time.ToDatetime()
    assert [e.subject for e in await _incoming(emails, "sandbox")] == [
        "Undelivered Mail Returned to Sender"
    ]
    # Fetched again (e.g. after a resynchronisation): nothing stored, nothing applied twice.
    assert (again.fetched, again.stored) == (0, 0)
    assert await _get(emails, sent.email_id) == after


async def test_a_refetched_bounce_is_not_applied_twice(
    emails: Emails, processing: Processing, sandbox: Sandbox, sent: epb.Email
) -> None:
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    sandbox.store.deliver("", [ADDRESS], dsn(sent.message_id, "b@example.com"))
    await _receive(processing)
    after = await _get(emails, sent.email_id)
    sandbox.store.reset_uidvalidity(mailbox, "INBOX")  # the folder is fetched whole again

    again = await _receive(processing)

    assert (again.fetched, again.stored) == (1, 0)
    assert await _get(emails, sent.email_id) == after


async def test_the_bounce_is_on_the_watch_stream_with_the_status_unchanged(
    emails: Emails, processing: Processing, sandbox: Sandbox, sent: epb.Email
) -> None:
    outgoing = epb.EMAIL_DIRECTION_OUTGOING
    before = await _first_change(
        emails, epb.WatchEmailsRequest(direction=outgoing, include_current=True)
    )
    sandbox.store.deliver("", [ADDRESS], dsn(sent.message_id, "b@example.com"))

    await _receive(processing)
    change = await _first_change(
        emails, epb.WatchEmailsRequest(direction=outgoing, after_revision=before.revision)
    )

    assert change.email.email_id == sent.email_id
    assert change.email.status == epb.EMAIL_STATUS_PROCESSED
    assert change.email.some_recipients_failed


async def test_a_report_about_an_unknown_message_is_only_stored(
    emails: Emails, processing: Processing, sandbox: Sandbox, sent: epb.Email
) -> None:
    sandbox.store.deliver("", [ADDRESS], dsn("<not-ours@erp.example>", "b@example.com"))

    receipt = await _receive(processing)

    assert receipt.stored == 1
    assert len(await _incoming(emails, "sandbox")) == 1
    assert await _get(emails, sent.email_id) == sent


async def test_a_report_received_by_another_account_changes_nothing(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox, sent: epb.Email
) -> None:
    other = apb.Account(
        account_id="other",
        email_address=OTHER_ADDRESS,
        usage=apb.ACCOUNT_USAGE_RECEIVE_ONLY,
        incoming=apb.IncomingServer(
            protocol=apb.INCOMING_PROTOCOL_IMAP,
            host="127.0.0.1",
            port=sandbox.ports["imap"],
            security=common_pb2.CONNECTION_SECURITY_NONE,
            username=OTHER_ADDRESS,
            password=OTHER_PASSWORD,
        ),
    )
    await accounts.CreateAccount(apb.CreateAccountRequest(account=other))
    sandbox.store.deliver("", [OTHER_ADDRESS], dsn(sent.message_id, "b@example.com"))

    receipt = await _receive(processing, "other")

    assert receipt.stored == 1
    assert await _get(emails, sent.email_id) == sent


async def _first_change(emails: Emails, request: epb.WatchEmailsRequest) -> epb.EmailChange:
    stream = emails.WatchEmails(request)
    try:
        async with asyncio.timeout(20):
            async for event in stream:
                if event.HasField("change"):
                    return event.change
    finally:
        stream.cancel()
    raise AssertionError("the stream ended without a change")
