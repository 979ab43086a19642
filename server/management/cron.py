"""Five-field cron expressions: parsing with the offending position named, and matching days.

Fields: minute, hour, day of month, month, day of week. Each is "*", a value, a range "a-b", a
step ("*/n", "a-b/n", "a/n" meaning a to the field's end), or a comma-separated list of these.
Months and weekdays also take three-letter English names (any case); weekday 7 is Sunday as 0.
As in cron, when both day of month and day of week are restricted (neither starts with "*") a
day matching either one matches; otherwise a day must match both. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from erpmail.server.core.errors import InvalidArgument

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    _Field("day of week", 0, 7, {n: i for i, n in enumerate(_DAYS)}),
)


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    # The field starts with "*" ("*", "*/2"): as in cron, it counts as unrestricted for the
    # day rule, and a wall-clock hour that occurs twice runs twice for such an hour field.
    any_hour: bool = True
    any_day: bool = True
    any_weekday: bool = True

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            # The unrestricted one matches every day: the other decides.
            return in_month and in_week
        return in_month or in_week


def daily(hour: int, minute: int) -> CronExpression:
    """The expression "minute hour * * *"."""
    return CronExpression(
        minutes=frozenset({minute}),
        hours=frozenset({hour}),
        days=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        weekdays=frozenset(range(7)),
        any_hour=False,
    )


def parse(expression: str, field: str) -> CronExpression:
    """The expression; InvalidArgument on `field` naming the position and what is wrong."""
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        raise InvalidArgument.of(
            field,
            f"needs 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}",
        )
    sets = []
    for position, (text, spec) in enumerate(zip(parts, _FIELDS, strict=True), start=1):
        try:
            sets.append(_parse_field(text, spec))
        except ValueError as error:
            raise InvalidArgument.of(
                field, f"field {position} ({spec.name}) {text!r}: {error}"
            ) from None
    minutes, hours, days, months, weekdays = sets
    expr = CronExpression(
        minutes=frozenset(minutes),
        hours=frozenset(hours),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(d % 7 for d in weekdays),
        any_hour=parts[1].startswith("*"),
        any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
    )
    if expr.any_weekday and not _possible_day(expr):
        raise InvalidArgument.of(field, "names no day that exists in the months it names")
    return expr


# The longest month each month can have (February in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _possible_day(expr: CronExpression) -> bool:
    return any(d <= _MONTH_DAYS[m - 1] for m in expr.months for d in expr.days)


def _parse_field(text: str, spec: _Field) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError("has an empty list item")
        values |= _parse_item(item, spec)
    return values


def _parse_item(item: str, spec: _Field) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ValueError(f"step {step_text!r} must be a whole number above 0")
        step = int(step_text)
    if base == "*":
        low, high = spec.low, spec.high
        if spec.name == "day of week":
            high = 6  # "*" is each day once, not Sunday twice
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _value(first, spec), _value(last, spec)
        if low > high:
            raise ValueError(f"range {base!r} runs backwards")
    else:
        low = _value(base, spec)
        # "a/n" runs from a to the field's end; a lone value is just itself.
        high = spec.high if slash else low
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field) -> int:
    if text.upper() in spec.names:
        return spec.names[text.upper()]
    if not text.isdigit():
        known = f" or a name ({', '.join(spec.names)})" if spec.names else ""
        raise ValueError(f"{text!r} is not a number{known}")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ValueError(f"{value} is out of range {spec.low}-{spec.high}")
    return value
