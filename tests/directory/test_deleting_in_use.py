"""An employee or work group that an account, an assignment rule or a mailing setting names is not
deleted, nor is an owner an account or rule names with a work group dropped from its members:
the refusal names every place in the way, and nothing changes until none is."""

from __future__ import annotations

from collections.abc import Awaitable

import grpc
import pytest
from erpmail.server.directory.models import NamedOwner, WorkGroup, lost_members, owners_dropped
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    assignment_pb2_grpc,
    documents_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import assignment_pb2 as mpb
from erpmail.v1 import directory_pb2 as pb
from erpmail.v1 import documents_pb2 as dpb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from tests.assignment.messages import assignment_map, rule
from tests.directory.messages import Stub, add_employees, contact, employee, work_group
from tests.support.accounts import account
from tests.support.errors import details, precondition_subjects

Channel = grpc.aio.Channel


async def _refused(call: Awaitable[object]) -> tuple[dict[str, str], str]:
    """The subjects and types of a FAILED_PRECONDITION refusal, and its message."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    subjects = precondition_subjects(error.value)
    reasons = [info.reason for info in details(error.value, error_details_pb2.ErrorInfo)]
    assert reasons == sorted(set(subjects.values()))
    return subjects, error.value.details() or ""


async def _directory(directory: Stub) -> None:
    """EMP1 in work group billing, EMP2 in sales, EMP3 in none."""
    await add_employees(directory, "EMP1", "EMP2", "EMP3")
    for group_id, members in (("billing", ["EMP1"]), ("sales", ["EMP2"])):
        await directory.CreateWorkGroup(
            pb.CreateWorkGroupRequest(work_group=work_group(group_id, members))
        )


async def _accounts(channel: Channel) -> None:
    """ "support" assigns to EMP1 in billing and lets EMP1 and EMP3 use it; "own" is EMP1's."""
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    support = account("support")
    support.allowed_employee_ids.extend(["EMP1", "EMP3"])
    support.assignment.CopyFrom(
        apb.AssignmentSettings(default_work_group_id="billing", default_owner_id="EMP1")
    )
    await accounts.CreateAccount(apb.CreateAccountRequest(account=support))
    own = account("own", personal_owner_id="EMP1")
    await accounts.CreateAccount(apb.CreateAccountRequest(account=own))


async def _mailing_setting(channel: Channel, employee_id: str) -> str:
    """A setting that sends the customer's statements to the employee; its id."""
    templates = templates_pb2_grpc.TemplateServiceStub(channel)
    template = tpb.Template(
        template_id="statement-mail", description="Statement", subject="Statement", text_body="Hi"
    )
    await templates.CreateTemplate(tpb.CreateTemplateRequest(template=template))
    documents = documents_pb2_grpc.DocumentServiceStub(channel)
    setting = dpb.MailingSetting(
        party=dpb.Party(kind=dpb.PARTY_KIND_CUSTOMER, business_account_id="ACME"),
        document_type="statement",
        active=True,
        recipients=[
            dpb.MailingRecipient(address="ap@acme.test"),
            dpb.MailingRecipient(employee_id=employee_id),
        ],
        template_id="statement-mail",
    )
    created = await documents.CreateMailingSetting(
        dpb.CreateMailingSettingRequest(mailing_setting=setting)
    )
    return created.mailing_setting.setting_id


async def _assignment_map(channel: Channel) -> None:
    """ "main": one rule assigning to EMP2 in sales."""
    maps = assignment_pb2_grpc.AssignmentMapServiceStub(channel)
    message = assignment_map("main", [rule(owner_id="EMP2", work_group_id="sales")])
    await maps.CreateAssignmentMap(mpb.CreateAssignmentMapRequest(assignment_map=message))


async def _named_by_account_and_map(directory: Stub, channel: Channel) -> None:
    """The directory of _directory, named by the account "support" and the map "main"."""
    await _directory(directory)
    await _accounts(channel)
    await _assignment_map(channel)


async def test_an_employee_named_anywhere_is_not_deleted_and_every_place_is_named(
    directory: Stub, channel: Channel
) -> None:
    await _directory(directory)
    await _accounts(channel)
    setting_id = await _mailing_setting(channel, "EMP1")
    before = await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="billing"))

    subjects, message = await _refused(
        directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP1"))
    )

    assert subjects == {
        "accounts/own": "EMPLOYEE_IN_USE",
        "accounts/support": "EMPLOYEE_IN_USE",
        f"mailing_settings/{setting_id}": "EMPLOYEE_IN_USE",
    }
    for field in (
        "assignment.default_owner_id",
        "allowed_employee_ids[0]",
        "personal_owner_id",
        "recipients[1].employee_id",
    ):
        assert field in message
    await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP1"))
    after = await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id="billing"))
    assert after.work_group == before.work_group  # still a member, not even touched


async def test_an_owner_of_an_assignment_rule_is_not_deleted(
    directory: Stub, channel: Channel
) -> None:
    await _directory(directory)
    await _assignment_map(channel)

    subjects, message = await _refused(
        directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP2"))
    )

    assert subjects == {"assignment_maps/main": "EMPLOYEE_IN_USE"}
    assert "rules[0].owner_id" in message
    await directory.GetEmployee(pb.GetEmployeeRequest(employee_id="EMP2"))


async def test_a_work_group_named_by_an_account_or_a_rule_is_not_deleted(
    directory: Stub, channel: Channel
) -> None:
    await _named_by_account_and_map(directory, channel)

    billing, billing_message = await _refused(
        directory.DeleteWorkGroup(pb.DeleteWorkGroupRequest(work_group_id="billing"))
    )
    sales, sales_message = await _refused(
        directory.DeleteWorkGroup(pb.DeleteWorkGroupRequest(work_group_id="sales"))
    )

    assert billing == {"accounts/support": "WORK_GROUP_IN_USE"}
    assert "assignment.default_work_group_id" in billing_message
    assert sales == {"assignment_maps/main": "WORK_GROUP_IN_USE"}
    assert "rules[0].work_group_id" in sales_message
    for group_id in ("billing", "sales"):
        await directory.GetWorkGroup(pb.GetWorkGroupRequest(work_group_id=group_id))


async def test_once_nothing_names_them_they_are_deleted(directory: Stub, channel: Channel) -> None:
    await _directory(directory)
    await _assignment_map(channel)
    maps = assignment_pb2_grpc.AssignmentMapServiceStub(channel)
    await maps.DeleteAssignmentMap(mpb.DeleteAssignmentMapRequest(assignment_map_id="main"))

    await directory.DeleteWorkGroup(pb.DeleteWorkGroupRequest(work_group_id="sales"))
    await directory.DeleteEmployee(pb.DeleteEmployeeRequest(employee_id="EMP2"))

    listed = await directory.ListEmployees(pb.ListEmployeesRequest())
    assert [e.employee_id for e in listed.employees] == ["EMP1", "EMP3"]


async def _members(directory: Stub) -> dict[str, pb.WorkGroup]:
    listed = await directory.ListWorkGroups(pb.ListWorkGroupsRequest())
    return {g.work_group_id: g for g in listed.work_groups}


def _new_members(group_id: str, members: list[str]) -> pb.UpdateWorkGroupRequest:
    """Renames the work group and replaces its members, so a refusal shows neither is written."""
    group = pb.WorkGroup(work_group_id=group_id, name="Renamed", members=members)
    return pb.UpdateWorkGroupRequest(
        work_group=group, update_mask=FieldMask(paths=["name", "members"])
    )


@pytest.mark.parametrize(
    ("group_id", "members", "subject", "field", "owner"),
    [
        ("billing", ["EMP3"], "accounts/support", "assignment.default_owner_id", "'EMP1'"),
        ("sales", [], "assignment_maps/main", "rules[0].owner_id", "'EMP2'"),
    ],
    ids=["account default owner", "assignment rule owner"],
)
async def test_an_owner_named_with_a_work_group_is_not_dropped_from_it(
    directory: Stub,
    channel: Channel,
    group_id: str,
    members: list[str],
    subject: str,
    field: str,
    owner: str,
) -> None:
    await _named_by_account_and_map(directory, channel)
    before = await _members(directory)

    subjects, message = await _refused(directory.UpdateWorkGroup(_new_members(group_id, members)))

    assert subjects == {subject: "OWNER_NOT_MEMBER"}
    assert field in message
    assert owner in message
    assert await _members(directory) == before


async def test_a_batch_dropping_a_named_owner_is_refused_and_writes_nothing(
    directory: Stub, channel: Channel
) -> None:
    await _named_by_account_and_map(directory, channel)
    before = await _members(directory)
    batch = pb.BatchUpsertDirectoryRequest(
        employees=[employee("EMP4")],
        work_groups=[work_group("billing", ["EMP3"]), work_group("sales", ["EMP4"])],
        contacts=[contact("C1")],
    )

    subjects, message = await _refused(directory.BatchUpsertDirectory(batch))

    assert subjects == {
        "accounts/support": "OWNER_NOT_MEMBER",
        "assignment_maps/main": "OWNER_NOT_MEMBER",
    }
    for named in ("assignment.default_owner_id", "rules[0].owner_id", "'billing'", "'sales'"):
        assert named in message
    assert await _members(directory) == before
    listed = await directory.ListEmployees(pb.ListEmployeesRequest())
    assert [e.employee_id for e in listed.employees] == ["EMP1", "EMP2", "EMP3"]
    contacts = await directory.ListContacts(pb.ListContactsRequest())
    assert not contacts.contacts


async def test_members_no_account_or_rule_needs_in_the_group_still_come_and_go(
    directory: Stub, channel: Channel
) -> None:
    await _named_by_account_and_map(directory, channel)

    # EMP1 is an owner with billing, not with sales: sales may lose EMP1 again.
    await directory.UpdateWorkGroup(_new_members("sales", ["EMP1", "EMP2", "EMP3"]))
    await directory.UpdateWorkGroup(_new_members("sales", ["EMP2"]))
    await directory.BatchUpsertDirectory(
        pb.BatchUpsertDirectoryRequest(
            work_groups=[work_group("billing", ["EMP1", "EMP3"]), work_group("sales", ["EMP2"])]
        )
    )
    await directory.UpdateWorkGroup(_new_members("billing", ["EMP1"]))

    groups = await _members(directory)
    assert {group_id: list(g.members) for group_id, g in groups.items()} == {
        "billing": ["EMP1"],
        "sales": ["EMP2"],
    }


def test_a_place_is_named_once_with_every_owner_its_groups_lose_and_only_those() -> None:
    lost = lost_members(
        {"sales": ["EMP1", "EMP2"], "billing": ["EMP3"]},
        [WorkGroup("sales", members=["EMP2"]), WorkGroup("billing", members=[])],
    )
    named = [
        NamedOwner("assignment_maps/main", "rules[2].owner_id", "EMP3", "billing"),
        NamedOwner("assignment_maps/main", "rules[0].owner_id", "EMP1", "sales"),
        NamedOwner("assignment_maps/main", "rules[1].owner_id", "EMP2", "sales"),
        NamedOwner("accounts/support", "assignment.default_owner_id", "EMP1", "billing"),
    ]

    refused = owners_dropped(named, lost)

    assert lost == {"sales": {"EMP1"}, "billing": {"EMP3"}}
    assert [subject for subject, _ in refused] == ["assignment_maps/main"]
    description = refused[0][1]
    assert "rules[2].owner_id" in description
    assert "rules[0].owner_id" in description
    assert "rules[1]" not in description
