"""SendTemplateEmail renders a stored template with a record's data and queues the email it
makes: what PreviewTemplate shows is what the receiver gets; a render error queues nothing."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import emails_pb2_grpc, templates_pb2_grpc
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import templates_pb2 as tpb

from tests.mailings.messages import Mailings, data, member
from tests.support.errors import field_violations
from tests.support.outgoing import wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Templates: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"


def _parts(message: EmailMessage) -> tuple[str, str, list[tuple[str, str, bytes]]]:
    text = html = ""
    files = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_filename():
            files.append((part.get_filename() or "", part.get_content_type(), part.get_content()))
        elif part.get_content_type() == "text/plain":
            text = part.get_content()
        elif part.get_content_type() == "text/html":
            html = part.get_content()
    return text, html, files


async def test_the_preview_is_what_the_sandbox_receives(
    offer: tpb.Template, mailings: Mailings, templates: Templates, sandbox: Sandbox
) -> None:
    values = member(7, name="Ada Lovelace", email="ada@customer.test")
    preview = await templates.PreviewTemplate(
        tpb.PreviewTemplateRequest(template_id="offer", data=data(values))
    )

    sent = (
        await mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="offer", data=data(values))
        )
    ).email

    assert sent.status == epb.EMAIL_STATUS_PENDING
    [received] = await sandbox.wait_for_messages(1, recipient="ada@customer.test", timeout=20)
    message = email.message_from_bytes(received.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    author = message["From"].addresses[0]
    assert (author.addr_spec, author.display_name) == (preview.sender.address, preview.sender.name)
    assert [(a.addr_spec, a.display_name) for a in message["To"].addresses] == [
        (a.address, a.name) for a in preview.to
    ]
    assert [a.addr_spec for a in message["Cc"].addresses] == [a.address for a in preview.cc]
    assert sorted(received.rcpt_tos) == sorted(a.address for a in [*preview.to, *preview.cc])
    # The queue adds the tracking tag to the subject, as PreviewTemplate says.
    assert message["Subject"] == f"{preview.subject} {sent.tracking_tag}"
    assert message["Message-ID"] == sent.message_id
    text, html, files = _parts(message)
    # On the wire lines end in CRLF, and a text part ends with a line end (added to the HTML).
    assert text.replace("\r\n", "\n") == preview.text_body
    assert html.replace("\r\n", "\n") == preview.html_body + "\n"
    assert files == [(a.file_name, a.content_type, a.content) for a in preview.attachments]


async def test_a_render_error_names_the_template_and_placeholder_and_queues_nothing(
    offer: tpb.Template, mailings: Mailings, emails: Emails
) -> None:
    values = member(1)
    del values["OfferNbr"]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="offer", data=data(values))
        )

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [(name, description)] = field_violations(caught.value).items()
    assert name == "data"
    assert "template 'offer'" in description and "((OfferNbr))" in description
    assert "subject" in description
    assert not (await emails.ListEmails(epb.ListEmailsRequest())).emails


async def test_lenient_rendering_writes_nothing_for_a_missing_value(
    offer: tpb.Template, mailings: Mailings
) -> None:
    values = member(1)
    del values["OfferNbr"]

    sent = (
        await mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="offer", data=data(values), lenient=True)
        )
    ).email

    assert sent.subject == "Member 1, your offer "


async def test_extra_to_related_entity_and_owner_go_with_the_email(
    offer: tpb.Template, mailings: Mailings, emails: Emails, sandbox: Sandbox
) -> None:
    request = pb.SendTemplateEmailRequest(
        template_id="offer",
        data=data(member(3)),
        extra_to=[epb.Address(address="manager@customer.test", name="Manager")],
        related_entity=epb.RelatedEntity(type="campaign", id="CP-9", description="Spring"),
        owner_id="EMP1",
    )

    sent = (await mailings.SendTemplateEmail(request)).email

    assert [a.address for a in sent.to] == ["member3@customer.test", "manager@customer.test"]
    assert (sent.related_entity.type, sent.related_entity.id) == ("campaign", "CP-9")
    assert sent.owner_id == "EMP1"
    [processed] = await wait_until(emails, [sent.email_id])
    assert processed.status == epb.EMAIL_STATUS_PROCESSED
    assert sandbox.received_messages("manager@customer.test")


async def test_the_same_request_id_queues_one_email(
    offer: tpb.Template, mailings: Mailings, emails: Emails
) -> None:
    request = pb.SendTemplateEmailRequest(
        template_id="offer", data=data(member(1)), request_id="order-42-confirmation"
    )

    first = (await mailings.SendTemplateEmail(request)).email
    again = (await mailings.SendTemplateEmail(request)).email

    assert again.email_id == first.email_id
    listed = await emails.ListEmails(epb.ListEmailsRequest())
    assert [e.email_id for e in listed.emails] == [first.email_id]


async def test_an_unknown_template_is_not_found(offer: tpb.Template, mailings: Mailings) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="no-such", data=data(member(1)))
        )

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such" in (caught.value.details() or "")
