"""BatchUpsertDirectory creates or replaces employees, work groups and contacts in one
transaction: a batch with any bad item writes nothing."""

from __future__ import annotations

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.v1 import directory_pb2 as pb

from tests.directory.messages import Stub, add_employees, contact, employee, work_group
from tests.support.errors import field_violations


async def _nothing_written(directory: Stub) -> bool:
    employees = await directory.ListEmployees(pb.ListEmployeesRequest())
    groups = await directory.ListWorkGroups(pb.ListWorkGroupsRequest())
    contacts = await directory.ListContacts(pb.ListContactsRequest())
    return not (employees.employees or groups.work_groups or contacts.contacts)


async def test_one_call_creates_every_kind_and_groups_may_name_new_employees(
    directory: Stub,
) -> None:
    response = await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(
            employees=[employee("EMP2"), employee("EMP1", employee_email="")],
            work_groups=[work_group("support", members=["EMP2", "EMP1"])],
            contacts=[contact("C2"), contact("C1")],
        )
    )

    assert [e.employee_id for e in response.employees] == ["EMP2", "EMP1"]  # request order
    assert response.employees[1].address == "emp1@users.example.com"
    assert list(response.work_groups[0].members) == ["EMP1", "EMP2"]
    assert [c.contact_id for c in response.contacts] == ["C2", "C1"]
    fetched = await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="support"))
    assert fetched.work_group == response.work_groups[0]


async def test_existing_items_are_replaced_whole_and_keep_their_create_time(
    directory: Stub,
) -> None:
    await add_employees(directory, "EMP1", "EMP2")
    group = await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP1", "EMP2"]))
    )
    await directory.CreateContact(pb.CreateContactRequest(contact=contact(lead_id="L1")))

    response = await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(
            employees=[pb.Employee(employee_id="EMP1", user_email="only@users.example.com")],
            work_groups=[pb.WorkGroup(work_group_id="helpdesk", name="Desk", members=["EMP2"])],
            contacts=[pb.Contact(contact_id="C1", email="new@customer.example.org")],
        )
    )

    replaced = response.employees[0]
    assert replaced.display_name == "" and replaced.employee_email == ""
    assert replaced.address == "only@users.example.com"
    assert response.work_groups[0].name == "Desk"
    assert list(response.work_groups[0].members) == ["EMP2"]
    assert response.work_groups[0].create_time == group.work_group.create_time
    assert response.contacts[0].lead_id == "" and response.contacts[0].business_account_id == ""
    untouched = await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP2"))
    assert untouched.employee.display_name == "Employee EMP2"


async def test_employees_of_one_batch_may_swap_addresses(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2")

    response = await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(
            employees=[
                employee("EMP1", employee_email="emp2@staff.example.com"),
                employee("EMP2", employee_email="emp1@staff.example.com"),
            ]
        )
    )

    assert [e.address for e in response.employees] == [
        "emp2@staff.example.com",
        "emp1@staff.example.com",
    ]


async def test_a_contact_erpmail_created_stays_marked_when_the_erp_replaces_it(
    directory: Stub, erpmail_server: ErpmailServer
) -> None:
    made = await erpmail_server.directory.create_contact_for_sender(
        "new@unknown.example", "New", erpmail_server.clock.now()
    )

    response = await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(
            contacts=[contact(made.contact_id, email="new@unknown.example")]
        )
    )

    assert response.contacts[0].created_by_erpmail
    assert response.contacts[0].business_account_id == "ACME"


async def test_an_unknown_member_in_the_last_group_writes_nothing(directory: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(
                employees=[employee("EMP1"), employee("EMP2")],
                work_groups=[
                    work_group("sales", members=["EMP1"]),
                    work_group("support", members=["EMP2", "EMP1", "GHOST"]),
                ],
                contacts=[contact()],
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error.value)) == {"work_groups[1].members[2]"}
    assert await _nothing_written(directory)


async def test_an_address_held_by_another_employee_writes_nothing(directory: Stub) -> None:
    await add_employees(directory, "EMP1")

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(
                employees=[
                    employee("EMP2"),
                    employee("EMP3", user_email="EMP1@Staff.example.com"),
                ],
                contacts=[contact()],
            )
        )

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "employees[1].user_email" in field_violations(error.value)
    listed = await directory.ListEmployees(pb.ListEmployeesRequest())
    assert [e.employee_id for e in listed.employees] == ["EMP1"]
    assert list((await directory.ListContacts(pb.ListContactsRequest())).contacts) == []


async def test_two_employees_of_one_batch_cannot_share_an_address(directory: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(
                employees=[
                    employee("EMP1"),
                    employee("EMP2", employee_email="emp1@users.example.com"),
                ]
            )
        )

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "employees[1].employee_email" in field_violations(error.value)
    assert await _nothing_written(directory)


async def test_an_id_given_twice_is_refused(directory: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(
                employees=[employee("EMP1"), employee("EMP2"), employee("EMP1", user_email="")],
                contacts=[contact("C1"), contact("C1")],
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"employees[2].employee_id", "contacts[1].contact_id"} <= set(
        field_violations(error.value)
    )
    assert await _nothing_written(directory)


async def test_an_unknown_status_is_named_by_its_position(directory: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(employees=[employee("EMP1"), employee("EMP2", status=9)])
        )

    assert "employees[1].status" in field_violations(error.value)
    assert await _nothing_written(directory)


async def test_every_bad_item_of_every_kind_is_reported_at_once(directory: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.BatchUpsertDirectory(
            pb.BatchUpsertDirectoryRequest(
                employees=[employee("EMP1"), employee("EMP2", employee_email="nope")],
                work_groups=[work_group("bad id")],
                contacts=[contact("C1"), contact("C2", email="also@@nope")],
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error.value)) == {
        "employees[1].employee_email",
        "work_groups[0].work_group_id",
        "contacts[1].email",
    }
    assert await _nothing_written(directory)
