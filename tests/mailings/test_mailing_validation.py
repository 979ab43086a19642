"""Requests that break a rule are refused whole, naming each offending field, and store or queue
nothing: recipients by their place in the request (recipients[2].recipient_key)."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.mailings.models import (
    MAX_ATTACHMENT_VOLUME,
    MAX_RECIPIENTS,
    EmailOptions,
    RecipientInput,
    check_attachment_volume,
    validate_start,
)
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import emails_pb2_grpc, templates_pb2_grpc
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import templates_pb2 as tpb

from tests.mailings.messages import Mailings, data, member, offer_template, recipient
from tests.support.errors import field_violations

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Templates: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"


async def _refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def _nothing_started(mailings: Mailings) -> None:
    error = await _refused(mailings.GetMassMailing(pb.GetMassMailingRequest(mass_mailing_id="1")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_start_names_every_bad_recipient_field(
    offer: tpb.Template, mailings: Mailings
) -> None:
    too_many_to = [f"a{i}@customer.test" for i in range(101)]
    recipients = [
        recipient("M-0", member(0)),
        recipient("", member(1)),
        recipient("M-0", member(2)),
        recipient("M-3\nBcc: x@evil.test", member(3)),
        recipient("M-4", {"Blob": "x" * (1024 * 1024 + 1)}),
        recipient("M-5", member(5), to=too_many_to),
    ]

    error = await _refused(
        mailings.StartMassMailing(
            pb.StartMassMailingRequest(template_id="offer", recipients=recipients)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {
        "recipients[1].recipient_key",
        "recipients[2].recipient_key",
        "recipients[3].recipient_key",
        "recipients[4].data",
        "recipients[5].to",
    }
    assert field_violations(error)["recipients[2].recipient_key"] == "repeats recipients[0]"
    await _nothing_started(mailings)


async def test_a_start_needs_a_template_and_recipients(
    offer: tpb.Template, mailings: Mailings
) -> None:
    error = await _refused(mailings.StartMassMailing(pb.StartMassMailingRequest()))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"template_id", "recipients"}


def test_at_most_100000_recipients_are_taken_in_one_mailing() -> None:
    recipients = [RecipientInput(f"M-{i}", {}) for i in range(MAX_RECIPIENTS + 1)]

    with pytest.raises(InvalidArgument) as caught:
        validate_start("offer", recipients, EmailOptions(), "")

    assert [v.field for v in caught.value.violations] == ["recipients"]
    validate_start("offer", recipients[:MAX_RECIPIENTS], EmailOptions(), "")


async def test_an_unknown_template_or_account_is_refused(
    offer: tpb.Template, mailings: Mailings
) -> None:
    one = [recipient("M-1", member(1))]

    unknown_template = await _refused(
        mailings.StartMassMailing(pb.StartMassMailingRequest(template_id="nope", recipients=one))
    )
    unknown_account = await _refused(
        mailings.StartMassMailing(
            pb.StartMassMailingRequest(template_id="offer", recipients=one, account_id="nope")
        )
    )

    assert unknown_template.code() == grpc.StatusCode.NOT_FOUND
    assert unknown_account.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(unknown_account) == {"account_id": "no account 'nope'"}
    await _nothing_started(mailings)


async def test_a_send_names_bad_extra_to_addresses_and_an_unknown_account(
    offer: tpb.Template, mailings: Mailings, emails: Emails
) -> None:
    error = await _refused(
        mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(
                template_id="offer",
                data=data(member(1)),
                extra_to=[epb.Address(address="ok@customer.test"), epb.Address(address="nope")],
                account_id="Sandbox\r\n",
                related_entity=epb.RelatedEntity(type="x\ny"),
            )
        )
    )

    assert set(field_violations(error)) == {
        "extra_to[1].address",
        "account_id",
        "related_entity.type",
    }
    unknown = await _refused(
        mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="offer", data=data(member(1)), account_id="x")
        )
    )
    assert field_violations(unknown) == {"account_id": "no account 'x'"}
    assert not (await emails.ListEmails(epb.ListEmailsRequest())).emails


async def test_a_template_that_gives_no_recipient_is_refused_on_data(
    offer: tpb.Template, mailings: Mailings, templates: Templates
) -> None:
    await templates.CreateTemplate(
        tpb.CreateTemplateRequest(template=offer_template("no-one", to="", cc=""))
    )

    error = await _refused(
        mailings.SendTemplateEmail(
            pb.SendTemplateEmailRequest(template_id="no-one", data=data(member(1)))
        )
    )

    [(name, description)] = field_violations(error).items()
    assert name == "data"
    assert "template 'no-one'" in description and "recipient" in description


async def test_mailing_ids_page_tokens_and_outcomes_are_checked(
    offer: tpb.Template, mailings: Mailings
) -> None:
    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(template_id="offer", recipients=[recipient("M", member(1))])
    )
    mailing_id = started.mass_mailing.mass_mailing_id

    bad_id = await _refused(mailings.GetMassMailing(pb.GetMassMailingRequest(mass_mailing_id="x")))
    unknown = await _refused(
        mailings.ListMassMailingRecipients(
            pb.ListMassMailingRecipientsRequest(mass_mailing_id="999")
        )
    )
    forged = await _refused(
        mailings.ListMassMailingRecipients(
            pb.ListMassMailingRecipientsRequest(
                mass_mailing_id=mailing_id, page_token="bm90LWpzb24="
            )
        )
    )
    outcome = await _refused(
        mailings.ListMassMailingRecipients(
            pb.ListMassMailingRecipientsRequest(
                mass_mailing_id=mailing_id,
                outcomes=[99],  # type: ignore[list-item]
            )
        )
    )
    stream = mailings.WatchMassMailing(pb.WatchMassMailingRequest(mass_mailing_id="999"))
    watch_unknown = await _refused(stream.read())

    assert set(field_violations(bad_id)) == {"mass_mailing_id"}
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert set(field_violations(forged)) == {"page_token"}
    assert set(field_violations(outcome)) == {"outcomes[0]"}
    assert watch_unknown.code() == grpc.StatusCode.NOT_FOUND


async def test_more_recipients_than_the_templates_attachments_allow_are_refused(
    offer: tpb.Template, mailings: Mailings, templates: Templates
) -> None:
    brochure = epb.Attachment(
        file_name="brochure.pdf", content_type="application/pdf", content=b"%" * (3 * 1024**2)
    )
    heavy = offer_template("heavy")
    del heavy.attachments[:]
    heavy.attachments.append(brochure)
    await templates.CreateTemplate(tpb.CreateTemplateRequest(template=heavy))
    most = MAX_ATTACHMENT_VOLUME // len(brochure.content)
    recipients = [recipient(f"M-{i}", {"Contact": {"Name": "A"}}) for i in range(most + 1)]

    error = await _refused(
        mailings.StartMassMailing(
            pb.StartMassMailingRequest(template_id="heavy", recipients=recipients)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error)) == ["recipients"]
    assert f"at most {most} in one mailing" in field_violations(error)["recipients"]
    await _nothing_started(mailings)


def test_the_attachment_volume_is_the_attachments_times_the_recipients() -> None:
    check_attachment_volume(MAX_ATTACHMENT_VOLUME // 4, 4)
    check_attachment_volume(0, MAX_RECIPIENTS)
    with pytest.raises(InvalidArgument):
        check_attachment_volume(MAX_ATTACHMENT_VOLUME // 4, 5)
