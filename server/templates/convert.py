"""Translation between the TemplateService protos and the templates domain model."""

from __future__ import annotations

from collections.abc import Iterable

from erpmail.server.core.protos import timestamp
from erpmail.server.outgoing.models import Address, Attachment
from erpmail.server.templates.models import RenderedTemplate, Template, TemplateAttachment
from erpmail.v1 import emails_pb2
from erpmail.v1 import templates_pb2 as pb
from google.protobuf import json_format, struct_pb2


def template_to_domain(message: pb.Template) -> Template:
    # create_time and update_time are output only.
    return Template(
        template_id=message.template_id,
        description=message.description,
        from_account_id=message.from_account_id,
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        subject=message.subject,
        text_body=message.text_body,
        html_body=message.html_body,
        attachments=[
            TemplateAttachment.of(a.file_name, a.content_type, a.content)
            for a in message.attachments
        ],
        locale=message.locale,
        data_source=message.data_source,
        known_fields=list(message.known_fields),
    )


def template_to_proto(t: Template) -> pb.Template:
    message = pb.Template(
        template_id=t.template_id,
        description=t.description,
        from_account_id=t.from_account_id,
        to=t.to,
        cc=t.cc,
        bcc=t.bcc,
        subject=t.subject,
        text_body=t.text_body,
        html_body=t.html_body,
        attachments=[
            emails_pb2.Attachment(
                file_name=a.file_name, content_type=a.content_type, content=a.content, size=a.size
            )
            for a in t.attachments
        ],
        locale=t.locale,
        data_source=t.data_source,
        known_fields=t.known_fields,
    )
    if t.create_time is not None:
        message.create_time.CopyFrom(timestamp(t.create_time))
    if t.update_time is not None:
        message.update_time.CopyFrom(timestamp(t.update_time))
    return message


def data_to_domain(data: struct_pb2.Struct) -> dict[str, object]:
    """The data as JSON has it: objects, lists, text, numbers (floats), true/false and null."""
    return dict(json_format.MessageToDict(data))


def preview_to_proto(
    rendered: RenderedTemplate, account_id: str, sender: Address | None
) -> pb.PreviewTemplateResponse:
    return pb.PreviewTemplateResponse(
        from_account_id=account_id,
        sender=_address(sender) if sender is not None else None,
        to=_addresses(rendered.to),
        cc=_addresses(rendered.cc),
        bcc=_addresses(rendered.bcc),
        subject=rendered.subject,
        text_body=rendered.text_body,
        html_body=rendered.html_body,
        attachments=[_attachment(a) for a in rendered.attachments],
    )


def _address(a: Address) -> emails_pb2.Address:
    return emails_pb2.Address(address=a.address, name=a.name)


def _addresses(items: Iterable[Address]) -> list[emails_pb2.Address]:
    return [_address(a) for a in items]


def _attachment(a: Attachment) -> emails_pb2.Attachment:
    return emails_pb2.Attachment(
        file_name=a.file_name, content_type=a.content_type, content=a.content, size=len(a.content)
    )
