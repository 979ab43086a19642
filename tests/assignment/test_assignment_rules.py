"""An assignment map gives an email the owner and work group of its first rule whose conditions
all hold; comparisons ignore case; LIKE patterns never take long, whatever the text or pattern."""

from __future__ import annotations

import itertools
import re

import pytest
from erpmail.server.assignment.models import (
    AssignmentCondition,
    AssignmentMap,
    AssignmentRule,
    ConditionField,
    Operator,
)
from erpmail.server.assignment.rules import MAX_TEXT, Assignment, EmailFacts, assign
from erpmail.server.assignment.wildcard import like

F = ConditionField
OP = Operator


def email(
    from_address: str = "ada@customer.example.org",
    to_addresses: tuple[str, ...] = ("support@example.com",),
    subject: str = "Question",
    body: str = "Hello",
) -> EmailFacts:
    return EmailFacts(from_address, to_addresses, subject, body)


def when(
    field: ConditionField, operator: Operator, value: str, negate: bool = False
) -> AssignmentCondition:
    return AssignmentCondition(field, operator, value, negate)


def one_rule(*conditions: AssignmentCondition) -> AssignmentMap:
    return AssignmentMap("m", rules=[AssignmentRule("r", list(conditions), owner_id="EMP1")])


def matches(condition: AssignmentCondition, facts: EmailFacts) -> bool:
    return assign(one_rule(condition), facts) is not None


def test_the_first_matching_rule_wins_over_later_ones_that_match_too() -> None:
    amap = AssignmentMap(
        "m",
        rules=[
            AssignmentRule("billing", [when(F.SUBJECT, OP.CONTAINS, "invoice")], "", "billing"),
            AssignmentRule("anything", [], owner_id="EMP9"),
        ],
    )

    assert assign(amap, email(subject="Invoice 42")) == Assignment("", "billing", "billing")


def test_a_later_rule_assigns_when_the_earlier_ones_do_not_match() -> None:
    amap = AssignmentMap(
        "m",
        rules=[
            AssignmentRule("billing", [when(F.SUBJECT, OP.CONTAINS, "invoice")], "", "billing"),
            AssignmentRule("sales", [when(F.SUBJECT, OP.CONTAINS, "offer")], "EMP2", "sales"),
        ],
    )

    assert assign(amap, email(subject="Your offer")) == Assignment("EMP2", "sales", "sales")


def test_no_assignment_when_no_rule_matches() -> None:
    amap = AssignmentMap("m", rules=[AssignmentRule("r", [when(F.SUBJECT, OP.EQUALS, "x")], "E")])

    assert assign(amap, email(subject="y")) is None
    assert assign(AssignmentMap("empty"), email()) is None


def test_a_rule_without_conditions_catches_every_email() -> None:
    amap = AssignmentMap("m", rules=[AssignmentRule("catch-all", [], work_group_id="desk")])

    assert assign(amap, email()) == Assignment("", "desk", "catch-all")
    assert assign(amap, EmailFacts("", [], "", "")) == Assignment("", "desk", "catch-all")


def test_a_rule_matches_only_when_every_condition_holds() -> None:
    amap = one_rule(
        when(F.FROM, OP.ENDS_WITH, "@customer.example.org"),
        when(F.SUBJECT, OP.STARTS_WITH, "urgent"),
    )

    assert assign(amap, email(subject="Urgent: help")) is not None
    assert assign(amap, email(subject="Not urgent")) is None
    assert assign(amap, email(from_address="eve@elsewhere.example", subject="Urgent")) is None


OPERATOR_CASES = [
    # operator, text, value, holds
    (OP.EQUALS, "Invoice 42", "invoice 42", True),
    (OP.EQUALS, "Invoice 42", "invoice", False),
    (OP.CONTAINS, "Re: Invoice 42 overdue", "INVOICE 42", True),
    (OP.CONTAINS, "Re: Invoice 42", "invoice 43", False),
    (OP.STARTS_WITH, "Re: Invoice", "re:", True),
    (OP.STARTS_WITH, "Re: Invoice", "invoice", False),
    (OP.ENDS_WITH, "Re: Invoice", "VOICE", True),
    (OP.ENDS_WITH, "Re: Invoice", "re:", False),
    (OP.LIKE, "Order 1234 shipped", "order ???? *", True),
    (OP.LIKE, "Order 123 shipped", "order ???? *", False),
    (OP.LIKE, "Order 1234", "order*", True),
    (OP.LIKE, "My order 1234", "order*", False),
    (OP.LIKE, "ÄRGER mit Straße", "ärger*STRASSE", True),
]


@pytest.mark.parametrize(("operator", "text", "value", "holds"), OPERATOR_CASES)
def test_each_operator_compares_the_field_with_the_value_ignoring_case(
    operator: Operator, text: str, value: str, holds: bool
) -> None:
    assert matches(when(F.SUBJECT, operator, value), email(subject=text)) is holds


@pytest.mark.parametrize(
    ("field", "facts"),
    [
        (F.FROM, email(from_address="Boss@Example.COM")),
        (F.TO, email(to_addresses=("info@example.com", "boss@example.com"))),
        (F.SUBJECT, email(subject="boss@example.com")),
        (F.BODY, email(body="boss@example.com")),
    ],
)
def test_each_field_is_the_part_of_the_email_the_condition_reads(
    field: ConditionField, facts: EmailFacts
) -> None:
    condition = when(field, OP.EQUALS, "boss@example.com")

    assert matches(condition, facts)
    others = [f for f in ConditionField if f is not field]
    assert not any(matches(when(f, OP.EQUALS, "boss@example.com"), facts) for f in others)


def test_addresses_are_compared_without_surrounding_space() -> None:
    facts = email(from_address=" ada@customer.example.org ", to_addresses=(" sales@example.com",))

    assert matches(when(F.FROM, OP.EQUALS, "ada@customer.example.org"), facts)
    assert matches(when(F.TO, OP.EQUALS, "sales@example.com"), facts)


def test_negate_turns_a_holding_condition_into_a_failing_one_and_back() -> None:
    facts = email(subject="Invoice 42")

    assert not matches(when(F.SUBJECT, OP.CONTAINS, "invoice", negate=True), facts)
    assert matches(when(F.SUBJECT, OP.CONTAINS, "offer", negate=True), facts)


def test_to_holds_for_any_recipient_and_negated_to_only_when_none_satisfies_it() -> None:
    facts = email(to_addresses=("sales@example.com", "support@example.com"))

    assert matches(when(F.TO, OP.STARTS_WITH, "support@"), facts)
    assert not matches(when(F.TO, OP.STARTS_WITH, "support@", negate=True), facts)
    assert matches(when(F.TO, OP.STARTS_WITH, "billing@", negate=True), facts)


def test_without_recipients_a_to_condition_fails_and_its_negation_holds() -> None:
    facts = email(to_addresses=())

    assert not matches(when(F.TO, OP.LIKE, "*"), facts)
    assert matches(when(F.TO, OP.LIKE, "*", negate=True), facts)


def test_body_text_past_the_examined_part_is_not_looked_at() -> None:
    early = email(body="refund " + "x" * MAX_TEXT)
    late = email(body="x" * MAX_TEXT + " refund")

    assert matches(when(F.BODY, OP.CONTAINS, "refund"), early)
    assert not matches(when(F.BODY, OP.CONTAINS, "refund"), late)


LIKE_CASES = [
    # text, pattern, matches
    ("", "*", True),
    ("abc", "***", True),
    ("abc", "abc", True),
    ("abc", "ab", False),
    ("abc", "a?c", True),
    ("ac", "a?c", False),
    ("abc", "a*c", True),
    ("ac", "a*c", True),
    ("abcbc", "a*bc", True),
    ("abcbd", "a*bc", False),
    ("a", "a*a", False),
    ("ab", "*a*ab*", False),
    ("aab", "*a*ab*", True),
    ("xaxbx", "*a?b*", True),
    ("mississippi", "m*iss*ppi", True),
    ("mississippi", "*s?s*p?i", True),
    ("a+b(c)[d].e", "a+b(c)[d].?", True),
    ("a.c", "a.c", True),
    ("abc", "a.c", False),
]


@pytest.mark.parametrize(("text", "pattern", "expected"), LIKE_CASES)
def test_like_star_is_any_run_question_mark_one_character_the_rest_literal(
    text: str, pattern: str, expected: bool
) -> None:
    assert like(text, pattern) is expected


def test_like_agrees_with_a_wildcard_reference_on_every_small_text_and_pattern() -> None:
    # Patterns of up to five characters include ones with two segments between '*'s.
    texts = ["".join(t) for n in range(7) for t in itertools.product("ab", repeat=n)]
    patterns = ["".join(p) for n in range(6) for p in itertools.product("ab*?", repeat=n)]
    for pattern in patterns:
        reference = re.compile(
            "".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in pattern), re.DOTALL
        )
        for text in texts:
            assert like(text, pattern) is bool(reference.fullmatch(text)), (text, pattern)


HOSTILE_PATTERNS = [
    "*" * 1000,
    "*a" * 500,
    "*a" * 499 + "b",
    "*" + "a?" * 499 + "b",
    "?" * 999 + "*",
    "*" + "a" * 998 + "b",
]


@pytest.mark.parametrize("pattern", HOSTILE_PATTERNS, ids=lambda p: p[:12])
def test_hostile_patterns_over_the_longest_examined_body_just_return_the_answer(
    pattern: str,
) -> None:
    expected = "b" not in pattern

    assert matches(when(F.BODY, OP.LIKE, pattern), email(body="a" * MAX_TEXT)) is expected
