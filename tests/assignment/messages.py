"""Valid assignment map messages to start each test from, and the directory they name."""

from __future__ import annotations

from typing import TypeAlias

from erpmail.v1 import assignment_pb2 as pb
from erpmail.v1 import assignment_pb2_grpc
from erpmail.v1 import directory_pb2 as directory_pb

from tests.directory.messages import Stub as DirectoryStub
from tests.directory.messages import add_employees, work_group

Stub: TypeAlias = "assignment_pb2_grpc.AssignmentMapServiceAsyncStub"

FROM = pb.ASSIGNMENT_CONDITION_FIELD_FROM
TO = pb.ASSIGNMENT_CONDITION_FIELD_TO
SUBJECT = pb.ASSIGNMENT_CONDITION_FIELD_SUBJECT
BODY = pb.ASSIGNMENT_CONDITION_FIELD_BODY
EQUALS = pb.ASSIGNMENT_CONDITION_OPERATOR_EQUALS
CONTAINS = pb.ASSIGNMENT_CONDITION_OPERATOR_CONTAINS
LIKE = pb.ASSIGNMENT_CONDITION_OPERATOR_LIKE


def condition(
    field: int = SUBJECT,
    operator: int = CONTAINS,
    value: str = "invoice",
    negate: bool = False,
) -> pb.AssignmentCondition:
    """A condition; field and operator may be numbers the proto does not define."""
    return pb.AssignmentCondition(
        field=pb.AssignmentConditionField.ValueType(field),
        operator=pb.AssignmentConditionOperator.ValueType(operator),
        value=value,
        negate=negate,
    )


def rule(
    name: str = "invoices",
    conditions: list[pb.AssignmentCondition] | None = None,
    owner_id: str = "EMP1",
    work_group_id: str = "billing",
) -> pb.AssignmentRule:
    return pb.AssignmentRule(
        name=name,
        conditions=[condition()] if conditions is None else conditions,
        owner_id=owner_id,
        work_group_id=work_group_id,
    )


def assignment_map(
    map_id: str = "main", rules: list[pb.AssignmentRule] | None = None
) -> pb.AssignmentMap:
    return pb.AssignmentMap(
        assignment_map_id=map_id,
        description="Routes incoming support mail",
        rules=[rule()] if rules is None else rules,
    )


async def add_directory(directory: DirectoryStub) -> None:
    """Employees EMP1 (in billing), EMP2 (in sales) and EMP3 (in no group)."""
    await add_employees(directory, "EMP1", "EMP2", "EMP3")
    for group_id, members in (("billing", ["EMP1"]), ("sales", ["EMP2"])):
        await directory.CreateWorkGroup(
            directory_pb.CreateWorkGroupRequest(work_group=work_group(group_id, members))
        )


async def create(maps: Stub, message: pb.AssignmentMap) -> pb.AssignmentMap:
    response = await maps.CreateAssignmentMap(pb.CreateAssignmentMapRequest(assignment_map=message))
    return response.assignment_map
