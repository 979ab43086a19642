"""DirectoryService refuses bad input whole, names the offending field, and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from erpmail.v1 import directory_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.directory.messages import Stub, add_employees, contact, employee, work_group
from tests.support.errors import field_violations

BAD_EMPLOYEES = [
    ("employee.employee_id", employee("")),
    ("employee.employee_id", employee("has space")),
    ("employee.employee_id", employee("x" * 65)),
    ("employee.employee_id", employee("-leading-dash")),
    ("employee.employee_email", employee(employee_email="not-an-address")),
    ("employee.employee_email", employee(employee_email="a@example.com\r\nBcc: x@y.z")),
    ("employee.user_email", employee(user_email="two@@example.com")),
    ("employee.display_name", employee(display_name="Name\r\nBcc: x@y.z")),
    ("employee.display_name", employee(display_name="x" * 257)),
    ("employee.status", employee(status=7)),
]


@pytest.mark.parametrize(("field", "message"), BAD_EMPLOYEES, ids=[f for f, _ in BAD_EMPLOYEES])
async def test_invalid_employee_is_refused_with_the_field_named(
    directory: Stub, field: str, message: pb.Employee
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=message))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert list((await directory.ListEmployees(pb.ListEmployeesRequest())).employees) == []


BAD_CONTACTS = [
    ("contact.contact_id", contact("")),
    ("contact.contact_id", contact("a/b")),
    ("contact.email", contact(email="nobody")),
    ("contact.display_name", contact(display_name="Ada\nEve")),
    ("contact.business_account_id", contact(business_account_id="A\r\nB")),
    ("contact.lead_id", contact(lead_id="L" * 129)),
]


@pytest.mark.parametrize(("field", "message"), BAD_CONTACTS, ids=[f for f, _ in BAD_CONTACTS])
async def test_invalid_contact_is_refused_with_the_field_named(
    directory: Stub, field: str, message: pb.Contact
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.CreateContact(pb.CreateContactRequest(contact=message))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    assert list((await directory.ListContacts(pb.ListContactsRequest())).contacts) == []


async def test_invalid_work_group_id_and_name_are_named(directory: Stub) -> None:
    sent = pb.WorkGroup(work_group_id="", name="Two\nlines")

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=sent))

    assert {"work_group.work_group_id", "work_group.name"} <= set(field_violations(error.value))


async def test_every_unknown_member_is_named_by_its_position(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2")
    sent = work_group(members=["EMP1", "GHOST", "EMP2", "emp1"])

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=sent))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error.value)) == {"work_group.members[1]", "work_group.members[3]"}
    assert list((await directory.ListWorkGroups(pb.ListWorkGroupsRequest())).work_groups) == []


async def test_an_update_naming_an_unknown_member_changes_nothing(directory: Stub) -> None:
    await add_employees(directory, "EMP1")
    await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP1"]))
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.UpdateWorkGroup(
            pb.UpdateWorkGroupRequest(
                work_group=pb.WorkGroup(
                    work_group_id="helpdesk", name="New", members=["EMP1", "EMP1", "GHOST"]
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["name", "members"]),
            )
        )

    assert "work_group.members[2]" in field_violations(error.value)
    kept = await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="helpdesk"))
    assert kept.work_group.name == "Help desk" and list(kept.work_group.members) == ["EMP1"]


async def _create_employee_twice(directory: Stub) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee()))
    other = employee(employee_email="", user_email="", display_name="Second")
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=other))


async def _create_work_group_twice(directory: Stub) -> None:
    await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=work_group()))
    await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=work_group()))


async def _create_contact_twice(directory: Stub) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))


DUPLICATES: list[tuple[str, Callable[[Stub], Awaitable[None]]]] = [
    ("employee.employee_id", _create_employee_twice),
    ("work_group.work_group_id", _create_work_group_twice),
    ("contact.contact_id", _create_contact_twice),
]


@pytest.mark.parametrize(("field", "create_twice"), DUPLICATES, ids=[f for f, _ in DUPLICATES])
async def test_duplicate_id_is_already_exists(
    directory: Stub, field: str, create_twice: Callable[[Stub], Awaitable[None]]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await create_twice(directory)

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert field in field_violations(error.value)


@pytest.mark.parametrize(
    ("taken", "field", "second"),
    [
        ("employee_email", "employee.employee_email", {"employee_email": "EMP1@STAFF.example.com"}),
        ("employee_email", "employee.user_email", {"user_email": "emp1@staff.example.com"}),
        ("user_email", "employee.employee_email", {"employee_email": "Emp1@Users.example.com"}),
        ("user_email", "employee.user_email", {"user_email": "emp1@users.example.com"}),
    ],
)
async def test_two_employees_cannot_share_an_address_in_any_case(
    directory: Stub, taken: str, field: str, second: dict[str, str]
) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee("EMP1")))
    sent = employee("EMP2", **second)

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS, taken
    assert field in field_violations(error.value)
    listed = await directory.ListEmployees(pb.ListEmployeesRequest())
    assert [e.employee_id for e in listed.employees] == ["EMP1"]


async def test_an_update_cannot_take_another_employees_address(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2")

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.UpdateEmployee(
            pb.UpdateEmployeeRequest(
                employee=pb.Employee(employee_id="EMP2", user_email="emp1@users.example.com"),
                update_mask=field_mask_pb2.FieldMask(paths=["user_email"]),
            )
        )

    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "employee.user_email" in field_violations(error.value)
    kept = await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP2"))
    assert kept.employee.user_email == "emp2@users.example.com"


async def test_one_employee_may_use_the_same_address_in_both_fields(directory: Stub) -> None:
    sent = employee(employee_email="same@example.com", user_email="SAME@example.com")

    created = await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))

    assert created.employee.address == "same@example.com"


def _unknown_calls(directory: Stub) -> list[Awaitable[Any]]:
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    return [
        directory.GetEmployee(pb.GetEmployeeRequest(employee_id="ghost")),
        directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="ghost")),
        directory.UpdateEmployee(
            pb.UpdateEmployeeRequest(employee=pb.Employee(employee_id="ghost"), update_mask=mask)
        ),
        directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="ghost")),
        directory.DeleteWorkGroup(pb.DeleteWorkGroupRequest(work_group_id="ghost")),
        directory.UpdateWorkGroup(
            pb.UpdateWorkGroupRequest(
                work_group=pb.WorkGroup(work_group_id="ghost"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            )
        ),
        directory.GetContact(pb.GetContactRequest(contact_id="ghost")),
        directory.DeleteContact(pb.DeleteContactRequest(contact_id="ghost")),
        directory.UpdateContact(
            pb.UpdateContactRequest(contact=pb.Contact(contact_id="ghost"), update_mask=mask)
        ),
    ]


async def test_unknown_ids_are_not_found(directory: Stub) -> None:
    for call in _unknown_calls(directory):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_missing_ids_are_named(directory: Stub) -> None:
    mask = field_mask_pb2.FieldMask(paths=["name"])
    calls: list[tuple[str, Awaitable[Any]]] = [
        ("employee_id", directory.GetEmployee(pb.GetEmployeeRequest())),
        ("employee_id", directory.DeleteEmployee(pb.DeleteEmployeeRequest())),
        ("work_group_id", directory.GetWorkGroup(pb.GetWorkGroupRequest())),
        ("contact_id", directory.DeleteContact(pb.DeleteContactRequest())),
        (
            "work_group.work_group_id",
            directory.UpdateWorkGroup(pb.UpdateWorkGroupRequest(update_mask=mask)),
        ),
    ]
    for field, call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(error.value)


BAD_MASKS = [
    ("employee", []),
    ("employee", ["no_such_field"]),
    ("employee", ["employee_id"]),
    ("employee", ["address"]),
    ("employee", ["create_time"]),
    ("work_group", ["work_group_id"]),
    ("work_group", ["update_time"]),
    ("contact", ["contact_id"]),
    ("contact", ["created_by_erpmail"]),
]


@pytest.mark.parametrize(("kind", "paths"), BAD_MASKS, ids=[f"{k}:{p}" for k, p in BAD_MASKS])
async def test_bad_update_mask_is_refused(directory: Stub, kind: str, paths: list[str]) -> None:
    await add_employees(directory, "EMP1")
    await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=work_group()))
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))
    mask = field_mask_pb2.FieldMask(paths=paths)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "employee": lambda: directory.UpdateEmployee(
            pb.UpdateEmployeeRequest(employee=pb.Employee(employee_id="EMP1"), update_mask=mask)
        ),
        "work_group": lambda: directory.UpdateWorkGroup(
            pb.UpdateWorkGroupRequest(
                work_group=pb.WorkGroup(work_group_id="helpdesk"), update_mask=mask
            )
        ),
        "contact": lambda: directory.UpdateContact(
            pb.UpdateContactRequest(contact=pb.Contact(contact_id="C1"), update_mask=mask)
        ),
    }

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await calls[kind]()

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in field_violations(error.value)


async def test_update_that_breaks_a_rule_changes_nothing(directory: Stub) -> None:
    await directory.CreateContact(pb.CreateContactRequest(contact=contact()))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.UpdateContact(
            pb.UpdateContactRequest(
                contact=pb.Contact(contact_id="C1", display_name="New", email="broken"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name", "email"]),
            )
        )

    assert "contact.email" in field_violations(error.value)
    kept = await directory.GetContact(pb.GetContactRequest(contact_id="C1"))
    assert kept.contact.display_name == "Ada Customer"


@pytest.mark.parametrize("method", ["ListEmployees", "ListWorkGroups", "ListContacts"])
async def test_forged_page_token_and_negative_page_size_are_refused(
    directory: Stub, method: str
) -> None:
    request_type = getattr(pb, f"{method}Request")
    for field, request in [
        ("page_token", request_type(page_token="%%%not-ours")),
        ("page_size", request_type(page_size=-1)),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await getattr(directory, method)(request)
        assert field in field_violations(error.value)
