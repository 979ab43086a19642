"""Employees are created, read, listed, changed by field mask and deleted; mail for one goes to
the employee address, or to the user address when the employee has none."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import directory_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.directory.messages import Stub, employee


async def test_created_employee_is_returned_with_every_field(directory: Stub) -> None:
    sent = employee(
        "EMP7", display_name="  Grace Hopper ", employee_email=" Grace@Staff.example.com"
    )

    created = (await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))).employee
    fetched = (await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP7"))).employee

    assert fetched == created
    assert fetched.display_name == "Grace Hopper"
    assert fetched.employee_email == "Grace@Staff.example.com"  # kept as written, trimmed
    assert fetched.user_email == "emp7@users.example.com"
    assert fetched.status == pb.EMPLOYEE_STATUS_ACTIVE
    assert fetched.create_time.seconds > 0 and fetched.update_time == fetched.create_time


async def test_the_employee_address_wins_over_the_user_address(directory: Stub) -> None:
    both = employee("EMP1")
    user_only = employee("EMP2", employee_email="")

    first = await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=both))
    second = await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=user_only))

    assert first.employee.address == "emp1@staff.example.com"
    assert second.employee.address == "emp2@users.example.com"


async def test_an_employee_may_have_no_address_yet(directory: Stub) -> None:
    sent = employee("EMP1", employee_email="", user_email="")

    created = (await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))).employee

    assert created.address == ""


async def test_status_left_unspecified_means_active(directory: Stub) -> None:
    sent = employee(status=pb.EMPLOYEE_STATUS_UNSPECIFIED)

    created = (await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=sent))).employee

    assert created.status == pb.EMPLOYEE_STATUS_ACTIVE


async def test_list_pages_through_every_employee_in_id_order(directory: Stub) -> None:
    for employee_id in ["E3", "E1", "E5", "E2", "E4"]:
        await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee(employee_id)))

    seen, token, pages = [], "", 0
    while True:
        page = await directory.ListEmployees(pb.ListEmployeesRequest(page_size=2, page_token=token))
        seen += [e.employee_id for e in page.employees]
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert seen == ["E1", "E2", "E3", "E4", "E5"]
    assert pages == 3


async def test_update_changes_only_the_masked_fields(directory: Stub) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee()))
    change = pb.Employee(
        employee_id="EMP1",
        employee_email="",
        display_name="Ignored",
        status=pb.EMPLOYEE_STATUS_INACTIVE,
    )

    updated = (
        await directory.UpdateEmployee(
            pb.UpdateEmployeeRequest(
                employee=change,
                update_mask=field_mask_pb2.FieldMask(paths=["employee_email", "status"]),
            )
        )
    ).employee

    assert updated.employee_email == ""
    assert updated.address == "emp1@users.example.com"  # the user address takes over
    assert updated.status == pb.EMPLOYEE_STATUS_INACTIVE
    assert updated.display_name == "Employee EMP1"  # not in the mask
    assert updated.update_time.ToDatetime() >= updated.create_time.ToDatetime()


async def test_update_with_star_replaces_the_whole_employee(directory: Stub) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee()))
    replacement = pb.Employee(employee_id="EMP1", user_email="new@users.example.com")

    updated = (
        await directory.UpdateEmployee(
            pb.UpdateEmployeeRequest(
                employee=replacement, update_mask=field_mask_pb2.FieldMask(paths=["*"])
            )
        )
    ).employee

    assert updated.display_name == "" and updated.employee_email == ""
    assert updated.address == "new@users.example.com"


async def test_an_address_given_up_by_one_employee_can_be_taken_by_another(
    directory: Stub,
) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee("EMP1")))
    await directory.UpdateEmployee(
        pb.UpdateEmployeeRequest(
            employee=pb.Employee(employee_id="EMP1", employee_email="other@staff.example.com"),
            update_mask=field_mask_pb2.FieldMask(paths=["employee_email"]),
        )
    )

    taken = await directory.CreateEmployee(
        pb.CreateEmployeeRequest(employee=employee("EMP2", employee_email="emp1@staff.example.com"))
    )

    assert taken.employee.address == "emp1@staff.example.com"


async def test_deleted_employee_is_gone_and_frees_its_addresses(directory: Stub) -> None:
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee("EMP1")))

    await directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP1"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP1"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await directory.ListEmployees(pb.ListEmployeesRequest())
    assert list(listed.employees) == []
    successor = employee("EMP2", employee_email="emp1@staff.example.com")
    await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=successor))
