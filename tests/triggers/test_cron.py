"""Cron: expression syntax, errors, zones, bounds and skip-ahead (DST is in test_cron_dst.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import Cron, Trigger

from ._util import BERLIN, local, utc

# A Monday.
NOW = utc(2024, 1, 1, 12, 0)


def fires(expression: str, after: datetime = NOW, k: int = 3, **kwargs: Any) -> list[datetime]:
    return Cron(expression, **kwargs).preview(k, after=after)


# -- syntax ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "*/15 * * * *",
            [utc(2024, 1, 1, 12, 15), utc(2024, 1, 1, 12, 30), utc(2024, 1, 1, 12, 45)],
            id="step",
        ),
        pytest.param(
            "0 9 * * mon-fri",
            [utc(2024, 1, 2, 9), utc(2024, 1, 3, 9), utc(2024, 1, 4, 9)],
            id="weekday-names",
        ),
        pytest.param(
            "0 9 * * MON-FRI",
            [utc(2024, 1, 2, 9), utc(2024, 1, 3, 9), utc(2024, 1, 4, 9)],
            id="names-any-case",
        ),
        pytest.param(
            "0 0 1 jan,Jul *", [utc(2024, 7, 1), utc(2025, 1, 1), utc(2025, 7, 1)], id="month-names"
        ),
        pytest.param(
            "0 0 1 feb-apr/2 *",
            [utc(2024, 2, 1), utc(2024, 4, 1), utc(2025, 2, 1)],
            id="named-range-step",
        ),
        pytest.param(
            "5-7 12 * * *",
            [utc(2024, 1, 1, 12, 5), utc(2024, 1, 1, 12, 6), utc(2024, 1, 1, 12, 7)],
            id="range",
        ),
        pytest.param(
            "5-5 12 * * *",
            [utc(2024, 1, 1, 12, 5), utc(2024, 1, 2, 12, 5), utc(2024, 1, 3, 12, 5)],
            id="equal-range-is-one-value",
        ),
        pytest.param(
            "50/4 12 * * *",
            [utc(2024, 1, 1, 12, 50), utc(2024, 1, 1, 12, 54), utc(2024, 1, 1, 12, 58)],
            id="start-step",
        ),
        pytest.param(
            "59/15 12 * * *",
            [utc(2024, 1, 1, 12, 59), utc(2024, 1, 2, 12, 59), utc(2024, 1, 3, 12, 59)],
            id="start-step-at-field-max",
        ),
        pytest.param(
            "1,2,10-20/5 12 * * *",
            [utc(2024, 1, 1, 12, 1), utc(2024, 1, 1, 12, 2), utc(2024, 1, 1, 12, 10)],
            id="list-of-mixed-items",
        ),
        pytest.param(
            "0 0 * * 7", [utc(2024, 1, 7), utc(2024, 1, 14), utc(2024, 1, 21)], id="seven-is-sunday"
        ),
        pytest.param(
            "0 0 * * fri-7",
            [utc(2024, 1, 5), utc(2024, 1, 6), utc(2024, 1, 7)],
            id="range-ending-on-seven",
        ),
        pytest.param(
            "0 0 13 * fri",
            [utc(2024, 1, 5), utc(2024, 1, 12), utc(2024, 1, 13)],
            id="both-day-fields-or",
        ),
        pytest.param(
            "0 0 */2 * mon",
            [utc(2024, 1, 15), utc(2024, 1, 29), utc(2024, 2, 5)],
            id="star-day-field-and",
        ),
        pytest.param(
            "0 0 1-31 * mon",
            [utc(2024, 1, 2), utc(2024, 1, 3), utc(2024, 1, 4)],
            id="full-day-of-month-or-is-every-day",
        ),
        pytest.param(
            "0 0 29 2 *", [utc(2024, 2, 29), utc(2028, 2, 29), utc(2032, 2, 29)], id="leap-day"
        ),
        pytest.param(
            "  0   12  *  *  *  ",
            [utc(2024, 1, 2, 12), utc(2024, 1, 3, 12), utc(2024, 1, 4, 12)],
            id="extra-whitespace",
        ),
    ],
)
def test_five_field_expressions(expression: str, expected: list[datetime]) -> None:
    assert fires(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "*/20 * * * * *",
            [utc(2024, 1, 1, 12, 0, 20), utc(2024, 1, 1, 12, 0, 40), utc(2024, 1, 1, 12, 1)],
            id="every-20-seconds",
        ),
        pytest.param(
            "30 0 12 * * *",
            [utc(2024, 1, 1, 12, 0, 30), utc(2024, 1, 2, 12, 0, 30), utc(2024, 1, 3, 12, 0, 30)],
            id="seconds-come-first",
        ),
        pytest.param(
            "5 */30 * * * *",
            [utc(2024, 1, 1, 12, 0, 5), utc(2024, 1, 1, 12, 30, 5), utc(2024, 1, 1, 13, 0, 5)],
            id="second-and-minute",
        ),
    ],
)
def test_six_field_expressions_have_seconds_first(
    expression: str, expected: list[datetime]
) -> None:
    assert fires(expression) == expected


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        pytest.param("@yearly", utc(2025, 1, 1), id="yearly"),
        pytest.param("@annually", utc(2025, 1, 1), id="annually"),
        pytest.param("@monthly", utc(2024, 2, 1), id="monthly"),
        pytest.param("@weekly", utc(2024, 1, 7), id="weekly"),
        pytest.param("@daily", utc(2024, 1, 2), id="daily"),
        pytest.param("@midnight", utc(2024, 1, 2), id="midnight"),
        pytest.param("@hourly", utc(2024, 1, 1, 13), id="hourly"),
        pytest.param("@HOURLY", utc(2024, 1, 1, 13), id="any-case"),
    ],
)
def test_aliases(alias: str, expected: datetime) -> None:
    assert fires(alias, k=1) == [expected]


def test_a_matching_now_is_not_the_first_firing() -> None:
    assert fires("0 12 * * *", k=1) == [utc(2024, 1, 2, 12)]
    assert fires("0 12 * * *", after=NOW - timedelta(microseconds=1), k=1) == [NOW]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        pytest.param("61 * * * *", "minute field value '61' out of range 0-59", id="minute"),
        pytest.param("* 24 * * *", "hour field value '24' out of range 0-23", id="hour"),
        pytest.param("* * 0 * *", "day-of-month field value '0' out of range 1-31", id="dom-0"),
        pytest.param("* * 32 * *", "day-of-month field value '32' out of range 1-31", id="dom"),
        pytest.param("* * * 13 *", "month field value '13' out of range 1-12", id="month"),
        pytest.param("* * * * 8", "day-of-week field value '8' out of range 0-7", id="dow"),
        pytest.param("60 * * * * *", "second field value '60' out of range 0-59", id="second"),
        pytest.param("1-70 * * * *", "minute field value '70' out of range 0-59", id="range-end"),
        pytest.param(
            "* * * foo *",
            r"month field value 'foo' is not a number or a name \(jan-dec\)",
            id="month-name",
        ),
        pytest.param(
            "* * * * monday",
            r"day-of-week field value 'monday' is not a number or a name \(sun-sat\)",
            id="weekday-name",
        ),
        pytest.param("* mon * * *", "hour field value 'mon' is not a number", id="name-in-hour"),
        pytest.param("* * * mon *", "month field value 'mon' is not", id="weekday-as-month"),
        pytest.param("*/0 * * * *", "minute field step '0' out of range 1-60", id="step-0"),
        pytest.param("* */25 * * *", "hour field step '25' out of range 1-24", id="step-big"),
        pytest.param("* * * * */8", "day-of-week field step '8' out of range 1-7", id="dow-step"),
        pytest.param(
            "0 0 * * 7/2", "day-of-week field step '7/2' starts at 7 .*: write 0/2", id="7/2"
        ),
        pytest.param(
            "0 0 * * 5,7/1", "day-of-week field step '7/1' starts at 7 .*: write 0/1", id="5,7/1"
        ),
        pytest.param("0 0 * * 6-5/1", "day-of-week field range '6-5' is backwards", id="back"),
        pytest.param("*/x * * * *", "minute field step 'x' is not a number", id="step-nan"),
        pytest.param("30-10 * * * *", "minute field range '30-10' is backwards", id="backwards"),
        pytest.param(
            "* * * * fri-mon", "day-of-week field range 'fri-mon' is backwards", id="wrapping-range"
        ),
        pytest.param("-5 * * * *", "minute field range '-5' is incomplete", id="negative"),
        pytest.param("1,,2 * * * *", "minute field has an empty item in '1,,2'", id="empty-item"),
        pytest.param("* * L-31 * *", "day-of-month field 'L-31': L-n needs n in 0-30", id="L-31"),
        pytest.param("* * 5L * *", "day-of-month field has an unknown special '5L'", id="5L-dom"),
        pytest.param("* * 0W * *", "day-of-month field '0W': nW needs a day in 1-31", id="0W"),
        pytest.param("* * * * 1#6", "day-of-week field '1#6': d#n needs n in 1-5", id="nth-6"),
        pytest.param("* * * * 9#2", "day-of-week field value '9' out of range 0-7", id="nth-bad"),
        pytest.param("* * * * 1#x", "day-of-week field has a bad special '1#x'", id="nth-x"),
        pytest.param("H * * * *", "minute field value 'H' is not a number", id="hash"),
        pytest.param("? * * * *", "minute field value '\\?' is not a number", id="question-mark"),
        pytest.param("\u0661 * * * *", "minute field value '\u0661' is not", id="arabic-digit"),
        pytest.param("* * * *", "expected 5 fields .* got 4", id="four-fields"),
        pytest.param("* * * * * * *", "expected 5 fields .* got 7", id="seven-fields"),
        pytest.param("", "expected 5 fields .* got 0", id="empty"),
        pytest.param("@reboot", "unknown alias '@reboot' \\(known: @yearly", id="reboot"),
        pytest.param("0 0 30 2 *", "day-of-month 30 never occurs in month 2", id="feb-30"),
        pytest.param(
            "0 0 31 4,jun *", "day-of-month 31 never occurs in month 4,6", id="31-in-short-months"
        ),
        pytest.param(
            "0 0 30 2 */7", "day-of-month 30 never occurs in month 2", id="impossible-with-and"
        ),
    ],
)
def test_bad_expressions_are_rejected_naming_field_and_value(expression: str, problem: str) -> None:
    prefix = re.escape(f"invalid cron expression '{expression}': ")
    with pytest.raises(InvalidTrigger, match=prefix + problem):
        Cron(expression)


def test_impossible_day_is_fine_when_day_of_week_can_match() -> None:
    # Classic OR rule: "the 30th of February, or any Monday in February".
    assert fires("0 0 30 2 mon", k=1) == [utc(2024, 2, 5)]


@pytest.mark.parametrize("expression", [None, 5, b"* * * * *", ["*"] * 5])
def test_expression_must_be_a_string(expression: Any) -> None:
    with pytest.raises(InvalidTrigger, match="cron expression must be a str, got"):
        Cron(expression)


# -- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        pytest.param("Europe/Berlin", BERLIN, id="key"),
        pytest.param(BERLIN, BERLIN, id="zoneinfo"),
        pytest.param(UTC, UTC, id="utc"),
        pytest.param(timezone(timedelta(hours=-3)), timezone(timedelta(hours=-3)), id="offset"),
    ],
)
def test_timezone_is_resolved(zone: str | tzinfo, expected: tzinfo) -> None:
    assert Cron("0 9 * * *", timezone=zone).timezone == expected


def test_times_are_wall_clock_in_the_zone() -> None:
    assert fires("0 9 * * *", timezone="Europe/Berlin", k=2) == [
        utc(2024, 1, 2, 8),
        utc(2024, 1, 3, 8),
    ]
    summer = utc(2024, 7, 1)
    assert fires("0 9 * * *", after=summer, timezone="Europe/Berlin", k=1) == [utc(2024, 7, 1, 7)]


class _PytzLike(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "LMT"

    def localize(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=self)


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        pytest.param("Mars/Olympus_Mons", "unknown timezone 'Mars/Olympus_Mons'", id="unknown"),
        pytest.param("../../etc/passwd", "unknown timezone '../../etc/passwd'", id="path"),
        pytest.param("", "unknown timezone ''", id="empty"),
        pytest.param(5, "timezone must be an IANA key string or a tzinfo, got 5", id="number"),
        pytest.param(_PytzLike(), "pytz time zones are not supported", id="pytz"),
        pytest.param(_NoOffset(), "returns no UTC offset", id="no-offset"),
    ],
)
def test_bad_timezone_is_rejected(zone: Any, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Cron("0 9 * * *", timezone=zone)


def test_bind_fills_a_missing_zone_with_the_scheduler_zone() -> None:
    trigger = Cron("0 9 * * *")
    bound = trigger.bind(BERLIN)
    assert bound.timezone == BERLIN
    assert bound.expression == trigger.expression
    assert bound.preview(1, after=NOW) == [utc(2024, 1, 2, 8)]


def test_bind_without_any_zone_means_utc() -> None:
    bound = Cron("0 9 * * *").bind(None)
    assert bound.timezone == ZoneInfo("UTC")
    assert bound.preview(1, after=NOW) == [utc(2024, 1, 2, 9)]


def test_bind_keeps_an_explicit_zone() -> None:
    trigger = Cron("0 9 * * *", timezone="America/New_York")
    assert trigger.bind(BERLIN) is trigger


def test_bind_rejects_an_unusable_scheduler_zone() -> None:
    with pytest.raises(InvalidTrigger, match="pytz"):
        Cron("0 9 * * *").bind(_PytzLike())


def test_an_unbound_cron_without_zone_computes_in_utc() -> None:
    assert fires("0 9 * * *", k=1) == [utc(2024, 1, 2, 9)]


# -- bounds, jitter, skip-ahead ----------------------------------------------------------------


def test_start_at_delays_the_first_firing_and_is_inclusive() -> None:
    start = utc(2024, 1, 10, 9)
    assert fires("0 9 * * *", start_at=start, k=2) == [utc(2024, 1, 10, 9), utc(2024, 1, 11, 9)]


def test_start_at_in_the_past_changes_nothing() -> None:
    assert fires("0 9 * * *", start_at=utc(2020, 1, 1), k=1) == [utc(2024, 1, 2, 9)]


def test_end_at_is_inclusive_and_final() -> None:
    trigger = Cron("0 9 * * *", end_at=utc(2024, 1, 3, 9))
    assert trigger.preview(5, after=NOW) == [utc(2024, 1, 2, 9), utc(2024, 1, 3, 9)]
    assert trigger.next_after(utc(2024, 1, 3, 9)) is None


def test_naive_bounds_are_read_in_the_cron_zone() -> None:
    trigger = Cron("0 * * * *", timezone="Europe/Berlin", start_at=datetime(2024, 7, 1, 9))
    assert trigger.start_at == utc(2024, 7, 1, 7)
    assert trigger.preview(1, after=NOW) == [utc(2024, 7, 1, 7)]


def test_naive_bounds_of_an_unzoned_cron_wait_for_bind() -> None:
    trigger = Cron("0 * * * *", start_at=datetime(2024, 7, 1, 9), end_at=datetime(2024, 7, 1, 11))
    assert trigger.start_at == datetime(2024, 7, 1, 9)
    assert trigger.preview(5, after=NOW) == [utc(2024, 7, 1, h) for h in (9, 10, 11)]
    bound = trigger.bind(BERLIN)
    assert bound.start_at == utc(2024, 7, 1, 7)
    assert bound.end_at == utc(2024, 7, 1, 9)
    assert bound.preview(5, after=NOW) == [utc(2024, 7, 1, h) for h in (7, 8, 9)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"start_at": utc(2024, 2, 1), "end_at": utc(2024, 1, 1)},
            "must be after start_at",
            id="end-before-start",
        ),
        pytest.param({"start_at": "tomorrow"}, "start_at must be a datetime", id="start-type"),
        pytest.param({"end_at": 3}, "end_at must be a datetime", id="end-type"),
        pytest.param({"jitter": -1}, "jitter must be a finite number", id="negative-jitter"),
        pytest.param({"jitter": "1"}, "jitter must be None or a number", id="jitter-type"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Cron("0 9 * * *", **kwargs)


def test_bind_checks_the_order_of_mixed_bounds() -> None:
    trigger = Cron("0 9 * * *", start_at=utc(2024, 7, 1, 12), end_at=datetime(2024, 7, 1, 13))
    with pytest.raises(InvalidTrigger, match="must be after start_at"):
        trigger.bind(BERLIN)


def test_jitter_is_seconds() -> None:
    assert Cron("0 9 * * *", jitter=timedelta(minutes=1)).jitter == 60.0
    assert Cron("0 9 * * *").jitter is None


@pytest.mark.parametrize(
    ("prev", "now", "expected"),
    [
        pytest.param(utc(2024, 1, 1, 9), None, utc(2024, 1, 2, 9), id="plain"),
        pytest.param(utc(2024, 1, 1, 9), utc(2024, 1, 1, 8), utc(2024, 1, 2, 9), id="now-earlier"),
        pytest.param(utc(2024, 1, 1, 9), utc(2024, 3, 5, 10), utc(2024, 3, 6, 9), id="skip-ahead"),
        pytest.param(
            utc(2024, 1, 1, 9), utc(2024, 3, 6, 9), utc(2024, 3, 7, 9), id="now-on-a-firing"
        ),
        pytest.param(utc(2024, 1, 1, 9, 0, 0, 1), None, utc(2024, 1, 2, 9), id="prev-off-the-grid"),
    ],
)
def test_next_after(prev: datetime, now: datetime | None, expected: datetime) -> None:
    assert Cron("0 9 * * *").next_after(prev, now) == expected


def test_no_firing_past_year_9999_is_none() -> None:
    assert Cron("0 0 1 1 *").next_after(utc(9999, 6, 1)) is None
    assert Cron("0 0 1 1 *", timezone="America/New_York").next_after(utc(9999, 6, 1)) is None
    late = Cron("0 23 31 12 *", timezone="America/New_York")  # 9999-12-31 23:00 is past max
    assert late.next_after(utc(9999, 6, 1)) is None
    east = Cron("* * * * *", timezone="Pacific/Kiritimati")  # UTC+14: local time is year 10000
    assert east.next_after(datetime.max.replace(tzinfo=UTC) - timedelta(minutes=1)) is None
    assert east.count_between(utc(9999, 12, 31, 23), datetime.max.replace(tzinfo=UTC)) == 0
    last_day = Cron("0 * * * *").latest_at_or_before(
        utc(9999, 12, 31), datetime.max.replace(tzinfo=UTC)
    )
    assert last_day == (utc(9999, 12, 31, 23), 23)


def test_count_between_and_latest() -> None:
    trigger = Cron("*/10 * * * *")
    assert trigger.count_between(NOW, utc(2024, 1, 1, 13)) == 6
    assert trigger.latest_at_or_before(NOW, utc(2024, 1, 1, 12, 35)) == (
        utc(2024, 1, 1, 12, 30),
        3,
    )


# -- the rest ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(
            Cron("0 9 * * mon-fri", timezone="Europe/Berlin"),
            "at 09:00 on Monday through Friday (Europe/Berlin)",
            id="zone",
        ),
        pytest.param(Cron("@daily"), "at 00:00", id="unbound"),
        pytest.param(Cron("@daily").bind(None), "at 00:00 (UTC)", id="bound-utc"),
        pytest.param(
            Cron("@daily", timezone=timezone(timedelta(hours=2))),
            "at 00:00 (UTC+02:00)",
            id="fixed-offset",
        ),
        pytest.param(
            Cron("30 2 * * *", dst_gap="shift", dst_repeat="both"),
            "at 02:30, dst_gap=shift, dst_repeat=both",
            id="policies",
        ),
        pytest.param(Cron("*/15 * * * *"), "every 15 minutes", id="step"),
        pytest.param(Cron("* * * * *"), "every minute", id="every-minute"),
        pytest.param(Cron("*/20 * * * * *"), "every 20 seconds", id="seconds"),
        pytest.param(Cron("0 * * * *"), "at minute 00 of every hour", id="hourly"),
        pytest.param(Cron("5 4 * * sun"), "at 04:05 on Sunday", id="padded"),
        pytest.param(Cron("0 30 9 * * *"), "at 09:30", id="seconds-zero"),
        pytest.param(Cron("7 30 9 * * *"), "at 09:30:07", id="seconds-shown"),
        pytest.param(Cron("0 9,17 * * *"), "at 09:00 and 17:00", id="two-times"),
        pytest.param(
            Cron("*/10 9-17 * * mon-fri"),
            "every 10 minutes from 09:00 through 17:59 on Monday through Friday",
            id="office-hours",
        ),
        pytest.param(Cron("@yearly"), "at 00:00 on day 1 of January", id="yearly"),
        pytest.param(Cron("0 0 L * *"), "at 00:00 on the last day of the month", id="L"),
        pytest.param(
            Cron("0 0 L-3 * *"), "at 00:00 on 3 days before the last day of the month", id="L-3"
        ),
        pytest.param(
            Cron("0 0 15W * *"), "at 00:00 on the weekday nearest day 15 of the month", id="W"
        ),
        pytest.param(Cron("0 0 LW * *"), "at 00:00 on the last weekday of the month", id="LW"),
        pytest.param(Cron("0 0 * * 5L"), "at 00:00 on the last Friday of the month", id="5L"),
        pytest.param(Cron("0 0 * * fri#2"), "at 00:00 on the second Friday of the month", id="nth"),
        pytest.param(Cron("0 0 13 * fri"), "at 00:00 on day 13 of the month or on Friday", id="or"),
        pytest.param(
            Cron("0 12 * jan-mar,dec *"),
            "at 12:00 in January through March and December",
            id="months",
        ),
        pytest.param(
            Cron("0 0 * * 1,3,5"), "at 00:00 on Monday, Wednesday and Friday", id="weekdays"
        ),
        pytest.param(
            Cron("5,35 * 9-17 * * *"),
            "at seconds 05 and 35 of every minute from 09:00 through 17:59",
            id="seconds-list",
        ),
        pytest.param(Cron("15 */10 * * * *"), "at second 15 of every 10th minute", id="sec-min"),
        pytest.param(Cron("* 5 * * * *"), "every second of minute 05", id="sec-all"),
        pytest.param(Cron("* * * * * *"), "every second", id="every-second"),
        pytest.param(Cron("0 */5 9 * * *"), "every 5 minutes during hour 09", id="one-hour"),
        pytest.param(
            Cron("0 9-17/2 * * *"), "at minute 00 during hour 09, 11, 13, 15 and 17", id="hour-list"
        ),
        pytest.param(Cron("*/5 */2 * * *"), "every 5 minutes, every 2nd hour", id="min-hour-step"),
        pytest.param(
            Cron("0 0 */2 * mon"),
            "at 00:00 on every 2nd day of the month if it is a Monday",
            id="and-rule",
        ),
        pytest.param(
            Cron("0 0 1-3,20 * *"), "at 00:00 on days 1-3 and 20 of the month", id="day-ranges"
        ),
        pytest.param(Cron("0 0 * * 1-3"), "at 00:00 on Monday through Wednesday", id="dow-range"),
        pytest.param(Cron("0 0 * * 6,0,1"), "at 00:00 on Monday, Saturday and Sunday", id="wrap"),
        pytest.param(Cron("0 12 * jan,jul *"), "at 12:00 in January and July", id="two-months"),
    ],
)
def test_describe(trigger: Cron, expected: str) -> None:
    assert trigger.describe() == expected


def test_equal_crons_compare_and_hash_equal() -> None:
    first = Cron("0 9 * * *", timezone="Europe/Berlin")
    second = Cron("0 9 * * *", timezone=BERLIN)
    assert first == second
    assert hash(first) == hash(second)
    assert first != Cron("0 9 * * *", timezone="Europe/Paris")
    assert repr(first) == "Cron('0 9 * * *', timezone='Europe/Berlin')  # at 09:00 (Europe/Berlin)"


def test_preview_in_local_time() -> None:
    after = local(BERLIN, 2024, 1, 1, 12)
    shown = [
        t.astimezone(BERLIN) for t in Cron("0 9 * * mon-fri", timezone=BERLIN).preview(2, after)
    ]
    assert shown == [local(BERLIN, 2024, 1, 2, 9), local(BERLIN, 2024, 1, 3, 9)]


# -- counting ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    expression=st.sampled_from(
        [
            "*/7 * * * *",
            "0 9-17 * * mon-fri",
            "30 2 * * *",
            "*/20 1-3 * * *",
            "0 * * * *",
            "15,45 */2 13 * fri",
            "*/10 * 2 * * *",
            "0 0 1 * *",
        ]
    ),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    start=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1)),
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    limit=st.integers(0, 3000),
    bounded=st.booleans(),
)
def test_counting_by_days_agrees_with_walking_every_firing(
    expression: str,
    zone: str,
    start: datetime,
    span: timedelta,
    limit: int,
    bounded: bool,
) -> None:
    begin = start.replace(tzinfo=UTC)
    end_at = begin + span / 2 if bounded else None
    trigger = Cron(expression, timezone=zone, end_at=end_at)
    after = trigger.first_fire(begin)
    assume(after is not None)  # an end_at before the first firing
    assert after is not None
    until = begin + span
    expected = Trigger.latest_at_or_before(trigger, after, until, limit)
    assert trigger.latest_at_or_before(after, until, limit) == expected
    assert trigger.count_between(after, until, limit) == expected[1]


def test_counting_a_week_of_a_per_second_cron_is_fast() -> None:
    trigger = Cron("* * * * * *", timezone="Europe/Berlin")
    after = utc(2024, 3, 25)  # the week of the spring change: one day is walked
    latest, count = trigger.latest_at_or_before(after, utc(2024, 4, 1), limit=10**7)
    assert (latest, count) == (utc(2024, 4, 1), 7 * 86400)


def test_counting_stops_at_the_limit_inside_a_day() -> None:
    trigger = Cron("*/5 * * * * *")
    assert trigger.latest_at_or_before(NOW, utc(2024, 1, 2), limit=10) == (
        utc(2024, 1, 1, 12, 0, 50),
        10,
    )
    assert trigger.latest_at_or_before(NOW, utc(2024, 1, 2), limit=0) == (NOW, 0)
