"""Forwarding: an answer received in a known thread goes, as an ordinary outgoing email of the
account, to every employee of the thread; automated mail never does, nor any email twice. The
decision fed with values, then end to end: sent through the sandbox's SMTP, the answers received
over its IMAP, the forwards sent back through its SMTP."""

from __future__ import annotations

import email as email_parser
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TypeAlias

import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.models import Employee, EmployeeStatus
from erpmail.server.incoming.forwarding import (
    FORWARDED_FROM_HEADER,
    Received,
    forward_content,
    forward_recipients,
    forward_subject,
    should_forward,
)
from erpmail.server.incoming.mapping import incoming_email
from erpmail.server.incoming.store import IncomingStore
from erpmail.server.outgoing.models import Address, Attachment, Content, RelatedEntity, Status
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, common_pb2, emails_pb2_grpc, processing_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import processing_pb2 as pb

from tests.support.outgoing import ADDRESS, email, sandbox_account, wait_until

Processing: TypeAlias = "processing_pb2_grpc.ProcessingServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"

# -- the decision ----------------------------------------------------------------------------------

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def received(**changes: object) -> Received:
    content = Content(
        to=[Address(ADDRESS)],
        subject="Re: Invoice 42 [#3]",
        text_body="Thanks.\n\nSee the attached file.",
        attachments=[Attachment("scan.pdf", "application/pdf", b"%PDF-1.4")],
        related_entity=RelatedEntity("invoice", "INV-42", "Invoice 42"),
        owner_id="EMP1",
        work_group_id="wg-sales",
    )
    values: dict[str, object] = {
        "email_id": 9,
        "message_id": "<reply-1@example.com>",
        "sender": Address("customer@example.com", "Customer"),
        "date": WHEN,
        "content": content,
        "thread_email_id": 3,
        "automated": False,
    }
    values.update(changes)
    return Received(**values)  # type: ignore[arg-type]


def employee(
    employee_id: str, address: str, status: EmployeeStatus = EmployeeStatus.ACTIVE
) -> Employee:
    return Employee(
        employee_id, display_name=employee_id.title(), employee_email=address, status=status
    )


def test_only_a_threaded_answer_written_by_a_person_is_forwarded() -> None:
    assert should_forward(received())
    assert not should_forward(received(thread_email_id=None))
    assert not should_forward(received(automated=True))


def test_each_employee_once_without_the_account_the_sender_and_direct_recipients() -> None:
    employees = [
        employee("EMP1", "emp1@corp.test"),
        employee("EMP1", "EMP1@corp.test"),  # the owner also found by address
        employee("ERP", ADDRESS.upper()),
        employee("SENDER", "customer@example.com"),
        employee("CCED", "cced@corp.test"),
        employee("GONE", "gone@corp.test", status=EmployeeStatus.INACTIVE),
        Employee("NOMAIL"),
        employee("EMP2", "emp2@corp.test"),
    ]

    chosen = forward_recipients(
        employees,
        account_address=ADDRESS,
        sender_address="Customer@Example.com",
        direct_recipients=[ADDRESS, "CCed@corp.test"],
    )

    assert chosen == [Address("emp1@corp.test", "Emp1"), Address("emp2@corp.test", "Emp2")]


def test_the_user_address_is_used_when_the_employee_has_no_employee_address() -> None:
    user_only = Employee("EMP3", user_email="emp3@users.test")
    chosen = forward_recipients([user_only], account_address=ADDRESS, sender_address="x@y.test")
    assert chosen == [Address("emp3@users.test")]


def test_the_forward_quotes_the_original_under_a_header_block_and_keeps_what_the_thread_gave() -> (
    None
):
    to = [Address("emp1@corp.test")]

    content = forward_content(received(), to)

    assert content.to == to
    assert content.subject == "Fwd: Re: Invoice 42 [#3]"
    assert content.text_body.splitlines()[1:] == [
        "From: Customer <customer@example.com>",
        "Date: Mon, 02 Mar 2026 09:30:00 +0000",
        "Subject: Re: Invoice 42 [#3]",
        "",
        "> Thanks.",
        ">",
        "> See the attached file.",
    ]
    assert content.html_body == ""
    assert content.attachments == [Attachment("scan.pdf", "application/pdf", b"%PDF-1.4")]
    assert [(h.name, h.value) for h in content.headers] == [
        (FORWARDED_FROM_HEADER, "<reply-1@example.com>")
    ]
    assert content.related_entity == RelatedEntity("invoice", "INV-42", "Invoice 42")
    assert (content.owner_id, content.work_group_id) == ("EMP1", "wg-sales")


def test_an_html_original_is_quoted_in_a_blockquote_with_the_header_block_escaped() -> None:
    original = Content(subject="Re: <offer>", html_body="<p>Yes &amp; thanks</p>")

    content = forward_content(received(content=original, sender=None, date=None), [])

    assert content.text_body == ""
    assert "<b>Subject:</b> Re: &lt;offer&gt;" in content.html_body
    assert "<b>From:</b> (unknown sender)" in content.html_body
    assert "<blockquote" in content.html_body and "<p>Yes &amp; thanks</p>" in content.html_body


def test_forwarding_a_forward_does_not_stack_prefixes() -> None:
    assert forward_subject("FWD: hello") == "FWD: hello"
    assert forward_subject("Re: hello") == "Fwd: Re: hello"
    assert forward_subject("") == "Fwd: "


# -- end to end ------------------------------------------------------------------------------------


@pytest.fixture
async def employees(erpmail_server: ErpmailServer) -> None:
    """EMP1 owns the invoice email; EMP2 is copied on it; EMP3 has nothing to do with it."""
    for who in ("EMP1", "EMP2", "EMP3"):
        found = Employee(who, display_name=who, employee_email=f"{who.lower()}@corp.test")
        await erpmail_server.directory.create_employee(found, WHEN)


async def _create_account(accounts: Accounts, sandbox: Sandbox) -> None:
    account = sandbox_account(sandbox)
    account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
    account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    account.incoming.host = "127.0.0.1"
    account.incoming.port = sandbox.ports["imap"]
    account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
    account.processing.activate = True
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))


async def _send_invoice(emails: Emails) -> epb.Email:
    message = email("customer@example.com")
    message.cc.append(epb.Address(address="emp2@corp.test"))
    message.related_entity.CopyFrom(epb.RelatedEntity(type="invoice", id="INV-42"))
    message.owner_id = "EMP1"
    created = await emails.CreateEmail(epb.CreateEmailRequest(email=message, submit=True))
    (done,) = await wait_until(emails, [created.emails[0].email_id])
    assert done.status == epb.EMAIL_STATUS_PROCESSED
    return done


def answer(number: int, in_reply_to: str, *extra: str) -> bytes:
    headers = [
        "From: Customer <customer@example.com>",
        f"To: {ADDRESS}",
        "Subject: Re: Invoice 42",
        "Date: Mon, 02 Mar 2026 09:30:00 +0000",
        f"Message-ID: <answer-{number}@example.com>",
        f"In-Reply-To: {in_reply_to}",
        *extra,
    ]
    text = "\r\n".join(headers) + "\r\nContent-Type: text/plain\r\n\r\nThanks, paid today.\r\n"
    return text.encode()


async def _receive(processing: Processing) -> None:
    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["sandbox"]))
    (receipt,) = result.receipts
    assert receipt.ok, receipt.error


async def _listed(emails: Emails, direction: epb.EmailDirection.ValueType) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="sandbox", page_size=100))
    return [e for e in listed.emails if e.direction == direction]


async def _incoming(emails: Emails, message_id: str) -> epb.Email:
    for e in await _listed(emails, epb.EMAIL_DIRECTION_INCOMING):
        got = (await emails.GetEmail(epb.GetEmailRequest(email_id=e.email_id))).email
        if got.message_id == message_id:
            return got
    raise AssertionError(f"no incoming email {message_id}")


def _forwards_to(sandbox: Sandbox, address: str) -> list[EmailMessage]:
    """The messages the sandbox accepted for `address` that forward something."""
    parsed = [
        email_parser.message_from_bytes(m.raw, policy=email_parser.policy.default)
        for m in sandbox.received_messages(address)
    ]
    return [m for m in parsed if FORWARDED_FROM_HEADER in m]


@pytest.mark.usefixtures("employees")
async def test_an_answer_is_forwarded_to_each_employee_of_the_thread_and_becomes_processed(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox)
    sent = await _send_invoice(emails)
    before = len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING))
    sandbox.store.deliver("", [ADDRESS], answer(1, sent.message_id))

    await _receive(processing)
    forwards = await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)
    await wait_until(emails, [e.email_id for e in forwards])

    assert len(forwards) == before + 2  # one forward per employee: EMP1 (owner), EMP2 (copied)
    (to_owner,) = _forwards_to(sandbox, "emp1@corp.test")
    (to_copied,) = _forwards_to(sandbox, "emp2@corp.test")
    assert _forwards_to(sandbox, "emp3@corp.test") == []
    for forward in (to_owner, to_copied):
        assert str(forward["Subject"]).startswith("Fwd: Re: Invoice 42")
        assert forward[FORWARDED_FROM_HEADER] == "<answer-1@example.com>"
        body = forward.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "From: Customer <customer@example.com>" in text
        assert "> Thanks, paid today." in text
    incoming = await _incoming(emails, "<answer-1@example.com>")
    assert incoming.status == epb.EMAIL_STATUS_PROCESSED
    forwarded = [e for e in forwards if e.subject.startswith("Fwd:")]
    assert {(e.related_entity.id, e.owner_id) for e in forwarded} == {("INV-42", "EMP1")}


@pytest.mark.usefixtures("employees")
async def test_an_auto_reply_is_not_forwarded_but_processed(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox)
    sent = await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], answer(1, sent.message_id, "Auto-Submitted: auto-replied"))

    await _receive(processing)

    assert len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)) == 1  # the invoice only
    incoming = await _incoming(emails, "<answer-1@example.com>")
    assert (incoming.status, incoming.thread_email_id) == (
        epb.EMAIL_STATUS_PROCESSED,
        sent.email_id,
    )


@pytest.mark.usefixtures("employees")
async def test_an_email_fetched_again_is_never_forwarded_twice(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox)
    sent = await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], answer(1, sent.message_id))
    await _receive(processing)
    after_first = len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING))
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    sandbox.store.reset_uidvalidity(mailbox, "INBOX")  # the folder is fetched whole again

    await _receive(processing)
    await _receive(processing)

    assert len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)) == after_first == 3


async def test_an_answer_outside_any_thread_is_processed_without_forwarding(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _create_account(accounts, sandbox)
    sandbox.store.deliver("", [ADDRESS], answer(1, "<unknown@example.com>"))

    await _receive(processing)

    assert await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING) == []
    incoming = await _incoming(emails, "<answer-1@example.com>")
    assert incoming.status == epb.EMAIL_STATUS_PROCESSED


async def test_a_forward_the_outgoing_queue_refuses_leaves_the_email_failed_with_the_reason(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    erpmail_server: ErpmailServer,
) -> None:
    # The owner's address, written to the store directly, is none the outgoing queue takes.
    broken = Employee("EMP1", employee_email="emp1 at corp")
    await erpmail_server.directory.create_employee(broken, WHEN)
    await _create_account(accounts, sandbox)
    sent = await _send_invoice(emails)
    sandbox.store.deliver("", [ADDRESS], answer(1, sent.message_id))

    await _receive(processing)

    incoming = await _incoming(emails, "<answer-1@example.com>")
    assert incoming.status == epb.EMAIL_STATUS_FAILED
    assert "forwarding failed" in incoming.error
    assert len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)) == 1  # the invoice only


@pytest.mark.usefixtures("employees")
async def test_an_email_a_dead_run_stored_but_never_finished_is_forwarded_once_on_the_next_receive(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    erpmail_server: ErpmailServer,
) -> None:
    await _create_account(accounts, sandbox)
    sent = await _send_invoice(emails)
    account = (await erpmail_server.accounts.get("sandbox")).account
    # The crash window: the answer is stored (pending) and the run dies before processing it.
    store = IncomingStore(erpmail_server.db, erpmail_server.emails.notify)
    stored = await store.save(
        "sandbox", [incoming_email(answer(1, sent.message_id), account)], WHEN
    )
    assert [e.status for _, e in stored] == [Status.PENDING]

    await _receive(processing)
    forwards = await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)
    await wait_until(emails, [e.email_id for e in forwards])
    await _receive(processing)

    assert len(await _listed(emails, epb.EMAIL_DIRECTION_OUTGOING)) == len(forwards) == 3
    assert len(_forwards_to(sandbox, "emp1@corp.test")) == 1
    assert len(_forwards_to(sandbox, "emp2@corp.test")) == 1
    incoming = await _incoming(emails, "<answer-1@example.com>")
    assert incoming.status == epb.EMAIL_STATUS_PROCESSED
