"""When a schedule runs next, computed without I/O: intervals from the last run, daily times and
cron expressions in a time zone, across daylight-saving changes, and timings refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.management import cron
from erpmail.server.management.models import Timing, TimingKind
from erpmail.server.management.timing import next_match, next_run_time

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def every(minutes: int) -> Timing:
    return Timing(TimingKind.EVERY_MINUTES, every_minutes=minutes)


def daily(at: str, zone: str = "") -> Timing:
    return Timing(TimingKind.DAILY_AT, daily_at=at, time_zone=zone)


def cron_timing(expression: str, zone: str = "") -> Timing:
    return Timing(TimingKind.CRON, cron=expression, time_zone=zone)


def local(moment: datetime, zone: ZoneInfo = OSLO) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")


def runs(expression: str, after: datetime, count: int, zone: ZoneInfo = OSLO) -> list[str]:
    """The next `count` runs after `after`, each computed from the one before."""
    expr = cron.parse(expression, "cron")
    found = []
    for _ in range(count):
        nxt = next_match(expr, zone, after)
        assert nxt is not None
        found.append(local(nxt, zone))
        after = nxt
    return found


def test_a_new_interval_schedule_runs_one_interval_from_now() -> None:
    assert next_run_time(every(15), NOW) == NOW + timedelta(minutes=15)


def test_an_interval_counts_from_the_last_run_while_that_lies_ahead() -> None:
    last = NOW - timedelta(minutes=10)
    assert next_run_time(every(15), NOW, last) == last + timedelta(minutes=15)


def test_an_interval_long_past_counts_from_now_so_missed_runs_are_not_repeated() -> None:
    last = NOW - timedelta(days=3)
    assert next_run_time(every(15), NOW, last) == NOW + timedelta(minutes=15)


def test_a_daily_time_is_today_when_still_ahead_else_tomorrow() -> None:
    assert next_run_time(daily("13:30"), NOW) == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    assert next_run_time(daily("12:00"), NOW) == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    assert next_run_time(daily("11:59"), NOW) == datetime(2026, 3, 11, 11, 59, tzinfo=UTC)


def test_a_daily_time_is_wall_clock_time_in_its_zone() -> None:
    # 12:00 UTC is 13:00 in Oslo (winter time): 08:00 Oslo is tomorrow, 07:00 UTC.
    nxt = next_run_time(daily("08:00", "Europe/Oslo"), NOW)
    assert nxt == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def test_a_daily_time_keeps_its_wall_clock_time_when_daylight_saving_begins() -> None:
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert runs("0 8 * * *", before, 2) == ["2026-03-29 08:00 +0200", "2026-03-30 08:00 +0200"]
    first = next_run_time(daily("08:00", "Europe/Oslo"), before)
    assert first == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # one hour earlier in UTC


def test_a_time_skipped_by_daylight_saving_runs_the_gap_later() -> None:
    # Oslo, 29 March 2026: 02:00 becomes 03:00; 02:30 does not exist that night.
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert runs("30 2 * * *", before, 3) == [
        "2026-03-29 03:30 +0200",
        "2026-03-30 02:30 +0200",
        "2026-03-31 02:30 +0200",
    ]


def test_a_time_that_occurs_twice_runs_once_when_the_hour_is_fixed() -> None:
    # Oslo, 25 October 2026: 03:00 becomes 02:00 again; 02:30 happens twice.
    before = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert runs("30 2 * * *", before, 2) == ["2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100"]


def test_a_repeated_hour_runs_twice_when_the_hour_field_starts_with_a_star() -> None:
    before = datetime(2026, 10, 25, 0, 20, tzinfo=UTC)  # 02:20 summer time
    assert runs("*/15 * * * *", before, 7) == [
        "2026-10-25 02:30 +0200",
        "2026-10-25 02:45 +0200",
        "2026-10-25 02:00 +0100",
        "2026-10-25 02:15 +0100",
        "2026-10-25 02:30 +0100",
        "2026-10-25 02:45 +0100",
        "2026-10-25 03:00 +0100",
    ]


def test_runs_every_quarter_hour_skip_the_missing_hour_without_running_twice() -> None:
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 winter time
    assert runs("*/15 * * * *", before, 4) == [
        "2026-03-29 01:45 +0100",
        "2026-03-29 03:00 +0200",
        "2026-03-29 03:15 +0200",
        "2026-03-29 03:30 +0200",
    ]


def test_daylight_saving_in_new_york_moves_on_its_own_dates() -> None:
    # New York, 8 March 2026: 02:00 becomes 03:00.
    before = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert runs("0 9 * * *", before, 3, NEW_YORK) == [
        "2026-03-07 09:00 -0500",
        "2026-03-08 09:00 -0400",
        "2026-03-09 09:00 -0400",
    ]
    assert runs("30 2 * * *", before, 1, NEW_YORK) == ["2026-03-08 03:30 -0400"]


def test_working_days_skip_the_weekend() -> None:
    friday_evening = datetime(2026, 3, 27, 17, 0, tzinfo=UTC)
    assert runs("0 9 * * MON-FRI", friday_evening, 2) == [
        "2026-03-30 09:00 +0200",
        "2026-03-31 09:00 +0200",
    ]


def test_steps_within_hours_and_lists_of_hours() -> None:
    assert runs("*/20 8,17 * * *", NOW, 4) == [
        "2026-03-10 17:00 +0100",
        "2026-03-10 17:20 +0100",
        "2026-03-10 17:40 +0100",
        "2026-03-11 08:00 +0100",
    ]


def test_the_last_minute_of_a_year_rolls_into_the_next() -> None:
    before = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)  # 23:59 in Oslo
    assert runs("0 0 1 1 *", before, 1) == ["2027-01-01 00:00 +0100"]


def test_february_twenty_ninth_waits_for_a_leap_year() -> None:
    assert runs("0 12 29 2 *", NOW, 2) == ["2028-02-29 12:00 +0100", "2032-02-29 12:00 +0100"]


def test_a_run_is_strictly_after_the_moment_given() -> None:
    at_nine = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
    assert runs("0 9 * * *", at_nine, 1) == ["2026-03-11 09:00 +0100"]


def test_an_unknown_time_zone_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        next_run_time(daily("08:00", "Mars/Olympus_Mons"), NOW)
    (violation,) = refused.value.violations
    assert violation.field == "schedule.daily_at.time_zone"
    with pytest.raises(InvalidArgument) as refused:
        next_run_time(cron_timing("* * * * *", "../etc/passwd"), NOW)
    assert refused.value.violations[0].field == "schedule.cron.time_zone"


@pytest.mark.parametrize("text", ["8:00", "24:00", "12:60", "12-30", "", "ab:cd", "12:00:00"])
def test_a_daily_time_that_is_not_hh_mm_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        next_run_time(daily(text), NOW)
    assert refused.value.violations[0].field == "schedule.daily_at.time"
