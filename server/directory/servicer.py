"""DirectoryService: translates requests to the directory domain and back; no rules live here."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import required
from erpmail.server.core.protos import apply_mask, check_mask
from erpmail.server.directory import convert
from erpmail.server.directory import models as m
from erpmail.server.directory.store import DirectoryStore
from erpmail.v1 import directory_pb2 as pb
from erpmail.v1 import directory_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
EMPLOYEE_IMMUTABLE = {"employee_id", "address", "create_time", "update_time"}
WORK_GROUP_IMMUTABLE = {"work_group_id", "create_time", "update_time"}
CONTACT_IMMUTABLE = {"contact_id", "created_by_erpmail", "create_time", "update_time"}


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, store: DirectoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # Employees

    async def CreateEmployee(
        self, request: pb.CreateEmployeeRequest, context_: Context
    ) -> pb.CreateEmployeeResponse:
        access.require_back_end(context.current(), "employee")
        employee = _valid_employee(request.employee, "employee")
        stored = await self._store.create_employee(employee, self._clock.now())
        return pb.CreateEmployeeResponse(employee=convert.employee_to_proto(stored))

    async def GetEmployee(
        self, request: pb.GetEmployeeRequest, context_: Context
    ) -> pb.GetEmployeeResponse:
        stored = await self._store.get_employee(required(request.employee_id, "employee_id"))
        return pb.GetEmployeeResponse(employee=convert.employee_to_proto(stored))

    async def ListEmployees(
        self, request: pb.ListEmployeesRequest, context_: Context
    ) -> pb.ListEmployeesResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.employees_page(paging.after_key(request.page_token), size + 1)
        return pb.ListEmployeesResponse(
            employees=[convert.employee_to_proto(s) for s in found[:size]],
            next_page_token=paging.next_page_token([s.item.employee_id for s in found], size),
        )

    async def UpdateEmployee(
        self, request: pb.UpdateEmployeeRequest, context_: Context
    ) -> pb.UpdateEmployeeResponse:
        access.require_back_end(context.current(), "employee")
        employee_id = required(request.employee.employee_id, "employee.employee_id")
        paths = check_mask(request.update_mask, pb.Employee(), "update_mask", EMPLOYEE_IMMUTABLE)

        def edit(current: m.Employee) -> m.Employee:
            merged = convert.employee_item_to_proto(current)
            apply_mask(paths, request.employee, merged)
            merged.employee_id = employee_id
            return _valid_employee(merged, "employee")

        stored = await self._store.update_employee(employee_id, edit, self._clock.now())
        return pb.UpdateEmployeeResponse(employee=convert.employee_to_proto(stored))

    async def DeleteEmployee(
        self, request: pb.DeleteEmployeeRequest, context_: Context
    ) -> pb.DeleteEmployeeResponse:
        access.require_back_end(context.current(), "employee")
        employee_id = required(request.employee_id, "employee_id")
        await self._store.delete_employee(employee_id, self._clock.now())
        return pb.DeleteEmployeeResponse()

    # Work groups

    async def CreateWorkGroup(
        self, request: pb.CreateWorkGroupRequest, context_: Context
    ) -> pb.CreateWorkGroupResponse:
        access.require_back_end(context.current(), "work group")
        group = _valid_work_group(request.work_group, "work_group")
        stored = await self._store.create_work_group(group, self._clock.now())
        return pb.CreateWorkGroupResponse(work_group=convert.work_group_to_proto(stored))

    async def GetWorkGroup(
        self, request: pb.GetWorkGroupRequest, context_: Context
    ) -> pb.GetWorkGroupResponse:
        work_group_id = required(request.work_group_id, "work_group_id")
        stored = await self._store.get_work_group(work_group_id)
        return pb.GetWorkGroupResponse(work_group=convert.work_group_to_proto(stored))

    async def ListWorkGroups(
        self, request: pb.ListWorkGroupsRequest, context_: Context
    ) -> pb.ListWorkGroupsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.work_groups_page(paging.after_key(request.page_token), size + 1)
        return pb.ListWorkGroupsResponse(
            work_groups=[convert.work_group_to_proto(s) for s in found[:size]],
            next_page_token=paging.next_page_token([s.item.work_group_id for s in found], size),
        )

    async def UpdateWorkGroup(
        self, request: pb.UpdateWorkGroupRequest, context_: Context
    ) -> pb.UpdateWorkGroupResponse:
        access.require_back_end(context.current(), "work group")
        work_group_id = required(request.work_group.work_group_id, "work_group.work_group_id")
        paths = check_mask(request.update_mask, pb.WorkGroup(), "update_mask", WORK_GROUP_IMMUTABLE)

        def edit(current: m.WorkGroup) -> m.WorkGroup:
            merged = convert.work_group_item_to_proto(current)
            apply_mask(paths, request.work_group, merged)
            merged.work_group_id = work_group_id
            return _valid_work_group(merged, "work_group")

        stored = await self._store.update_work_group(work_group_id, edit, self._clock.now())
        return pb.UpdateWorkGroupResponse(work_group=convert.work_group_to_proto(stored))

    async def DeleteWorkGroup(
        self, request: pb.DeleteWorkGroupRequest, context_: Context
    ) -> pb.DeleteWorkGroupResponse:
        access.require_back_end(context.current(), "work group")
        await self._store.delete_work_group(required(request.work_group_id, "work_group_id"))
        return pb.DeleteWorkGroupResponse()

    # Contacts

    async def CreateContact(
        self, request: pb.CreateContactRequest, context_: Context
    ) -> pb.CreateContactResponse:
        access.require_back_end(context.current(), "contact")
        contact = _valid_contact(request.contact, "contact")
        stored = await self._store.create_contact(contact, self._clock.now())
        return pb.CreateContactResponse(contact=convert.contact_to_proto(stored))

    async def GetContact(
        self, request: pb.GetContactRequest, context_: Context
    ) -> pb.GetContactResponse:
        stored = await self._store.get_contact(required(request.contact_id, "contact_id"))
        return pb.GetContactResponse(contact=convert.contact_to_proto(stored))

    async def ListContacts(
        self, request: pb.ListContactsRequest, context_: Context
    ) -> pb.ListContactsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.contacts_page(
            paging.after_key(request.page_token), size + 1, request.only_created_by_erpmail
        )
        return pb.ListContactsResponse(
            contacts=[convert.contact_to_proto(s) for s in found[:size]],
            next_page_token=paging.next_page_token([s.item.contact_id for s in found], size),
        )

    async def UpdateContact(
        self, request: pb.UpdateContactRequest, context_: Context
    ) -> pb.UpdateContactResponse:
        access.require_back_end(context.current(), "contact")
        contact_id = required(request.contact.contact_id, "contact.contact_id")
        paths = check_mask(request.update_mask, pb.Contact(), "update_mask", CONTACT_IMMUTABLE)

        def edit(current: m.Contact) -> m.Contact:
            merged = convert.contact_item_to_proto(current)
            apply_mask(paths, request.contact, merged)
            merged.contact_id = contact_id
            return _valid_contact(merged, "contact")

        stored = await self._store.update_contact(contact_id, edit, self._clock.now())
        return pb.UpdateContactResponse(contact=convert.contact_to_proto(stored))

    async def DeleteContact(
        self, request: pb.DeleteContactRequest, context_: Context
    ) -> pb.DeleteContactResponse:
        access.require_back_end(context.current(), "contact")
        await self._store.delete_contact(required(request.contact_id, "contact_id"))
        return pb.DeleteContactResponse()

    # All kinds at once

    async def BatchUpsertDirectory(
        self, request: pb.BatchUpsertDirectoryRequest, context_: Context
    ) -> pb.BatchUpsertDirectoryResponse:
        access.require_back_end(context.current(), "directory entry")
        batch = m.DirectoryBatch(
            employees=[
                convert.employee_to_domain(e, f"employees[{i}]")
                for i, e in enumerate(request.employees)
            ],
            work_groups=[convert.work_group_to_domain(g) for g in request.work_groups],
            contacts=[convert.contact_to_domain(c) for c in request.contacts],
        )
        m.normalize_batch(batch)
        m.validate_batch(batch)
        stored = await self._store.upsert(batch, self._clock.now())
        return pb.BatchUpsertDirectoryResponse(
            employees=[convert.employee_to_proto(s) for s in stored.employees],
            work_groups=[convert.work_group_to_proto(s) for s in stored.work_groups],
            contacts=[convert.contact_to_proto(s) for s in stored.contacts],
        )


def _valid_employee(message: pb.Employee, field: str) -> m.Employee:
    employee = convert.employee_to_domain(message, field)
    m.normalize_employee(employee)
    m.validate_employee(employee, field)
    return employee


def _valid_work_group(message: pb.WorkGroup, field: str) -> m.WorkGroup:
    group = convert.work_group_to_domain(message)
    m.normalize_work_group(group)
    m.validate_work_group(group, field)
    return group


def _valid_contact(message: pb.Contact, field: str) -> m.Contact:
    contact = convert.contact_to_domain(message)
    m.normalize_contact(contact)
    m.validate_contact(contact, field)
    return contact
