"""Valid directory messages to start each test from, and shortcuts to store them."""

from __future__ import annotations

from typing import TypeAlias

from erpmail.v1 import directory_pb2 as pb
from erpmail.v1 import directory_pb2_grpc

Stub: TypeAlias = "directory_pb2_grpc.DirectoryServiceAsyncStub"


def employee(employee_id: str = "EMP1", **overrides: object) -> pb.Employee:
    message = pb.Employee(
        employee_id=employee_id,
        display_name=f"Employee {employee_id}",
        employee_email=f"{employee_id.lower()}@staff.example.com",
        user_email=f"{employee_id.lower()}@users.example.com",
        status=pb.EMPLOYEE_STATUS_ACTIVE,
    )
    for name, value in overrides.items():
        setattr(message, name, value)
    return message


def work_group(work_group_id: str = "helpdesk", members: list[str] | None = None) -> pb.WorkGroup:
    return pb.WorkGroup(work_group_id=work_group_id, name="Help desk", members=members or [])


def contact(contact_id: str = "C1", **overrides: object) -> pb.Contact:
    message = pb.Contact(
        contact_id=contact_id,
        display_name="Ada Customer",
        email=f"{contact_id.lower()}@customer.example.org",
        business_account_id="ACME",
    )
    for name, value in overrides.items():
        setattr(message, name, value)
    return message


async def add_employees(directory: Stub, *ids: str) -> None:
    for employee_id in ids:
        await directory.CreateEmployee(pb.CreateEmployeeRequest(employee=employee(employee_id)))
