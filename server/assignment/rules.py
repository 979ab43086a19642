"""Which owner and work group an assignment map gives an incoming email (pure: no I/O).

Incoming processing calls `assign` for an email its thread history leaves unassigned; None means
that no rule matched and the account's default work group and owner apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from erpmail.server.assignment.models import (
    AssignmentCondition,
    AssignmentMap,
    ConditionField,
    Operator,
)
from erpmail.server.assignment.wildcard import like

# How much of any one text is examined: a huge body or header costs no more than this.
MAX_TEXT = 64 * 1024
# Recipients past this many are not looked at (each is compared with every TO condition).
MAX_RECIPIENTS = 1_000


@dataclass(frozen=True)
class EmailFacts:
    """What the rules look at: the sender's address, the To and Cc addresses, subject, text body."""

    from_address: str
    to_addresses: Sequence[str]
    subject: str
    body: str


@dataclass(frozen=True)
class Assignment:
    """The owner and/or work group (either may be "") and the name of the rule that chose them."""

    owner_id: str
    work_group_id: str
    rule_name: str


def assign(map: AssignmentMap, email: EmailFacts) -> Assignment | None:
    """The assignment of the first rule whose conditions all hold, or None if none does."""
    texts = _Texts.of(email)
    for rule in map.rules:
        if all(_holds(condition, texts) for condition in rule.conditions):
            return Assignment(rule.owner_id, rule.work_group_id, rule.name)
    return None


@dataclass(frozen=True)
class _Texts:
    """The email's texts, bounded and case-folded once for all conditions."""

    by_field: dict[ConditionField, tuple[str, ...]]

    @classmethod
    def of(cls, email: EmailFacts) -> _Texts:
        return cls(
            {
                ConditionField.FROM: (_fold(email.from_address.strip()),),
                ConditionField.TO: tuple(
                    _fold(a.strip()) for a in email.to_addresses[:MAX_RECIPIENTS]
                ),
                ConditionField.SUBJECT: (_fold(email.subject),),
                ConditionField.BODY: (_fold(email.body),),
            }
        )


def _fold(text: str) -> str:
    return text[:MAX_TEXT].casefold()


def _holds(condition: AssignmentCondition, texts: _Texts) -> bool:
    # For TO the comparison succeeds when any recipient satisfies it; negate inverts the whole,
    # so a negated TO condition holds when no recipient does.
    value = condition.value.casefold()
    compare = _COMPARE[condition.operator]
    found = any(compare(text, value) for text in texts.by_field[condition.field])
    return found != condition.negate


# (text, value) -> whether the text satisfies the operator; both already case-folded.
_COMPARE: dict[Operator, Callable[[str, str], bool]] = {
    Operator.EQUALS: lambda text, value: text == value,
    Operator.CONTAINS: lambda text, value: value in text,
    Operator.STARTS_WITH: lambda text, value: text.startswith(value),
    Operator.ENDS_WITH: lambda text, value: text.endswith(value),
    Operator.LIKE: like,
}
