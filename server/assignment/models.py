"""Email assignment maps and the rules a valid map obeys (no I/O here)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum

from erpmail.server.core.errors import Violations

MAP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_RULE = "is required: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
MAX_RULES = 200
MAX_CONDITIONS = 20
MAX_VALUE = 1_000
MAX_NAME = 256
MAX_DESCRIPTION = 1_000


class ConditionField(StrEnum):
    FROM = "from"
    # Any one of the To and Cc addresses.
    TO = "to"
    SUBJECT = "subject"
    BODY = "body"


class Operator(StrEnum):
    EQUALS = "equals"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    LIKE = "like"


@dataclass
class AssignmentCondition:
    field: ConditionField
    operator: Operator
    value: str
    negate: bool = False


@dataclass
class AssignmentRule:
    name: str
    conditions: list[AssignmentCondition] = dataclasses.field(default_factory=list)
    owner_id: str = ""
    work_group_id: str = ""


@dataclass
class AssignmentMap:
    assignment_map_id: str
    description: str = ""
    rules: list[AssignmentRule] = dataclasses.field(default_factory=list)


def normalize_map(amap: AssignmentMap) -> None:
    # Condition values are kept as given: a leading or trailing space can be what they look for.
    amap.description = amap.description.strip()
    for rule in amap.rules:
        rule.name = rule.name.strip()
        rule.owner_id = rule.owner_id.strip()
        rule.work_group_id = rule.work_group_id.strip()


def check_map(amap: AssignmentMap, v: Violations, prefix: str) -> None:
    """Adds a violation naming the field for every rule the map breaks (references aside)."""
    f = f"{prefix}."
    v.check(MAP_ID.fullmatch(amap.assignment_map_id) is not None, f + "assignment_map_id", ID_RULE)
    v.check(
        len(amap.description) <= MAX_DESCRIPTION and amap.description.isprintable(),
        f + "description",
        f"must be printable, on one line, at most {MAX_DESCRIPTION} characters",
    )
    v.check(len(amap.rules) <= MAX_RULES, f + "rules", f"must be at most {MAX_RULES}")
    first_with_name: dict[str, int] = {}
    # Past the limit the request is refused anyway; naming the first ones' problems is enough.
    for i, rule in enumerate(amap.rules[:MAX_RULES]):
        rf = f"{f}rules[{i}]"
        _check_rule(rule, v, rf)
        if rule.name:
            first = first_with_name.setdefault(rule.name, i)
            v.check(first == i, rf + ".name", f"repeats rules[{first}]")


def check_references(
    amap: AssignmentMap,
    employees: Set[str],
    work_group_members: Mapping[str, Set[str]],
    v: Violations,
    prefix: str,
) -> None:
    """Every owner and work group a rule names exists, and an owner named with a work group is
    one of its members. `work_group_members` holds each existing work group's members."""
    for i, rule in enumerate(amap.rules):
        rf = f"{prefix}.rules[{i}]"
        group = rule.work_group_id
        if group:
            v.check(group in work_group_members, rf + ".work_group_id", "names no work group")
        if not rule.owner_id:
            continue
        if rule.owner_id not in employees:
            v.add(rf + ".owner_id", "names no employee")
        elif group in work_group_members and rule.owner_id not in work_group_members[group]:
            v.add(rf + ".owner_id", f"is not a member of work group {group!r}")


def referenced_ids(amap: AssignmentMap) -> tuple[list[str], list[str]]:
    """(employee ids, work group ids) the map's rules name, each once, sorted."""
    owners = sorted({r.owner_id for r in amap.rules if r.owner_id})
    groups = sorted({r.work_group_id for r in amap.rules if r.work_group_id})
    return owners, groups


def _check_rule(rule: AssignmentRule, v: Violations, rf: str) -> None:
    v.check(
        0 < len(rule.name) <= MAX_NAME and rule.name.isprintable(),
        rf + ".name",
        f"is required: printable, on one line, at most {MAX_NAME} characters",
    )
    v.check(
        bool(rule.owner_id or rule.work_group_id),
        rf + ".owner_id",
        "is required unless work_group_id is set: a rule assigns an owner, a work group or both",
    )
    v.check(
        len(rule.conditions) <= MAX_CONDITIONS,
        rf + ".conditions",
        f"must be at most {MAX_CONDITIONS}",
    )
    for j, condition in enumerate(rule.conditions[:MAX_CONDITIONS]):
        value = condition.value
        v.check(
            0 < len(value) <= MAX_VALUE and value.isprintable(),
            f"{rf}.conditions[{j}].value",
            f"is required: printable, on one line, at most {MAX_VALUE} characters",
        )
