"""The rules of who a document goes to, without the server: each recipient's addresses in the
setting's order, and one copy per address in the most visible header that holds it."""

from __future__ import annotations

from erpmail.server.directory.models import Contact, Employee, EmployeeStatus
from erpmail.server.documents.models import MailingRecipient, RecipientSource
from erpmail.server.documents.recipients import (
    arrange,
    by_kind,
    employees_named,
    resolve,
    roles_named,
)
from erpmail.server.outgoing.models import Address, RecipientKind

TO, CC, BCC = RecipientKind.TO, RecipientKind.CC, RecipientKind.BCC
ROLE, FIXED, EMPLOYEE = (
    RecipientSource.CONTACT_ROLE,
    RecipientSource.ADDRESS,
    RecipientSource.EMPLOYEE,
)

CONTACTS = [
    Contact("C1", "Ada", "ada@acme.test", "ACME", roles=["billing"]),
    Contact("C2", "Ben", "ben@acme.test", "ACME", roles=["billing", "purchasing"]),
    Contact("C3", "No Address", "", "ACME", roles=["billing"]),
]
EMPLOYEES = {
    "EMP1": Employee("EMP1", "Eve", employee_email="eve@corp.test", user_email="e@users.test"),
    "EMP2": Employee("EMP2", "Old", "old@corp.test", status=EmployeeStatus.INACTIVE),
    "EMP3": Employee("EMP3", "Nomail"),
}


def test_a_role_gives_every_contact_with_it_that_has_an_address() -> None:
    found = list(resolve([MailingRecipient(ROLE, "billing", CC)], CONTACTS, EMPLOYEES))

    assert found == [(CC, Address("ada@acme.test", "Ada")), (CC, Address("ben@acme.test", "Ben"))]


def test_an_employee_goes_at_the_employee_address_unless_inactive_unknown_or_without_one() -> None:
    recipients = [
        MailingRecipient(EMPLOYEE, "EMP2"),
        MailingRecipient(EMPLOYEE, "EMP9"),
        MailingRecipient(EMPLOYEE, "EMP3"),
        MailingRecipient(EMPLOYEE, "EMP1", BCC),
    ]

    found = list(resolve(recipients, CONTACTS, EMPLOYEES))

    assert found == [(BCC, Address("eve@corp.test", "Eve"))]


def test_recipients_resolve_in_the_settings_order() -> None:
    recipients = [
        MailingRecipient(FIXED, "archive@acme.test", BCC, "Archive"),
        MailingRecipient(ROLE, "purchasing"),
        MailingRecipient(EMPLOYEE, "EMP1", CC),
    ]

    found = by_kind(resolve(recipients, CONTACTS, EMPLOYEES))

    assert found == {
        TO: [Address("ben@acme.test", "Ben")],
        CC: [Address("eve@corp.test", "Eve")],
        BCC: [Address("archive@acme.test", "Archive")],
    }


def test_an_address_is_kept_once_in_the_most_visible_header_with_its_first_name() -> None:
    arranged = arrange(
        to=[Address("ada@acme.test", "Ada"), Address("ADA@acme.test", "Other")],
        cc=[Address("ben@acme.test"), Address("Ada@Acme.test")],
        bcc=[Address("ben@acme.test"), Address("ada@acme.test"), Address("log@corp.test")],
    )

    assert arranged.to == [Address("ada@acme.test", "Ada")]
    assert arranged.cc == [Address("ben@acme.test")]
    assert arranged.bcc == [Address("log@corp.test")]


def test_no_address_in_any_header_is_no_recipients() -> None:
    assert not arrange([], [], [])
    assert arrange([], [], [Address("log@corp.test")])


def test_the_roles_and_employees_a_setting_names_are_listed_once_each() -> None:
    recipients = [
        MailingRecipient(ROLE, "billing"),
        MailingRecipient(EMPLOYEE, "EMP1"),
        MailingRecipient(ROLE, "billing", CC),
        MailingRecipient(FIXED, "x@acme.test"),
        MailingRecipient(EMPLOYEE, "EMP1", BCC),
    ]

    assert roles_named(recipients) == ["billing"]
    assert employees_named(recipients) == ["EMP1"]
