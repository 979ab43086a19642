"""Valid template messages to start each test from."""

from __future__ import annotations

from typing import TypeAlias

from erpmail.v1 import emails_pb2, templates_pb2_grpc
from erpmail.v1 import templates_pb2 as pb

Stub: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"


def template(template_id: str = "order-confirmation", **overrides: object) -> pb.Template:
    message = pb.Template(
        template_id=template_id,
        description="Order confirmation",
        to="((Customer.Name)) <((Customer.Email))>",
        cc="sales@shop.example",
        subject="Your order ((OrderNbr))",
        text_body='Lines:\n<foreach view="Lines">((Qty)) x ((Item))\n</foreach>',
        html_body='<table><foreach view="Lines"><tr><td>((Qty))</td><td>((Item))</td></tr>'
        "</foreach></table>",
        attachments=[
            emails_pb2.Attachment(
                file_name="terms.pdf", content_type="application/pdf", content=b"%PDF-1.7 terms"
            )
        ],
        locale="en-GB",
        data_source="SalesOrder",
    )
    for name, value in overrides.items():
        if isinstance(value, list):
            field = getattr(message, name)
            del field[:]
            field.extend(value)
        else:
            setattr(message, name, value)
    return message


async def create(stub: Stub, message: pb.Template) -> pb.Template:
    return (await stub.CreateTemplate(pb.CreateTemplateRequest(template=message))).template
