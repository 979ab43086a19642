"""What processing decides for a received email, from the account's options and the facts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from erpmail.server.accounts.models import DeleteAfterProcessing, IncomingProcessing
from erpmail.server.directory.models import Contact
from erpmail.server.incoming.plan import (
    AUTO_REPLY_LIMIT,
    Assignment,
    Facts,
    Ownership,
    RequestKind,
    delete_on_server,
    entity_of,
    needs_assignment,
    plan,
    should_create_contact,
)
from erpmail.server.outgoing.models import RelatedEntity

CUSTOMER = Facts(
    sender_address="anna@customer.test",
    sender_name="Anna",
    automated=False,
    threaded=False,
    thread_ownership=Ownership(),
    related_entity=RelatedEntity(),
    system_addresses=frozenset({"support@erp.test"}),
)
CONTACT = Contact("c-1", "Anna", "anna@customer.test", business_account_id="BA-1")
EVERYTHING = IncomingProcessing(
    activate=True,
    confirm_receipt=True,
    confirmation_template_id="confirm",
    create_case=True,
    case_class="SUPPORT",
    attach_to_related_entity=True,
    create_lead=True,
    reply_to_unassigned=True,
    reply_template_id="unassigned",
)


def kinds(result: object) -> list[RequestKind]:
    return [r.kind for r in result.requests]  # type: ignore[attr-defined]


def test_the_thread_owner_wins_over_the_map_and_the_defaults() -> None:
    facts = replace(CUSTOMER, threaded=True, thread_ownership=Ownership("emp-1", ""))
    result = plan(EVERYTHING, facts, Assignment(Ownership("emp-2"), Ownership("emp-3")), "billing")
    assert result.ownership == Ownership("emp-1", "")
    assert result.assigned_by == "thread"
    assert not needs_assignment(facts)


def test_the_map_assigns_when_the_thread_gives_no_owner() -> None:
    result = plan(
        EVERYTHING, CUSTOMER, Assignment(Ownership("", "wg-billing"), Ownership("emp-3")), "inv"
    )
    assert result.ownership == Ownership("", "wg-billing")
    assert result.assigned_by == "assignment map rule 'inv'"
    assert not result.reply_unassigned


def test_the_account_defaults_assign_when_the_map_matches_nothing() -> None:
    result = plan(EVERYTHING, CUSTOMER, Assignment(default=Ownership("emp-3", "wg-1")))
    assert result.ownership == Ownership("emp-3", "wg-1")
    assert result.assigned_by == "account defaults"
    assert not result.reply_unassigned


def test_only_an_email_nobody_owns_gets_the_unassigned_reply() -> None:
    result = plan(EVERYTHING, CUSTOMER, Assignment())
    assert not result.ownership.assigned
    assert result.reply_unassigned
    assert result.confirm_receipt


def test_an_unknown_sender_gets_a_case_and_a_lead_but_no_activity() -> None:
    result = plan(EVERYTHING, CUSTOMER, Assignment())
    assert kinds(result) == [RequestKind.CREATE_CASE, RequestKind.CREATE_LEAD]
    case = result.requests[0]
    assert case.details["case_class"] == "SUPPORT"
    assert case.details["sender_address"] == "anna@customer.test"


def test_a_known_contact_is_attached_to_their_business_account_and_gets_no_lead() -> None:
    result = plan(EVERYTHING, replace(CUSTOMER, contact=CONTACT), Assignment())
    assert kinds(result) == [RequestKind.ATTACH_ACTIVITY, RequestKind.CREATE_CASE]
    assert result.related_entity == RelatedEntity("business_account", "BA-1")
    assert result.requests[0].details["entity_id"] == "BA-1"
    assert result.requests[1].details["business_account_id"] == "BA-1"


def test_an_employee_writing_in_is_no_lead() -> None:
    result = plan(EVERYTHING, replace(CUSTOMER, sender_is_employee=True), Assignment())
    assert RequestKind.CREATE_LEAD not in kinds(result)


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact("c-1", "A", "a@x.test", business_account_id="BA"), ("business_account", "BA")),
        (Contact("c-1", "A", "a@x.test", lead_id="L-7"), ("lead", "L-7")),
        (Contact("c-1", "A", "a@x.test"), ("contact", "c-1")),
    ],
)
def test_an_email_is_attached_to_the_business_account_else_the_lead_else_the_contact(
    contact: Contact, expected: tuple[str, str]
) -> None:
    entity = entity_of(contact)
    assert entity is not None
    assert (entity.type, entity.id) == expected


def test_a_reply_in_a_conversation_about_an_entity_creates_no_case_or_lead() -> None:
    facts = replace(
        CUSTOMER,
        threaded=True,
        related_entity=RelatedEntity("case", "C-42"),
        contact=CONTACT,
    )
    result = plan(EVERYTHING, facts, Assignment())
    assert kinds(result) == []
    assert result.related_entity == RelatedEntity("case", "C-42")
    assert any("continues a conversation" in n for n in result.notes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"automated": True}, "automated"),
        ({"sender_address": "Support@ERP.test"}, "erpmail account"),
        ({"sender_address": "mailer-daemon@relay.test"}, "does not take replies"),
        ({"sender_address": "no-reply@shop.test"}, "does not take replies"),
        ({"sender_address": ""}, "no sender address"),
        ({"recent_auto_replies": AUTO_REPLY_LIMIT}, "automatic replies within a day"),
    ],
)
def test_robots_and_erpmails_own_accounts_are_never_answered_automatically(
    change: dict[str, object], reason: str
) -> None:
    result = plan(EVERYTHING, replace(CUSTOMER, **change), Assignment())  # type: ignore[arg-type]
    assert not result.confirm_receipt
    assert not result.reply_unassigned
    assert any(reason in n for n in result.notes)


def test_automated_mail_and_mail_from_erpmail_accounts_create_no_case_or_lead() -> None:
    for facts in (
        replace(CUSTOMER, automated=True),
        replace(CUSTOMER, sender_address="support@erp.test"),
    ):
        assert kinds(plan(EVERYTHING, facts, Assignment())) == []


def test_a_sender_answered_often_still_gets_a_case() -> None:
    facts = replace(CUSTOMER, recent_auto_replies=AUTO_REPLY_LIMIT + 5)
    assert RequestKind.CREATE_CASE in kinds(plan(EVERYTHING, facts, Assignment()))


def test_options_that_are_off_do_nothing() -> None:
    result = plan(
        IncomingProcessing(activate=True), replace(CUSTOMER, contact=CONTACT), Assignment()
    )
    assert result.requests == []
    assert not result.confirm_receipt
    assert not result.reply_unassigned
    assert result.related_entity == RelatedEntity()


@pytest.mark.parametrize(
    ("setting", "failed", "deleted"),
    [
        (DeleteAfterProcessing.NEVER, False, False),
        (DeleteAfterProcessing.NEVER, True, False),
        (DeleteAfterProcessing.ANY, False, True),
        (DeleteAfterProcessing.ANY, True, True),
        (DeleteAfterProcessing.FAILED, False, False),
        (DeleteAfterProcessing.FAILED, True, True),
        (DeleteAfterProcessing.SUCCESSFUL, False, True),
        (DeleteAfterProcessing.SUCCESSFUL, True, False),
    ],
)
def test_messages_are_deleted_on_the_server_after_the_outcomes_the_account_names(
    setting: DeleteAfterProcessing, failed: bool, deleted: bool
) -> None:
    assert delete_on_server(setting, failed) is deleted


def test_a_contact_is_created_only_for_a_person_the_directory_does_not_know() -> None:
    options = IncomingProcessing(activate=True, create_contact=True)
    assert should_create_contact(options, CUSTOMER)
    assert not should_create_contact(IncomingProcessing(activate=True), CUSTOMER)
    for facts in (
        replace(CUSTOMER, contact=CONTACT),
        replace(CUSTOMER, sender_is_employee=True),
        replace(CUSTOMER, automated=True),
        replace(CUSTOMER, sender_address="support@erp.test"),
        replace(CUSTOMER, sender_address=""),
    ):
        assert not should_create_contact(options, facts)


def test_a_contact_erpmail_created_itself_still_gets_a_lead_until_the_erp_takes_it_up() -> None:
    own = Contact("erpmail-1", "Anna", "anna@customer.test", created_by_erpmail=True)
    options = IncomingProcessing(activate=True, create_lead=True)
    assert kinds(plan(options, replace(CUSTOMER, contact=own), Assignment())) == [
        RequestKind.CREATE_LEAD
    ]
    taken_up = replace(own, lead_id="L-1")
    assert kinds(plan(options, replace(CUSTOMER, contact=taken_up), Assignment())) == []
