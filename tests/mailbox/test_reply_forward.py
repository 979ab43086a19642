"""Reply, reply all and forward: a new draft of the account with the right recipients, "Re: " or
"Fwd: " once, the original quoted, In-Reply-To and References, the original's related entity and
owner, and on a forward its attachments. The rules fed with values, then end to end: mail received
over the sandbox's IMAP and sent through its SMTP."""

from __future__ import annotations

import email as email_parser
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import grpc
import pytest
from erpmail.server.core.errors import FailedPrecondition
from erpmail.server.mailbox.replies import (
    Original,
    check_answerable,
    forward_content,
    message_date,
    reply_content,
    reply_recipients,
)
from erpmail.server.outgoing.models import (
    Address,
    Attachment,
    Content,
    Direction,
    Header,
    RelatedEntity,
    Status,
)
from erpmail.v1 import emails_pb2 as pb

from tests.mailbox.actions_support import OWNER, World, outgoing, world
from tests.support.errors import field_violations, precondition_subjects, precondition_types
from tests.support.outgoing import ADDRESS, wait_until

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ANNA = Address("anna@customer.test", "Anna")


def original(**changes: object) -> Original:
    content = Content(
        to=[Address(ADDRESS, "ERP"), Address("bo@customer.test", "Bo")],
        cc=[
            Address("Anna@Customer.test"),
            Address("cy@customer.test"),
            Address("erp@SANDBOX.test"),
        ],
        subject="Invoice 42",
        text_body="Where is it?\n\nAnna",
        headers=[Header("References", "<a@x.test> <b@x.test>")],
        related_entity=RelatedEntity("invoice", "INV-42", "Invoice 42"),
        owner_id="EMP1",
        work_group_id="wg-sales",
    )
    values: dict[str, object] = {
        "email_id": 7,
        "direction": Direction.INCOMING,
        "status": Status.PROCESSED,
        "message_id": "<m1@customer.test>",
        "sender": ANNA,
        "date": WHEN,
        "content": content,
    }
    values.update(changes)
    return Original(**values)  # type: ignore[arg-type]


# -- the rules -------------------------------------------------------------------------------------


def test_a_reply_to_received_mail_goes_to_its_reply_to_else_its_sender() -> None:
    plain = original()
    assert reply_recipients(plain, False, [ADDRESS]) == ([ANNA], [])
    asked = original(content=Content(reply_to=[Address("desk@customer.test")]))
    assert reply_recipients(asked, False, [ADDRESS]) == ([Address("desk@customer.test")], [])


def test_a_reply_to_sent_mail_goes_to_its_to() -> None:
    sent = original(
        direction=Direction.OUTGOING,
        sender=Address(ADDRESS, "ERP"),
        content=Content(to=[Address("bo@customer.test")], cc=[Address("cy@customer.test")]),
    )
    assert reply_recipients(sent, False, [ADDRESS]) == ([Address("bo@customer.test")], [])
    assert reply_recipients(sent, True, [ADDRESS]) == (
        [Address("bo@customer.test")],
        [Address("cy@customer.test")],
    )


def test_reply_all_adds_the_others_without_the_accounts_addresses_or_anyone_twice() -> None:
    to, cc = reply_recipients(original(), True, [ADDRESS, "replies@sandbox.test"])

    assert to == [ANNA, Address("bo@customer.test", "Bo")]
    assert cc == [Address("cy@customer.test")]  # Anna (any case) and the account left out


def test_what_is_not_an_address_gets_no_reply() -> None:
    junk = original(content=Content(to=[Address("undisclosed-recipients:;")], cc=[Address("")]))
    assert reply_recipients(junk, True, []) == ([ANNA], [])


def test_the_reply_quotes_the_original_and_threads_under_it() -> None:
    reply = reply_content(original(), False, [ADDRESS])

    assert reply.subject == "Re: Invoice 42"
    assert reply.text_body.splitlines() == [
        "",
        "",
        "On Mon, 02 Mar 2026 09:30:00 +0000, Anna <anna@customer.test> wrote:",
        "> Where is it?",
        ">",
        "> Anna",
    ]
    assert reply.html_body == ""
    assert [(h.name, h.value) for h in reply.headers] == [
        ("In-Reply-To", "<m1@customer.test>"),
        ("References", "<a@x.test> <b@x.test> <m1@customer.test>"),
    ]
    assert reply.related_entity == RelatedEntity("invoice", "INV-42", "Invoice 42")
    assert (reply.owner_id, reply.work_group_id) == ("EMP1", "wg-sales")
    assert reply.attachments == []


def test_re_and_fwd_are_not_stacked() -> None:
    answered = original(content=Content(subject="RE: Invoice 42"))
    assert reply_content(answered, False, []).subject == "RE: Invoice 42"
    forwarded = original(content=Content(subject="Fwd: Invoice 42"))
    assert forward_content(forwarded, [ANNA], [], []).subject == "Fwd: Invoice 42"


def test_an_html_original_is_quoted_in_html_with_the_attribution_escaped() -> None:
    html = original(sender=Address("a@b.test", "<Anna>"), content=Content(html_body="<p>Hi</p>"))

    reply = reply_content(html, False, [])

    assert reply.text_body == ""
    assert "&lt;Anna&gt; &lt;a@b.test&gt; wrote:" in reply.html_body
    assert "<blockquote" in reply.html_body and "<p>Hi</p>" in reply.html_body


def test_a_forward_carries_the_attachments_and_quotes_the_header_block() -> None:
    content = original().content
    content.attachments = [
        Attachment("scan.pdf", "application/pdf", b"%PDF-1.4"),
        Attachment("note.eml", "message/rfc822", b"Subject: x\r\n\r\ny"),
    ]
    forward = forward_content(original(content=content), [Address("dan@corp.test")], [], [])

    assert forward.to == [Address("dan@corp.test")]
    assert forward.subject == "Fwd: Invoice 42"
    assert [(a.file_name, a.content_type) for a in forward.attachments] == [
        ("scan.pdf", "application/pdf"),
        ("note.eml", "application/octet-stream"),  # message/* is not attached as such
    ]
    assert "From: Anna <anna@customer.test>" in forward.text_body
    assert "To: ERP <erp@sandbox.test>, Bo <bo@customer.test>" in forward.text_body
    assert [h.name for h in forward.headers] == ["References"]
    assert forward.related_entity.id == "INV-42"


def test_drafts_and_deleted_email_are_not_answered() -> None:
    check_answerable(original(status=Status.ARCHIVED))
    for status, reason in ((Status.DELETED, "EMAIL_DELETED"), (Status.DRAFT, "EMAIL_IS_DRAFT")):
        with pytest.raises(FailedPrecondition) as refused:
            check_answerable(original(status=status))
        assert refused.value.kind == reason


def test_the_date_quoted_is_the_received_messages_date_header() -> None:
    assert message_date(b"Date: Mon, 02 Mar 2026 09:30:00 +0000\r\n\r\nx") == WHEN
    assert message_date(b"Date: yesterday\r\n\r\n") is None
    assert message_date(b"") is None


# -- end to end ------------------------------------------------------------------------------------


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as running:
        yield running


async def test_a_reply_to_received_mail_is_a_draft_of_the_account_threaded_under_it(
    mail: World,
) -> None:
    received = await mail.received("Reply-To: Accounts <accounts@customer.test>")
    await mail.emails.LinkEmail(
        pb.LinkEmailRequest(
            email_id=received.email_id,
            related_entity=pb.RelatedEntity(type="invoice", id="INV-42"),
        )
    )

    reply = (
        await mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id=received.email_id))
    ).email

    assert reply.status == pb.EMAIL_STATUS_DRAFT
    assert reply.direction == pb.EMAIL_DIRECTION_OUTGOING
    assert reply.account_id == "sandbox"
    assert [(a.address, a.name) for a in reply.to] == [("accounts@customer.test", "Accounts")]
    assert reply.subject == "Re: Invoice 42"
    assert "Anna Customer <anna@customer.test> wrote:" in reply.text_body
    assert "On Mon, 02 Mar 2026 09:30:00 +0000" in reply.text_body
    assert "> Please send it again." in reply.text_body
    headers = {h.name: h.value for h in reply.headers}
    assert headers == {"In-Reply-To": received.message_id, "References": received.message_id}
    assert (reply.related_entity.type, reply.related_entity.id) == ("invoice", "INV-42")
    assert reply.owner_id == OWNER


async def test_reply_all_to_received_mail_leaves_out_the_accounts_own_addresses(
    mail: World,
) -> None:
    received = await mail.received(
        f"To: {ADDRESS}, Bo <bo@customer.test>",
        "Cc: replies@sandbox.test, anna@customer.test, cy@customer.test",
    )

    reply = (
        await mail.emails.ReplyToEmail(
            pb.ReplyToEmailRequest(email_id=received.email_id, reply_all=True)
        )
    ).email

    assert [a.address for a in reply.to] == ["anna@customer.test", "bo@customer.test"]
    assert [a.address for a in reply.cc] == ["cy@customer.test"]


async def test_a_reply_to_sent_mail_goes_to_its_to_and_keeps_its_record(mail: World) -> None:
    message = outgoing("bo@customer.test")
    message.cc.append(pb.Address(address="cy@customer.test"))
    message.related_entity.CopyFrom(pb.RelatedEntity(type="sales_order", id="SO-9"))
    sent = await mail.sent(message)

    reply = (
        await mail.emails.ReplyToEmail(
            pb.ReplyToEmailRequest(email_id=sent.email_id, reply_all=True)
        )
    ).email

    assert [a.address for a in reply.to] == ["bo@customer.test"]
    assert [a.address for a in reply.cc] == ["cy@customer.test"]
    assert "ERP <erp@sandbox.test> wrote:" in reply.text_body
    assert {h.name: h.value for h in reply.headers}["In-Reply-To"] == sent.message_id
    assert reply.related_entity.id == "SO-9"
    assert reply.owner_id == sent.owner_id


async def test_archived_email_is_replied_to_and_deleted_email_is_refused(mail: World) -> None:
    received = await mail.received()
    await mail.emails.ArchiveEmails(pb.ArchiveEmailsRequest(email_ids=[received.email_id]))

    reply = await mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id=received.email_id))
    assert reply.email.subject == "Re: Invoice 42"

    await mail.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=[received.email_id]))
    for call in (
        mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id=received.email_id)),
        mail.emails.ForwardEmail(
            pb.ForwardEmailRequest(
                email_id=received.email_id, to=[pb.Address(address="dan@corp.test")]
            )
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert precondition_subjects(refused.value) == {
            f"emails/{received.email_id}": "EMAIL_DELETED"
        }


async def test_a_forward_carries_the_attachments_and_is_sent_with_them(mail: World) -> None:
    message = EmailMessage()
    message["From"] = "Anna <anna@customer.test>"
    message["To"] = ADDRESS
    message["Subject"] = "Receipt"
    message["Date"] = "Mon, 02 Mar 2026 09:30:00 +0000"
    message["Message-ID"] = "<receipt-1@customer.test>"
    message.set_content("The receipt is attached.")
    message.add_attachment(b"%PDF-1.4 receipt", "application", "pdf", filename="receipt.pdf")
    received = await mail.delivered(bytes(message), "<receipt-1@customer.test>")

    forward = (
        await mail.emails.ForwardEmail(
            pb.ForwardEmailRequest(
                email_id=received.email_id,
                to=[pb.Address(address="dan@corp.test", name="Dan")],
                cc=[pb.Address(address="eve@corp.test")],
            )
        )
    ).email

    assert forward.status == pb.EMAIL_STATUS_DRAFT
    assert forward.subject == "Fwd: Receipt"
    assert [(a.file_name, a.content_type, a.content) for a in forward.attachments] == [
        ("receipt.pdf", "application/pdf", b"%PDF-1.4 receipt")
    ]
    assert "> The receipt is attached." in forward.text_body
    await mail.emails.SubmitEmail(pb.SubmitEmailRequest(email_id=forward.email_id))
    (sent,) = await wait_until(mail.emails, [forward.email_id])
    assert sent.status == pb.EMAIL_STATUS_PROCESSED
    (delivered,) = mail.sandbox.received_messages("dan@corp.test")
    parsed = email_parser.message_from_bytes(delivered.raw, policy=email_parser.policy.default)
    assert [a.get_filename() for a in parsed.iter_attachments()] == ["receipt.pdf"]
    assert parsed["References"] == "<receipt-1@customer.test>"


async def test_the_same_request_id_returns_the_same_draft(mail: World) -> None:
    received = await mail.received()
    ask = pb.ReplyToEmailRequest(email_id=received.email_id, request_id="reply-1")

    first = await mail.emails.ReplyToEmail(ask)
    again = await mail.emails.ReplyToEmail(ask)

    assert again.email.email_id == first.email.email_id


async def test_bad_input_is_named_and_unknown_email_is_not_found(mail: World) -> None:
    received = await mail.received()
    cases: list[tuple[Awaitable[object], dict[str, str] | None]] = [
        (
            mail.emails.ForwardEmail(pb.ForwardEmailRequest(email_id=received.email_id)),
            {"to": "at least one recipient is required in to, cc or bcc"},
        ),
        (
            mail.emails.ForwardEmail(
                pb.ForwardEmailRequest(
                    email_id=received.email_id,
                    to=[pb.Address(address="dan@corp.test")],
                    bcc=[pb.Address(address="not an address")],
                )
            ),
            {"bcc[0].address": "is not an email address"},
        ),
        (
            mail.emails.ReplyToEmail(
                pb.ReplyToEmailRequest(email_id=received.email_id, account_id="nope")
            ),
            {"account_id": "no account 'nope'"},
        ),
        (mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id="x")), None),
    ]
    for call, violations in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        if violations is not None:
            assert field_violations(refused.value) == violations
    assert field_violations(refused.value) == {"email_id": "is not an email id"}

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id="999"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_draft_is_not_replied_to(mail: World) -> None:
    draft = await mail.draft()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await mail.emails.ReplyToEmail(pb.ReplyToEmailRequest(email_id=draft.email_id))
    assert precondition_types(refused.value) == ["EMAIL_IS_DRAFT"]
