"""Templates, data and requests the mailing tests start from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

from erpmail.v1 import emails_pb2, mailings_pb2_grpc
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import json_format, struct_pb2

Mailings: TypeAlias = "mailings_pb2_grpc.MailingServiceAsyncStub"

DONE = pb.MASS_MAILING_STATUS_DONE
QUEUED = pb.MASS_MAILING_RECIPIENT_OUTCOME_QUEUED
FAILED = pb.MASS_MAILING_RECIPIENT_OUTCOME_FAILED
PENDING = pb.MASS_MAILING_RECIPIENT_OUTCOME_PENDING


def offer_template(template_id: str = "offer", **overrides: object) -> tpb.Template:
    message = tpb.Template(
        template_id=template_id,
        description="Spring offer",
        from_account_id="sandbox",
        to="((Contact.Name)) <((Contact.Email))>",
        cc="sales@shop.example",
        subject="((Contact.Name)), your offer ((OfferNbr))",
        text_body='Dear ((Contact.Name)),\n<foreach view="Lines">((Qty)) x ((Item))\n</foreach>',
        html_body='<p>Dear ((Contact.Name)),</p><ul><foreach view="Lines"><li>((Qty)) x'
        " ((Item))</li></foreach></ul>",
        attachments=[
            emails_pb2.Attachment(
                file_name="terms.pdf", content_type="application/pdf", content=b"%PDF-1.7 terms"
            )
        ],
    )
    for name, value in overrides.items():
        setattr(message, name, value)
    return message


def member(number: int, name: str = "", email: str = "") -> dict[str, object]:
    """The data of one campaign member."""
    return {
        "Contact": {
            "Name": name or f"Member {number}",
            "Email": email or f"member{number}@customer.test",
        },
        "OfferNbr": f"OF-{number}",
        "Lines": [{"Qty": 2, "Item": "Bolt & nut"}, {"Qty": 1, "Item": "<Washer>"}],
    }


def data(values: Mapping[str, object]) -> struct_pb2.Struct:
    return json_format.ParseDict(dict(values), struct_pb2.Struct())


def recipient(
    key: str, values: Mapping[str, object], to: Sequence[str] = ()
) -> pb.MassMailingRecipient:
    return pb.MassMailingRecipient(
        recipient_key=key,
        data=data(values),
        to=[emails_pb2.Address(address=a) for a in to],
    )


async def all_recipients(
    mailings: Mailings, mailing_id: str, *outcomes: pb.MassMailingRecipientOutcome.ValueType
) -> list[pb.MassMailingRecipient]:
    """Every recipient of the mailing, page by page."""
    found: list[pb.MassMailingRecipient] = []
    token = ""
    while True:
        page = await mailings.ListMassMailingRecipients(
            pb.ListMassMailingRecipientsRequest(
                mass_mailing_id=mailing_id, outcomes=outcomes, page_size=500, page_token=token
            )
        )
        found += page.recipients
        token = page.next_page_token
        if not token:
            return found


async def until_done(mailings: Mailings, mailing_id: str) -> pb.MassMailing:
    """The mailing once WatchMassMailing reports it done (the stream ends then)."""
    last = None
    async for event in mailings.WatchMassMailing(
        pb.WatchMassMailingRequest(mass_mailing_id=mailing_id), timeout=30
    ):
        last = event.mass_mailing
    assert last is not None and last.status == DONE
    return last
