"""When a schedule runs next: from its timing, its last run and the time now. No I/O here.

Wall-clock timings (daily, cron) are matched in the schedule's time zone, minute by minute of
each local day; every result is an aware UTC instant. A local time that daylight saving skips
maps forward by the gap (02:30 on the night clocks go 02:00 -> 03:00 is 03:30); a local time
that occurs twice is its first occurrence, and its second too when the hour field starts
with "*" (so "*/15 * * * *" keeps running every quarter of an hour through the night).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erpmail.server.core.errors import InvalidArgument
from erpmail.server.management import cron
from erpmail.server.management.models import Timing, TimingKind

# Feb 29 on a given weekday can be 28 years away (longer across a century not leap).
_SEARCH_DAYS = 366 * 40
# Daylight saving moves wall clocks by at most this much.
_DST_SLACK = timedelta(hours=3)


def zone(name: str, field: str) -> ZoneInfo:
    """The IANA time zone (UTC for ""); InvalidArgument on `field` for an unknown name."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.of(field, f"{name!r} is not an IANA time zone name") from None


def expression(timing: Timing, field: str) -> cron.CronExpression:
    """The wall-clock times of a daily or cron timing as one expression."""
    if timing.kind is TimingKind.DAILY_AT:
        hour, minute = parse_hhmm(timing.daily_at, f"{field}.daily_at.time")
        return cron.daily(hour, minute)
    return cron.parse(timing.cron, f"{field}.cron.expression")


def parse_hhmm(text: str, field: str) -> tuple[int, int]:
    hours, colon, minutes = text.partition(":")
    if (
        colon
        and len(hours) == 2
        and len(minutes) == 2
        and hours.isdigit()
        and minutes.isdigit()
        and int(hours) < 24
        and int(minutes) < 60
    ):
        return int(hours), int(minutes)
    raise InvalidArgument.of(field, f"{text!r} is not a time HH:MM from 00:00 to 23:59")


def next_run_time(
    timing: Timing, now: datetime, last_run: datetime | None = None, field: str = "schedule"
) -> datetime:
    """The first run after `now`. An interval counts from the last run while that still lies
    ahead, else from now. InvalidArgument under `field` when the timing is invalid or never
    runs."""
    if timing.kind is TimingKind.EVERY_MINUTES:
        interval = timedelta(minutes=timing.every_minutes)
        if last_run is not None and last_run + interval > now:
            return last_run + interval
        return now + interval
    tz = zone(timing.time_zone, f"{field}.{timing.kind.value}.time_zone")
    found = next_match(expression(timing, field), tz, now)
    if found is None:
        raise InvalidArgument.of(f"{field}.cron.expression", "never runs")
    return found


def next_match(expr: cron.CronExpression, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first instant strictly after `after` at which the expression runs in `tz`."""
    local_after = after.astimezone(tz).replace(tzinfo=None)
    earliest_wall = local_after - _DST_SLACK
    day = earliest_wall.date()
    best: datetime | None = None
    for _ in range(_SEARCH_DAYS):
        if best is not None and datetime.combine(day, time()) > _wall(best, tz) + _DST_SLACK:
            return best
        if expr.matches_day(day):
            for wall, instant in _instants(expr, tz, day, earliest_wall):
                if best is not None and wall > _wall(best, tz) + _DST_SLACK:
                    break  # in wall-clock order: nothing later in the day can come sooner
                if instant > after and (best is None or instant < best):
                    best = instant
        day += timedelta(days=1)
    return best


def _instants(
    expr: cron.CronExpression, tz: ZoneInfo, day: date, earliest_wall: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """(wall-clock time, UTC instant) of each run on the local day, in wall-clock order."""
    for hour in sorted(expr.hours):
        for minute in sorted(expr.minutes):
            wall = datetime(day.year, day.month, day.day, hour, minute)
            if wall < earliest_wall:
                continue
            first = wall.replace(tzinfo=tz)
            yield wall, first.astimezone(UTC)
            second = wall.replace(tzinfo=tz, fold=1)
            if expr.any_hour and second.utcoffset() != first.utcoffset() and _exists(second):
                yield wall, second.astimezone(UTC)


def _exists(moment: datetime) -> bool:
    """Whether the wall-clock time really occurs (it is not in a daylight-saving gap)."""
    there_and_back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return there_and_back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)
