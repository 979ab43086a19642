"""Each option of incoming processing, end to end: mail delivered into the sandbox, received over
IMAP by an account that processes it, automatic replies sent through the sandbox's SMTP, requests
to the ERP read and answered over EntityRequestService, messages deleted on the server."""

from __future__ import annotations

import asyncio
import email as email_parser
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.models import Contact, Employee, WorkGroup
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    assignment_pb2_grpc,
    common_pb2,
    emails_pb2_grpc,
    entity_requests_pb2_grpc,
    processing_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import assignment_pb2 as mpb
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import entity_requests_pb2 as rpb
from erpmail.v1 import processing_pb2 as pb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.support.errors import precondition_types
from tests.support.outgoing import ADDRESS, sandbox_account, wait_until

Processing: TypeAlias = "processing_pb2_grpc.ProcessingServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Requests: TypeAlias = "entity_requests_pb2_grpc.EntityRequestServiceAsyncStub"

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CUSTOMER = "anna@customer.test"


@pytest.fixture
def requests(channel: grpc.aio.Channel) -> Requests:
    return entity_requests_pb2_grpc.EntityRequestServiceStub(channel)


@pytest.fixture
async def templates(channel: grpc.aio.Channel) -> None:
    stub = templates_pb2_grpc.TemplateServiceStub(channel)
    for template_id, subject, body in (
        ("confirm", "We received: ((Subject))", "Dear ((Sender.Name)), thank you."),
        ("unassigned", "", "Nobody handles ((Subject)) yet; please call us."),
    ):
        template = tpb.Template(
            template_id=template_id, description=template_id, subject=subject, text_body=body
        )
        await stub.CreateTemplate(tpb.CreateTemplateRequest(template=template))


@pytest.fixture
async def directory(erpmail_server: ErpmailServer) -> None:
    store = erpmail_server.directory
    for who in ("EMP1", "EMP2"):
        await store.create_employee(Employee(who, who, f"{who.lower()}@corp.test"), WHEN)
    await store.create_work_group(WorkGroup("billing", "Billing", members=["EMP2"]), WHEN)
    await store.create_contact(
        Contact("C-1", "Bob", "bob@client.test", business_account_id="BA-7"), WHEN
    )


async def _account(
    accounts: Accounts,
    sandbox: Sandbox,
    processing: apb.IncomingProcessing,
    assignment: apb.AssignmentSettings | None = None,
) -> None:
    account = sandbox_account(sandbox)
    account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
    account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
    account.incoming.host = "127.0.0.1"
    account.incoming.port = sandbox.ports["imap"]
    account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
    processing.activate = True
    account.processing.CopyFrom(processing)
    if assignment is not None:
        account.assignment.CopyFrom(assignment)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account))


def message(number: int, sender: str = CUSTOMER, subject: str = "", *extra: str) -> bytes:
    headers = [
        f"From: Sender {number} <{sender}>",
        f"To: {ADDRESS}",
        f"Subject: {subject or f'Question {number}'}",
        "Date: Mon, 30 Nov 2026 09:00:00 +0000",
        f"Message-ID: <q{number}@customer.test>",
        *extra,
    ]
    text = "\r\n".join(headers) + "\r\nContent-Type: text/plain\r\n\r\nHello, I need help.\r\n"
    return text.encode()


async def _receive(processing: Processing) -> None:
    result = await processing.ReceiveEmails(pb.ReceiveEmailsRequest(account_ids=["sandbox"]))
    (receipt,) = result.receipts
    assert receipt.ok, receipt.error


async def _incoming(emails: Emails, number: int) -> epb.Email:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="sandbox", page_size=500))
    for e in listed.emails:
        if e.direction == epb.EMAIL_DIRECTION_INCOMING:
            got = (await emails.GetEmail(epb.GetEmailRequest(email_id=e.email_id))).email
            if got.message_id == f"<q{number}@customer.test>":
                return got
    raise AssertionError(f"no incoming email {number}")


async def _sent(emails: Emails) -> list[epb.Email]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id="sandbox", page_size=500))
    outgoing = [e.email_id for e in listed.emails if e.direction == epb.EMAIL_DIRECTION_OUTGOING]
    return await wait_until(emails, outgoing)


def _delivered(sandbox: Sandbox, address: str) -> list[EmailMessage]:
    return [
        email_parser.message_from_bytes(m.raw, policy=email_parser.policy.default)
        for m in sandbox.received_messages(address)
    ]


async def _requests(requests: Requests, **filters: object) -> list[rpb.EntityRequest]:
    listed = await requests.ListEntityRequests(rpb.ListEntityRequestsRequest(**filters))  # type: ignore[arg-type]
    return list(listed.entity_requests)


async def _next(stream: object) -> rpb.WatchEntityRequestsResponse:
    """The stream's next message, within a deadline."""
    async with asyncio.timeout(20):
        got = await stream.read()  # type: ignore[attr-defined]
    assert isinstance(got, rpb.WatchEntityRequestsResponse)
    return got


async def _vanish(server: ErpmailServer, table: str, key: str, value: str) -> None:
    """Removes a row the API would not let go of (it is still named), as a template or map
    lost underneath an account would be: processing must cope."""
    async with server.db.write() as conn:
        await conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (value,))


async def _template(channel: grpc.aio.Channel, template_id: str, body: str) -> None:
    stub = templates_pb2_grpc.TemplateServiceStub(channel)
    template = tpb.Template(template_id=template_id, description=template_id, text_body=body)
    await stub.CreateTemplate(tpb.CreateTemplateRequest(template=template))


# -- initial processing --------------------------------------------------------------------------


@pytest.mark.usefixtures("templates")
async def test_receipt_is_confirmed_with_the_template_as_an_automatic_reply(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="confirm"),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, subject="Broken printer"))

    await _receive(processing)
    (sent,) = await _sent(emails)

    assert sent.status == epb.EMAIL_STATUS_PROCESSED
    (reply,) = _delivered(sandbox, CUSTOMER)
    assert str(reply["Subject"]).startswith("We received: Broken printer")
    assert reply["In-Reply-To"] == "<q1@customer.test>"
    assert reply["Auto-Submitted"] == "auto-replied"
    body = reply.get_body(("plain",))
    assert body is not None and "Dear Sender 1, thank you." in body.get_content()
    assert (await _incoming(emails, 1)).status == epb.EMAIL_STATUS_PROCESSED


@pytest.mark.usefixtures("templates")
async def test_auto_replies_bounces_and_erpmails_own_address_are_never_confirmed(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="confirm"),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, "", "", "Auto-Submitted: auto-replied"))
    sandbox.store.deliver("", [ADDRESS], message(2, "mailer-daemon@relay.test"))
    sandbox.store.deliver("", [ADDRESS], message(3, ADDRESS))
    sandbox.store.deliver("", [ADDRESS], message(4, "", "", "Precedence: bulk"))

    await _receive(processing)

    assert await _sent(emails) == []
    for number in (1, 2, 3, 4):
        assert (await _incoming(emails, number)).status == epb.EMAIL_STATUS_PROCESSED


@pytest.mark.usefixtures("templates")
async def test_a_sender_is_answered_automatically_at_most_ten_times_a_day(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="confirm"),
    )
    for number in range(12):
        sandbox.store.deliver("", [ADDRESS], message(number, "robot@shop.test"))

    await _receive(processing)

    assert len(await _sent(emails)) == 10


# -- main processing -----------------------------------------------------------------------------


@pytest.mark.usefixtures("directory")
async def test_a_case_is_requested_and_the_erps_answer_links_the_email_to_it(
    accounts: Accounts, emails: Emails, processing: Processing, requests: Requests, sandbox: Sandbox
) -> None:
    await _account(
        accounts, sandbox, apb.IncomingProcessing(create_case=True, case_class="SUPPORT")
    )
    sandbox.store.deliver("", [ADDRESS], message(1))
    await _receive(processing)
    received = await _incoming(emails, 1)

    (request,) = await _requests(requests)
    assert request.kind == rpb.ENTITY_REQUEST_KIND_CREATE_CASE
    assert request.status == rpb.ENTITY_REQUEST_STATUS_OPEN
    assert request.email_id == received.email_id
    assert request.details["case_class"] == "SUPPORT"
    assert request.details["sender_address"] == CUSTOMER

    case = epb.RelatedEntity(type="case", id="CASE-9", description="Printer")
    done = await requests.CompleteEntityRequest(
        rpb.CompleteEntityRequestRequest(entity_request_id=request.entity_request_id, entity=case)
    )
    assert done.entity_request.status == rpb.ENTITY_REQUEST_STATUS_COMPLETED
    linked = (await emails.GetEmail(epb.GetEmailRequest(email_id=received.email_id))).email
    assert (linked.related_entity.type, linked.related_entity.id) == ("case", "CASE-9")
    # Completing again with the same case is harmless; with another it is refused.
    await requests.CompleteEntityRequest(
        rpb.CompleteEntityRequestRequest(entity_request_id=request.entity_request_id, entity=case)
    )
    other = epb.RelatedEntity(type="case", id="CASE-10")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await requests.CompleteEntityRequest(
            rpb.CompleteEntityRequestRequest(
                entity_request_id=request.entity_request_id, entity=other
            )
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ENTITY_REQUEST_RESOLVED" in precondition_types(refused.value)


@pytest.mark.usefixtures("directory")
async def test_a_known_contact_is_attached_to_their_business_account_and_no_lead_is_asked_for(
    accounts: Accounts, emails: Emails, processing: Processing, requests: Requests, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(attach_to_related_entity=True, create_lead=True),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, "bob@client.test"))
    sandbox.store.deliver("", [ADDRESS], message(2, "new.person@prospect.test"))
    await _receive(processing)

    from_bob = await _incoming(emails, 1)
    assert (from_bob.related_entity.type, from_bob.related_entity.id) == (
        "business_account",
        "BA-7",
    )
    found = {(r.email_id, r.kind): r for r in await _requests(requests)}
    attach = found[(from_bob.email_id, rpb.ENTITY_REQUEST_KIND_ATTACH_ACTIVITY)]
    assert attach.details["entity_id"] == "BA-7"
    assert attach.details["contact_id"] == "C-1"
    from_new = await _incoming(emails, 2)
    lead = found[(from_new.email_id, rpb.ENTITY_REQUEST_KIND_CREATE_LEAD)]
    assert lead.details["sender_address"] == "new.person@prospect.test"
    assert len(found) == 2  # no lead for Bob, nothing to attach the stranger to


async def test_an_unknown_sender_is_added_to_the_directory_once_and_the_email_attached_to_them(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    erpmail_server: ErpmailServer,
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(create_contact=True, attach_to_related_entity=True),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, "new.person@prospect.test"))
    sandbox.store.deliver("", [ADDRESS], message(2, "new.person@prospect.test"))
    await _receive(processing)

    contact = await erpmail_server.directory.contact_by_address("new.person@prospect.test")
    assert contact is not None and contact.created_by_erpmail
    for number in (1, 2):
        linked = (await _incoming(emails, number)).related_entity
        assert (linked.type, linked.id) == ("contact", contact.contact_id)


@pytest.mark.usefixtures("directory")
async def test_the_request_stream_delivers_open_requests_then_new_ones_and_resumes(
    accounts: Accounts, processing: Processing, requests: Requests, sandbox: Sandbox
) -> None:
    await _account(accounts, sandbox, apb.IncomingProcessing(create_case=True, case_class="S"))
    sandbox.store.deliver("", [ADDRESS], message(1))
    await _receive(processing)

    stream = requests.WatchEntityRequests(rpb.WatchEntityRequestsRequest())
    first = await _next(stream)
    sandbox.store.deliver("", [ADDRESS], message(2))
    await _receive(processing)
    second = await _next(stream)
    stream.cancel()

    assert int(second.entity_request.entity_request_id) > int(
        first.entity_request.entity_request_id
    )
    resumed = requests.WatchEntityRequests(
        rpb.WatchEntityRequestsRequest(
            after_entity_request_id=int(first.entity_request.entity_request_id)
        )
    )
    again = await _next(resumed)
    resumed.cancel()
    assert again.entity_request.entity_request_id == second.entity_request.entity_request_id


async def test_a_rejected_request_keeps_its_reason_and_cannot_be_completed(
    accounts: Accounts, processing: Processing, requests: Requests, sandbox: Sandbox
) -> None:
    await _account(accounts, sandbox, apb.IncomingProcessing(create_lead=True))
    sandbox.store.deliver("", [ADDRESS], message(1))
    await _receive(processing)
    (request,) = await _requests(requests)

    rejected = await requests.RejectEntityRequest(
        rpb.RejectEntityRequestRequest(entity_request_id=request.entity_request_id, reason="spam")
    )

    assert rejected.entity_request.status == rpb.ENTITY_REQUEST_STATUS_REJECTED
    assert rejected.entity_request.reason == "spam"
    assert await _requests(requests, statuses=[rpb.ENTITY_REQUEST_STATUS_OPEN]) == []
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await requests.CompleteEntityRequest(
            rpb.CompleteEntityRequestRequest(
                entity_request_id=request.entity_request_id,
                entity=epb.RelatedEntity(type="lead", id="L-1"),
            )
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


# -- assignment ----------------------------------------------------------------------------------


async def _billing_map(channel: grpc.aio.Channel) -> None:
    stub = assignment_pb2_grpc.AssignmentMapServiceStub(channel)
    rule = mpb.AssignmentRule(
        name="invoices",
        conditions=[
            mpb.AssignmentCondition(
                field=mpb.ASSIGNMENT_CONDITION_FIELD_SUBJECT,
                operator=mpb.ASSIGNMENT_CONDITION_OPERATOR_CONTAINS,
                value="invoice",
            )
        ],
        work_group_id="billing",
        owner_id="EMP2",
    )
    assignment_map = mpb.AssignmentMap(assignment_map_id="support-map", rules=[rule])
    await stub.CreateAssignmentMap(mpb.CreateAssignmentMapRequest(assignment_map=assignment_map))


@pytest.mark.usefixtures("directory", "templates")
async def test_the_assignment_map_then_the_account_defaults_assign_unowned_email(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
) -> None:
    await _billing_map(channel)
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(reply_to_unassigned=True, reply_template_id="unassigned"),
        apb.AssignmentSettings(assignment_map_id="support-map", default_owner_id="EMP1"),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, subject="Your INVOICE 42 is wrong"))
    sandbox.store.deliver("", [ADDRESS], message(2, subject="Printer broken"))
    await _receive(processing)

    mapped = await _incoming(emails, 1)
    assert (mapped.owner_id, mapped.work_group_id) == ("EMP2", "billing")
    defaulted = await _incoming(emails, 2)
    assert (defaulted.owner_id, defaulted.work_group_id) == ("EMP1", "")
    assert await _sent(emails) == []  # both assigned: no reply to unassigned email


@pytest.mark.usefixtures("templates")
async def test_email_nobody_is_assigned_gets_the_reply_template(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(reply_to_unassigned=True, reply_template_id="unassigned"),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, subject="Printer broken"))
    await _receive(processing)

    await _sent(emails)
    (reply,) = _delivered(sandbox, CUSTOMER)
    assert str(reply["Subject"]).startswith("Re: Printer broken")
    body = reply.get_body(("plain",))
    assert body is not None and "Nobody handles Printer broken yet" in body.get_content()
    received = await _incoming(emails, 1)
    assert (received.owner_id, received.work_group_id) == ("", "")


@pytest.mark.usefixtures("directory")
async def test_an_assignment_map_that_no_longer_exists_fails_the_email_with_the_reason(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
    erpmail_server: ErpmailServer,
) -> None:
    await _billing_map(channel)
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(),
        apb.AssignmentSettings(assignment_map_id="support-map"),
    )
    await _vanish(erpmail_server, "assignment_maps", "assignment_map_id", "support-map")
    sandbox.store.deliver("", [ADDRESS], message(1))
    await _receive(processing)

    failed = await _incoming(emails, 1)
    assert failed.status == epb.EMAIL_STATUS_FAILED
    assert "assignment map 'support-map' not found" in failed.error


# -- final processing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "kept"),
    [
        (apb.DELETE_AFTER_PROCESSING_NEVER, {"<q1@customer.test>", "<q2@customer.test>"}),
        (apb.DELETE_AFTER_PROCESSING_ANY, set()),
        (apb.DELETE_AFTER_PROCESSING_SUCCESSFUL, {"<q2@customer.test>"}),
        (apb.DELETE_AFTER_PROCESSING_FAILED, {"<q1@customer.test>"}),
    ],
)
async def test_messages_are_deleted_on_the_server_after_the_processing_outcomes_chosen(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    setting: apb.DeleteAfterProcessing.ValueType,
    kept: set[str],
    channel: grpc.aio.Channel,
    erpmail_server: ErpmailServer,
) -> None:
    # The confirmation template is gone: confirming question 2 fails; question 1 is an
    # automatic message, which is never confirmed, so its processing succeeds.
    await _template(channel, "missing", "Thanks.")
    options = apb.IncomingProcessing(
        delete_after_processing=setting,
        confirm_receipt=True,
        confirmation_template_id="missing",
    )
    await _account(accounts, sandbox, options)
    await _vanish(erpmail_server, "templates", "template_id", "missing")
    sandbox.store.deliver("", [ADDRESS], message(1, CUSTOMER, "", "Auto-Submitted: auto-generated"))
    sandbox.store.deliver("", [ADDRESS], message(2))

    await _receive(processing)

    assert (await _incoming(emails, 1)).status == epb.EMAIL_STATUS_PROCESSED
    failed = await _incoming(emails, 2)
    assert failed.status == epb.EMAIL_STATUS_FAILED
    assert "confirm template 'missing' not found" in failed.error
    assert _on_server(sandbox) == kept
    await _receive(processing)  # nothing deleted twice, nothing fetched again
    assert _on_server(sandbox) == kept


def _on_server(sandbox: Sandbox) -> set[str]:
    mailbox = sandbox.store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    messages = mailbox.folder("INBOX").messages
    return {str(email_parser.message_from_bytes(m.raw)["Message-ID"]) for m in messages}


async def _failed_confirmation(
    accounts: Accounts,
    processing: Processing,
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
    erpmail_server: ErpmailServer,
) -> None:
    """Receives one email whose processing fails: its confirmation template went missing."""
    await _template(channel, "later", "Got it.")
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="later"),
    )
    await _vanish(erpmail_server, "templates", "template_id", "later")
    sandbox.store.deliver("", [ADDRESS], message(1))
    await _receive(processing)


@pytest.mark.usefixtures("templates")
async def test_a_failed_email_is_processed_again_on_request_and_nothing_is_sent_twice(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
    erpmail_server: ErpmailServer,
) -> None:
    await _failed_confirmation(accounts, processing, sandbox, channel, erpmail_server)
    failed = await _incoming(emails, 1)
    assert failed.status == epb.EMAIL_STATUS_FAILED

    await _template(channel, "later", "Got it.")
    result = await processing.ProcessIncomingEmails(
        pb.ProcessIncomingEmailsRequest(email_ids=[failed.email_id])
    )

    (outcome,) = result.outcomes
    assert outcome.status == epb.EMAIL_STATUS_PROCESSED, outcome.error
    assert len(await _sent(emails)) == 1
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await processing.ProcessIncomingEmails(
            pb.ProcessIncomingEmailsRequest(email_ids=[failed.email_id])
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    again = await processing.ProcessIncomingEmails(
        pb.ProcessIncomingEmailsRequest(account_id="sandbox", include_failed=True)
    )
    assert list(again.outcomes) == []
    assert len(await _sent(emails)) == 1


@pytest.mark.usefixtures("templates")
async def test_processing_again_for_an_account_that_stopped_processing_is_refused_unchanged(
    accounts: Accounts,
    emails: Emails,
    processing: Processing,
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
    erpmail_server: ErpmailServer,
) -> None:
    await _failed_confirmation(accounts, processing, sandbox, channel, erpmail_server)
    assert (await _incoming(emails, 1)).status == epb.EMAIL_STATUS_FAILED
    off = apb.Account(account_id="sandbox", processing=apb.IncomingProcessing(activate=False))
    mask = field_mask_pb2.FieldMask(paths=["processing.activate"])
    await accounts.UpdateAccount(apb.UpdateAccountRequest(account=off, update_mask=mask))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await processing.ProcessIncomingEmails(
            pb.ProcessIncomingEmailsRequest(account_id="sandbox", include_failed=True)
        )

    assert precondition_types(refused.value) == ["PROCESSING_NOT_ACTIVATED"]
    assert (await _incoming(emails, 1)).status == epb.EMAIL_STATUS_FAILED  # not reopened


@pytest.mark.usefixtures("directory")
async def test_brief_reference_information_is_added_from_the_emails_history(
    accounts: Accounts, emails: Emails, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(
        accounts,
        sandbox,
        apb.IncomingProcessing(add_reference_info=True),
        apb.AssignmentSettings(default_owner_id="EMP1"),
    )
    sandbox.store.deliver("", [ADDRESS], message(1, "bob@client.test", "Printer"))
    await _receive(processing)
    sandbox.store.deliver(
        "",
        [ADDRESS],
        message(2, "bob@client.test", "Re: Printer", "In-Reply-To: <q1@customer.test>"),
    )
    await _receive(processing)

    first = await _incoming(emails, 1)
    assert "Assigned to: owner EMP1 (by account defaults)" in first.reference_info
    assert "Sender: contact C-1 of business account BA-7" in first.reference_info
    answer = await _incoming(emails, 2)
    assert f"In reply to: email {first.email_id} (incoming" in answer.reference_info
    assert "'Printer'" in answer.reference_info
    assert "(by thread)" in answer.reference_info


async def test_processing_names_bad_ids_and_needs_an_account_or_ids(
    accounts: Accounts, processing: Processing, sandbox: Sandbox
) -> None:
    await _account(accounts, sandbox, apb.IncomingProcessing())
    for request, code in (
        (pb.ProcessIncomingEmailsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.ProcessIncomingEmailsRequest(email_ids=["x"]), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.ProcessIncomingEmailsRequest(email_ids=["999"]), grpc.StatusCode.NOT_FOUND),
        (pb.ProcessIncomingEmailsRequest(account_id="nope"), grpc.StatusCode.NOT_FOUND),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await processing.ProcessIncomingEmails(request)
        assert refused.value.code() == code
