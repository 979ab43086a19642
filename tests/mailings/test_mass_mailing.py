"""A mass mailing gives each recipient their own email from one template: a recipient whose data
cannot fill the template, or whose address is not one, is reported with the place-holder at
fault, and the others are queued and sent; the same request id starts one mailing."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, templates_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import templates_pb2 as tpb

from tests.mailings.messages import (
    FAILED,
    QUEUED,
    Mailings,
    all_recipients,
    data,
    member,
    recipient,
    until_done,
)
from tests.support.errors import precondition_types
from tests.support.outgoing import sandbox_account, wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Templates: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"


async def test_a_bad_recipient_is_reported_and_the_others_are_queued_and_sent(
    offer: tpb.Template,
    mailings: Mailings,
    emails: Emails,
    templates: Templates,
    sandbox: Sandbox,
) -> None:
    no_offer = member(2)
    del no_offer["OfferNbr"]
    recipients = [
        recipient("M-1", member(1)),
        recipient("M-2", no_offer),
        recipient("M-3", member(3, email="not an address")),
        recipient("M-4", member(4), to=["boss@customer.test"]),
        recipient("M-5", member(5), to=["not an address either"]),
    ]

    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(template_id="offer", recipients=recipients)
    )

    assert started.mass_mailing.total == 5
    assert started.mass_mailing.account_id == "sandbox"
    done = await until_done(mailings, started.mass_mailing.mass_mailing_id)
    assert (done.queued, done.failed) == (2, 3)
    listed = {r.recipient_key: r for r in await all_recipients(mailings, done.mass_mailing_id)}
    assert [listed[k].outcome for k in ("M-1", "M-2", "M-3", "M-4", "M-5")] == [
        QUEUED,
        FAILED,
        FAILED,
        QUEUED,
        FAILED,
    ]
    assert listed["M-2"].placeholder == "OfferNbr"
    assert "template 'offer'" in listed["M-2"].error and "((OfferNbr))" in listed["M-2"].error
    assert listed["M-3"].placeholder == "Contact.Email"
    assert listed["M-5"].error == "to[0].address: is not an email address"
    assert not listed["M-2"].email_id

    sent = await wait_until(emails, [listed["M-1"].email_id, listed["M-4"].email_id])
    assert {e.status for e in sent} == {epb.EMAIL_STATUS_PROCESSED}
    [to_member] = sandbox.received_messages("member1@customer.test")
    [to_boss] = sandbox.received_messages("boss@customer.test")
    assert "sales@shop.example" in to_boss.rcpt_tos  # the template's Cc stays
    assert not sandbox.received_messages("member4@customer.test")
    preview = await templates.PreviewTemplate(
        tpb.PreviewTemplateRequest(template_id="offer", data=data(member(1)))
    )
    message = email.message_from_bytes(to_member.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"].startswith(preview.subject + " ")
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == preview.text_body


async def test_the_same_request_id_starts_one_mailing(
    offer: tpb.Template, mailings: Mailings, emails: Emails
) -> None:
    request = pb.StartMassMailingRequest(
        template_id="offer",
        recipients=[recipient(f"M-{i}", member(i)) for i in range(3)],
        request_id="campaign-7-wave-1",
    )

    first = (await mailings.StartMassMailing(request)).mass_mailing
    again = (await mailings.StartMassMailing(request)).mass_mailing
    await until_done(mailings, first.mass_mailing_id)
    once_more = (await mailings.StartMassMailing(request)).mass_mailing

    assert again.mass_mailing_id == first.mass_mailing_id == once_more.mass_mailing_id
    assert once_more.queued == 3
    listed = await emails.ListEmails(epb.ListEmailsRequest(page_size=100))
    assert len(listed.emails) == 3


async def test_every_email_carries_the_mailing_related_entity_and_owner(
    offer: tpb.Template, mailings: Mailings, emails: Emails
) -> None:
    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(
            template_id="offer",
            recipients=[recipient(f"M-{i}", member(i)) for i in range(2)],
            related_entity=epb.RelatedEntity(type="campaign", id="CP-7"),
            owner_id="EMP1",
        )
    )
    done = await until_done(mailings, started.mass_mailing.mass_mailing_id)

    for listed in await all_recipients(mailings, done.mass_mailing_id):
        got = (await emails.GetEmail(epb.GetEmailRequest(email_id=listed.email_id))).email
        assert (got.related_entity.type, got.related_entity.id, got.owner_id) == (
            "campaign",
            "CP-7",
            "EMP1",
        )


async def test_a_running_mailing_keeps_its_account_and_goes_on_when_the_worker_starts(
    offer: tpb.Template,
    mailings: Mailings,
    channel: grpc.aio.Channel,
    sandbox: Sandbox,
    erpmail_server: ErpmailServer,
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    await accounts.CreateAccount(
        apb.CreateAccountRequest(account=sandbox_account(sandbox, "campaigns"))
    )
    await erpmail_server.mailing_worker.stop()
    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(
            template_id="offer",
            account_id="campaigns",
            recipients=[recipient(f"M-{i}", member(i)) for i in range(3)],
        )
    )
    assert started.mass_mailing.status == pb.MASS_MAILING_STATUS_RUNNING

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="campaigns"))
    await erpmail_server.mailing_worker.start()
    done = await until_done(mailings, started.mass_mailing.mass_mailing_id)

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(caught.value) == ["MASS_MAILING"]
    assert (done.account_id, done.queued) == ("campaigns", 3)
