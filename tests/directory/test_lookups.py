"""The lookups incoming mail processing makes in-process: who a sender is, who is in a work
group, and the contact erpmail creates for an unknown sender."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.core.errors import InvalidArgument, NotFound
from erpmail.server.directory.store import DirectoryStore
from erpmail.v1 import directory_pb2 as pb

from tests.directory.messages import Stub, add_employees, contact, employee, work_group


@pytest.fixture
def store(erpmail_server: ErpmailServer) -> DirectoryStore:
    return erpmail_server.directory


@pytest.mark.parametrize(
    "sender",
    [
        "emp1@staff.example.com",
        "EMP1@Staff.Example.COM",
        "emp1@users.example.com",
        " Emp1@USERS.example.com ",
    ],
)
async def test_an_employee_is_found_by_either_address_in_any_case(
    directory: Stub, store: DirectoryStore, sender: str
) -> None:
    await add_employees(directory, "EMP1", "EMP2")

    found = await store.employee_by_address(sender)

    assert found is not None and found.employee_id == "EMP1"
    assert found.address == "emp1@staff.example.com"  # the employee address wins


async def test_the_user_address_is_used_when_the_employee_has_no_other(
    directory: Stub, store: DirectoryStore
) -> None:
    sent = employee("EMP1", employee_email="")
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))

    found = await store.employee_by_address("emp1@users.example.com")

    assert found is not None and found.address == "emp1@users.example.com"


async def test_an_unknown_or_given_up_address_is_no_employee(
    directory: Stub, store: DirectoryStore
) -> None:
    await add_employees(directory, "EMP1", "EMP2")
    await directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP2"))

    assert await store.employee_by_address("stranger@example.com") is None
    assert await store.employee_by_address("emp2@staff.example.com") is None


async def test_an_inactive_employee_is_still_recognised(
    directory: Stub, store: DirectoryStore
) -> None:
    sent = employee("EMP1", status=pb.EMPLOYEE_STATUS_INACTIVE)
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))

    found = await store.employee_by_address("emp1@staff.example.com")

    assert found is not None and not found.active


async def test_a_contact_is_found_by_address_in_any_case(
    directory: Stub, store: DirectoryStore
) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact("C1")))

    found = await store.contact_by_address("C1@Customer.Example.org")

    assert found is not None and found.contact_id == "C1"
    assert found.business_account_id == "ACME"
    assert await store.contact_by_address("c2@customer.example.org") is None


async def test_of_contacts_sharing_an_address_one_the_erp_keeps_wins(
    directory: Stub, store: DirectoryStore
) -> None:
    made = await store.create_contact_for_sender("info@acme.example", "Info", _now())
    for contact_id in ["z9", "z5"]:
        await directory.CreateContact(
            pb.CreateContactRequest(contact=contact(contact_id, email="info@acme.example"))
        )

    found = await store.contact_by_address("info@acme.example")

    assert made.contact_id < "z5"  # erpmail's own would win on the id alone
    assert found is not None and found.contact_id == "z5"


async def test_work_group_members_are_the_employees_with_their_addresses(
    directory: Stub, store: DirectoryStore
) -> None:
    await add_employees(directory, "EMP1", "EMP2", "EMP3")
    await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP3", "EMP1"]))
    )

    members = await store.work_group_members("helpdesk")

    assert [(e.employee_id, e.address) for e in members] == [
        ("EMP1", "emp1@staff.example.com"),
        ("EMP3", "emp3@staff.example.com"),
    ]
    with pytest.raises(NotFound):
        await store.work_group_members("ghost")


async def test_a_contact_is_created_for_an_unknown_sender(
    directory: Stub, store: DirectoryStore
) -> None:
    made = await store.create_contact_for_sender(" New@Sender.example ", "New\r\n  Sender", _now())

    fetched = await directory.GetContact(pb.GetContactRequest(contact_id=made.contact_id))
    assert made.contact_id.startswith("erpmail-")
    assert fetched.contact.created_by_erpmail
    assert fetched.contact.email == "New@Sender.example"
    assert fetched.contact.display_name == "New Sender"  # a header cannot inject lines
    assert fetched.contact.business_account_id == "" and fetched.contact.lead_id == ""


async def test_a_sender_with_a_contact_gets_no_second_one(
    directory: Stub, store: DirectoryStore
) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact("C1")))

    again = await store.create_contact_for_sender("c1@CUSTOMER.example.org", "Ada", _now())
    first = await store.create_contact_for_sender("new@sender.example", "New", _now())
    second = await store.create_contact_for_sender("NEW@sender.example", "Other", _now())

    assert again.contact_id == "C1" and not again.created_by_erpmail
    assert second == first
    listed = await directory.ListContacts(pb.ListContactsRequest())
    assert len(listed.contacts) == 2


async def test_concurrent_mail_from_one_new_sender_makes_one_contact(
    directory: Stub, store: DirectoryStore
) -> None:
    made = await asyncio.gather(
        *(store.create_contact_for_sender("new@sender.example", "New", _now()) for _ in range(10))
    )

    assert len({c.contact_id for c in made}) == 1
    listed = await directory.ListContacts(pb.ListContactsRequest())
    assert len(listed.contacts) == 1


async def test_a_sender_that_is_no_address_gets_no_contact(
    directory: Stub, store: DirectoryStore
) -> None:
    with pytest.raises(InvalidArgument):
        await store.create_contact_for_sender("undisclosed-recipients:;", "X", _now())

    assert list((await directory.ListContacts(pb.ListContactsRequest())).contacts) == []


def _now() -> datetime:
    return datetime.now(UTC)
