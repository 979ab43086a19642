"""Work groups are created, read, listed, changed and deleted; their members are employees, and
an employee who is deleted leaves every work group."""

from __future__ import annotations

import grpc
import pytest
from erpmail.v1 import directory_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.directory.messages import Stub, add_employees, work_group


async def test_created_work_group_lists_each_member_once_in_id_order(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2", "EMP3")
    sent = work_group(members=["EMP3", "EMP1", "EMP3", "EMP2"])

    created = (
        await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=sent))
    ).work_group
    fetched = (
        await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="helpdesk"))
    ).work_group

    assert fetched == created
    assert fetched.name == "Help desk"
    assert list(fetched.members) == ["EMP1", "EMP2", "EMP3"]
    assert fetched.create_time.seconds > 0 and fetched.update_time == fetched.create_time


async def test_a_work_group_may_have_no_members(directory: Stub) -> None:
    created = await directory.CreateWorkGroup(pb.CreateWorkGroupRequest(work_group=work_group()))

    assert list(created.work_group.members) == []


async def test_list_pages_through_every_work_group_with_its_members(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2")
    for group_id in ["sales", "billing", "support"]:
        await directory.CreateWorkGroup(
            pb.CreateWorkGroupRequest(work_group=work_group(group_id, members=["EMP2", "EMP1"]))
        )

    first = await directory.ListWorkGroups(pb.ListWorkGroupsRequest(page_size=2))
    second = await directory.ListWorkGroups(
        pb.ListWorkGroupsRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [g.work_group_id for g in first.work_groups] == ["billing", "sales"]
    assert [g.work_group_id for g in second.work_groups] == ["support"]
    assert second.next_page_token == ""
    assert all(
        list(g.members) == ["EMP1", "EMP2"] for g in [*first.work_groups, *second.work_groups]
    )


async def test_updating_the_name_keeps_the_members(directory: Stub) -> None:
    await add_employees(directory, "EMP1")
    await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP1"]))
    )

    updated = (
        await directory.UpdateWorkGroup(
            pb.UpdateWorkGroupRequest(
                work_group=pb.WorkGroup(work_group_id="helpdesk", name="Service desk"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            )
        )
    ).work_group

    assert updated.name == "Service desk"
    assert list(updated.members) == ["EMP1"]


async def test_updating_the_members_replaces_the_whole_list(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2", "EMP3")
    await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP1", "EMP2"]))
    )

    updated = (
        await directory.UpdateWorkGroup(
            pb.UpdateWorkGroupRequest(
                work_group=pb.WorkGroup(work_group_id="helpdesk", members=["EMP3"]),
                update_mask=field_mask_pb2.FieldMask(paths=["members"]),
            )
        )
    ).work_group

    assert list(updated.members) == ["EMP3"]
    assert updated.name == "Help desk"


async def test_deleting_an_employee_removes_it_from_its_work_groups(directory: Stub) -> None:
    await add_employees(directory, "EMP1", "EMP2")
    for group_id in ["sales", "support"]:
        await directory.CreateWorkGroup(
            pb.CreateWorkGroupRequest(work_group=work_group(group_id, members=["EMP1", "EMP2"]))
        )

    await directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP1"))

    listed = await directory.ListWorkGroups(pb.ListWorkGroupsRequest())
    assert {g.work_group_id: list(g.members) for g in listed.work_groups} == {
        "sales": ["EMP2"],
        "support": ["EMP2"],
    }
    # The employee id is free again, and a new employee with it is in no group.
    await add_employees(directory, "EMP1")
    again = await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="sales"))
    assert list(again.work_group.members) == ["EMP2"]


async def test_deleted_work_group_is_gone_and_its_members_stay(directory: Stub) -> None:
    await add_employees(directory, "EMP1")
    await directory.CreateWorkGroup(
        pb.CreateWorkGroupRequest(work_group=work_group(members=["EMP1"]))
    )

    await directory.DeleteWorkGroup(pb.DeleteWorkGroupRequest(work_group_id="helpdesk"))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="helpdesk"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    kept = await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP1"))
    assert kept.employee.employee_id == "EMP1"
