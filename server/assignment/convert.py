"""Translation between the AssignmentMapService protos and the assignment map domain model."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from erpmail.server.assignment import models as m
from erpmail.server.assignment.store import StoredMap
from erpmail.server.core.errors import InvalidArgument, Violations
from erpmail.server.core.protos import EnumMap, timestamp
from erpmail.v1 import assignment_pb2 as pb

E = TypeVar("E", bound=Enum)
P = TypeVar("P", bound=int)

FIELD = EnumMap(
    {
        pb.ASSIGNMENT_CONDITION_FIELD_FROM: m.ConditionField.FROM,
        pb.ASSIGNMENT_CONDITION_FIELD_TO: m.ConditionField.TO,
        pb.ASSIGNMENT_CONDITION_FIELD_SUBJECT: m.ConditionField.SUBJECT,
        pb.ASSIGNMENT_CONDITION_FIELD_BODY: m.ConditionField.BODY,
    }
)
OPERATOR = EnumMap(
    {
        pb.ASSIGNMENT_CONDITION_OPERATOR_EQUALS: m.Operator.EQUALS,
        pb.ASSIGNMENT_CONDITION_OPERATOR_CONTAINS: m.Operator.CONTAINS,
        pb.ASSIGNMENT_CONDITION_OPERATOR_STARTS_WITH: m.Operator.STARTS_WITH,
        pb.ASSIGNMENT_CONDITION_OPERATOR_ENDS_WITH: m.Operator.ENDS_WITH,
        pb.ASSIGNMENT_CONDITION_OPERATOR_LIKE: m.Operator.LIKE,
    }
)


def map_to_domain(message: pb.AssignmentMap, v: Violations, field: str) -> m.AssignmentMap:
    """The map a request describes; enum problems are added to `v` so that the caller can
    report them together with every other problem of the request."""
    return m.AssignmentMap(
        assignment_map_id=message.assignment_map_id,
        description=message.description,
        rules=[
            _rule_to_domain(rule, v, f"{field}.rules[{i}]")
            # Past the limit the map is refused; its conditions are not worth converting.
            for i, rule in enumerate(message.rules[: m.MAX_RULES + 1])
        ],
    )


def map_item_to_proto(amap: m.AssignmentMap) -> pb.AssignmentMap:
    return pb.AssignmentMap(
        assignment_map_id=amap.assignment_map_id,
        description=amap.description,
        rules=[
            pb.AssignmentRule(
                name=rule.name,
                conditions=[
                    pb.AssignmentCondition(
                        field=FIELD.to_proto(c.field),
                        operator=OPERATOR.to_proto(c.operator),
                        value=c.value,
                        negate=c.negate,
                    )
                    for c in rule.conditions
                ],
                owner_id=rule.owner_id,
                work_group_id=rule.work_group_id,
            )
            for rule in amap.rules
        ],
    )


def map_to_proto(stored: StoredMap) -> pb.AssignmentMap:
    message = map_item_to_proto(stored.map)
    message.create_time.CopyFrom(timestamp(stored.create_time))
    message.update_time.CopyFrom(timestamp(stored.update_time))
    return message


def _rule_to_domain(message: pb.AssignmentRule, v: Violations, field: str) -> m.AssignmentRule:
    conditions = []
    for j, c in enumerate(message.conditions[: m.MAX_CONDITIONS + 1]):
        cf = f"{field}.conditions[{j}]"
        conditions.append(
            m.AssignmentCondition(
                field=_enum(FIELD, c.field, v, f"{cf}.field", m.ConditionField.FROM),
                operator=_enum(OPERATOR, c.operator, v, f"{cf}.operator", m.Operator.EQUALS),
                value=c.value,
                negate=c.negate,
            )
        )
    return m.AssignmentRule(
        name=message.name,
        conditions=conditions,
        owner_id=message.owner_id,
        work_group_id=message.work_group_id,
    )


def _enum(enum_map: EnumMap[P, E], number: int, v: Violations, field: str, stand_in: E) -> E:
    """The domain value, or `stand_in` with a violation recorded (the request is then refused,
    so the stand-in is never used)."""
    if number == 0:
        v.add(field, "is required")
        return stand_in
    try:
        return enum_map.to_domain(number, field)
    except InvalidArgument as error:
        v.items.extend(error.violations)
        return stand_in
