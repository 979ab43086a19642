"""Cron expressions, parsed and matched without any I/O: every field form, names, the day rule,
and a refusal that names the field and what is wrong."""

from __future__ import annotations

from datetime import date

import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.management import cron

FIELD = "schedule.cron.expression"


def parse(expression: str) -> cron.CronExpression:
    return cron.parse(expression, FIELD)


def test_a_star_takes_every_value_of_its_field() -> None:
    expr = parse("* * * * *")
    assert expr.minutes == set(range(60))
    assert expr.hours == set(range(24))
    assert expr.days == set(range(1, 32))
    assert expr.months == set(range(1, 13))
    assert expr.weekdays == set(range(7))


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("5", {5}),
        ("1,15,30", {1, 15, 30}),
        ("10-13", {10, 11, 12, 13}),
        ("*/20", {0, 20, 40}),
        ("10-30/10", {10, 20, 30}),
        ("50/3", {50, 53, 56, 59}),
        ("0-5/2,30,45-46", {0, 2, 4, 30, 45, 46}),
    ],
)
def test_minute_fields_take_values_lists_ranges_and_steps(field: str, values: set[int]) -> None:
    assert parse(f"{field} * * * *").minutes == values


def test_months_and_weekdays_take_names_in_any_case() -> None:
    expr = parse("0 9 * jan,Mar-MAY mon-fri")
    assert expr.months == {1, 3, 4, 5}
    assert expr.weekdays == {1, 2, 3, 4, 5}


def test_weekday_seven_is_sunday_like_zero() -> None:
    assert parse("0 0 * * 7").weekdays == {0}
    assert parse("0 0 * * 5-7").weekdays == {5, 6, 0}


def test_a_day_must_match_both_day_fields_when_one_starts_with_a_star() -> None:
    weekdays_only = parse("0 9 * * MON-FRI")
    assert weekdays_only.matches_day(date(2026, 3, 27))  # a Friday
    assert not weekdays_only.matches_day(date(2026, 3, 28))  # a Saturday
    odd_mondays = parse("0 9 */2 * MON")
    assert odd_mondays.matches_day(date(2026, 3, 9))  # Monday the 9th
    assert not odd_mondays.matches_day(date(2026, 3, 16))  # Monday the 16th
    assert not odd_mondays.matches_day(date(2026, 3, 11))  # Wednesday the 11th


def test_a_day_matching_either_restricted_day_field_matches() -> None:
    first_or_friday = parse("0 9 1 * FRI")
    assert first_or_friday.matches_day(date(2026, 3, 1))  # a Sunday, but the 1st
    assert first_or_friday.matches_day(date(2026, 3, 6))  # a Friday
    assert not first_or_friday.matches_day(date(2026, 3, 7))


def test_a_day_outside_the_months_named_never_matches() -> None:
    expr = parse("0 0 * 2 *")
    assert expr.matches_day(date(2026, 2, 10))
    assert not expr.matches_day(date(2026, 3, 10))


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * * *", "needs 5 fields"),
        ("* * * * * *", "needs 5 fields"),
        ("", "needs 5 fields"),
        ("60 * * * *", "field 1 (minute) '60': 60 is out of range 0-59"),
        ("* 24 * * *", "field 2 (hour) '24': 24 is out of range 0-23"),
        ("* * 0 * *", "field 3 (day of month) '0': 0 is out of range 1-31"),
        ("* * 32 * *", "field 3 (day of month) '32'"),
        ("* * * 13 *", "field 4 (month) '13': 13 is out of range 1-12"),
        ("* * * * 8", "field 5 (day of week) '8': 8 is out of range 0-7"),
        ("5-1 * * * *", "field 1 (minute) '5-1': range '5-1' runs backwards"),
        ("*/0 * * * *", "field 1 (minute) '*/0': step '0' must be a whole number above 0"),
        ("*/x * * * *", "step 'x'"),
        ("* * * FOO *", "field 4 (month) 'FOO': 'FOO' is not a number or a name"),
        ("* * * * MON-XYZ", "field 5 (day of week) 'MON-XYZ'"),
        ("* JAN * * *", "field 2 (hour) 'JAN': 'JAN' is not a number"),
        ("1,,2 * * * *", "field 1 (minute) '1,,2': has an empty list item"),
        ("-5 * * * *", "field 1 (minute) '-5'"),
        ("0 0 30 2 *", "names no day that exists"),
        ("0 0 31 4,6,9,11 *", "names no day that exists"),
    ],
)
def test_a_malformed_expression_is_refused_naming_the_field_and_position(
    expression: str, problem: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse(expression)
    (violation,) = refused.value.violations
    assert violation.field == FIELD
    assert problem in violation.description


def test_february_thirtieth_is_possible_when_a_weekday_may_match_instead() -> None:
    # Both day fields restricted: any Monday in February matches.
    assert parse("0 0 30 2 MON").matches_day(date(2026, 2, 2))


def test_the_daily_expression_runs_at_one_time_every_day() -> None:
    expr = cron.daily(7, 45)
    assert (expr.hours, expr.minutes) == (frozenset({7}), frozenset({45}))
    assert all(expr.matches_day(date(2026, m, 1)) for m in range(1, 13))
    assert not expr.any_hour
