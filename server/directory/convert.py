"""Translation between the DirectoryService protos and the directory domain model."""

from __future__ import annotations

from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.server.directory import models as m
from erpmail.server.directory.store import Stored
from erpmail.v1 import directory_pb2 as pb

# An employee the ERP sends without a status is one it works with.
STATUS = EnumMap(
    {
        pb.EMPLOYEE_STATUS_ACTIVE: m.EmployeeStatus.ACTIVE,
        pb.EMPLOYEE_STATUS_INACTIVE: m.EmployeeStatus.INACTIVE,
    },
    default=m.EmployeeStatus.ACTIVE,
)


def employee_to_domain(message: pb.Employee, field: str = "employee") -> m.Employee:
    return m.Employee(
        employee_id=message.employee_id,
        display_name=message.display_name,
        employee_email=message.employee_email,
        user_email=message.user_email,
        status=STATUS.to_domain(message.status, f"{field}.status"),
    )


def employee_item_to_proto(e: m.Employee) -> pb.Employee:
    return pb.Employee(
        employee_id=e.employee_id,
        display_name=e.display_name,
        employee_email=e.employee_email,
        user_email=e.user_email,
        status=STATUS.to_proto(e.status),
        address=e.address,
    )


def employee_to_proto(stored: Stored[m.Employee]) -> pb.Employee:
    message = employee_item_to_proto(stored.item)
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message


def work_group_to_domain(message: pb.WorkGroup) -> m.WorkGroup:
    return m.WorkGroup(
        work_group_id=message.work_group_id, name=message.name, members=list(message.members)
    )


def work_group_item_to_proto(g: m.WorkGroup) -> pb.WorkGroup:
    return pb.WorkGroup(work_group_id=g.work_group_id, name=g.name, members=g.members)


def work_group_to_proto(stored: Stored[m.WorkGroup]) -> pb.WorkGroup:
    message = work_group_item_to_proto(stored.item)
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message


def contact_to_domain(message: pb.Contact) -> m.Contact:
    # created_by_erpmail is output only: the ERP cannot claim erpmail made a contact.
    return m.Contact(
        contact_id=message.contact_id,
        display_name=message.display_name,
        email=message.email,
        business_account_id=message.business_account_id,
        lead_id=message.lead_id,
        roles=list(message.roles),
    )


def contact_item_to_proto(c: m.Contact) -> pb.Contact:
    return pb.Contact(
        contact_id=c.contact_id,
        display_name=c.display_name,
        email=c.email,
        business_account_id=c.business_account_id,
        lead_id=c.lead_id,
        created_by_erpmail=c.created_by_erpmail,
        roles=c.roles,
    )


def contact_to_proto(stored: Stored[m.Contact]) -> pb.Contact:
    message = contact_item_to_proto(stored.item)
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message
