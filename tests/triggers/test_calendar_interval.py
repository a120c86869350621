"""CalendarInterval: calendar steps at a wall-clock time, across DST and short months."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import CalendarInterval, Cron, Trigger

from ._util import BERLIN, NEW_YORK, utc


def _local(trigger: CalendarInterval, zone: ZoneInfo, after: datetime, k: int) -> list[str]:
    return [t.astimezone(zone).strftime("%m-%d %H:%M%z") for t in trigger.preview(k, after=after)]


def test_a_daily_interval_keeps_its_wall_clock_time_across_dst() -> None:
    daily = CalendarInterval(days=1, hour=9, timezone=BERLIN, start_at=utc(2026, 3, 27))
    assert _local(daily, BERLIN, utc(2026, 3, 27), 4) == [
        "03-27 09:00+0100",
        "03-28 09:00+0100",
        "03-29 09:00+0200",
        "03-30 09:00+0200",
    ]


def test_months_from_the_31st_clamp_and_return() -> None:
    start = datetime(2026, 1, 31, 12, tzinfo=BERLIN)
    monthly = CalendarInterval(months=1, hour=12, timezone=BERLIN, start_at=start)
    days = [t.astimezone(BERLIN).date() for t in monthly.preview(5, after=start - timedelta(1))]
    assert days == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_a_yearly_interval_from_a_leap_day() -> None:
    start = utc(2024, 2, 29)
    yearly = CalendarInterval(years=1, start_at=start)
    days = [t.date() for t in yearly.preview(5, after=start - timedelta(1))]
    assert days == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
                    date(2028, 2, 29)]  # fmt: skip


def test_weeks_and_days_add_up() -> None:
    start = utc(2026, 3, 2, 7, 30)  # a Monday
    trigger = CalendarInterval(weeks=1, days=2, hour=7, minute=30, start_at=start)
    days = [t.date() for t in trigger.preview(3, after=start - timedelta(1))]
    assert days == [date(2026, 3, 2), date(2026, 3, 11), date(2026, 3, 20)]


def test_the_first_firing_is_not_before_start_at_nor_at_or_before_now() -> None:
    trigger = CalendarInterval(days=1, hour=9, start_at=utc(2026, 3, 2, 10))
    assert trigger.first_fire(utc(2026, 3, 1)) == utc(2026, 3, 3, 9)  # 2 March 09:00 < start
    assert trigger.first_fire(utc(2026, 3, 5, 9)) == utc(2026, 3, 6, 9)  # past start: after now
    assert trigger.next_after(utc(2026, 3, 3, 9), utc(2026, 3, 10, 12)) == utc(2026, 3, 11, 9)


def test_without_start_at_the_job_is_anchored_when_added() -> None:
    declared = CalendarInterval(months=1, hour=6)
    trigger = declared.anchor(utc(2026, 1, 31, 12)).bind(None)
    assert trigger.anchored_at == utc(2026, 1, 31, 12) and trigger.start_at is None
    days = [t.date() for t in trigger.preview(3, after=utc(2026, 1, 31, 12))]
    assert days == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    # the anchor is stored, but a re-declared job still equals the stored one
    back = Trigger.from_dict(trigger.to_dict())
    assert isinstance(back, CalendarInterval) and back.anchored_at == trigger.anchored_at
    assert back == declared.bind(None)
    assert back.anchor(utc(2027, 1, 1)) is back  # anchored once


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        ("cronie", ["03-28 02:30+0100", "03-29 03:00+0200", "03-30 02:30+0200"]),
        ("shift", ["03-28 02:30+0100", "03-29 03:30+0200", "03-30 02:30+0200"]),
        ("skip", ["03-28 02:30+0100", "03-30 02:30+0200", "03-31 02:30+0200"]),
    ],
)
def test_gap_policies(gap: str, expected: list[str]) -> None:
    trigger = CalendarInterval(
        days=1,
        hour=2,
        minute=30,
        timezone=BERLIN,
        start_at=utc(2026, 3, 1),
        dst_gap=gap,  # type: ignore[arg-type]
    )
    assert _local(trigger, BERLIN, utc(2026, 3, 27, 12), 3) == expected


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        ("cronie", ["11-01 01:30-0400", "11-02 01:30-0500"]),
        ("first", ["11-01 01:30-0400", "11-02 01:30-0500"]),
        ("last", ["11-01 01:30-0500", "11-02 01:30-0500"]),
        ("both", ["11-01 01:30-0400", "11-01 01:30-0500"]),
    ],
)
def test_repeat_policies(repeat: str, expected: list[str]) -> None:
    trigger = CalendarInterval(
        days=1, hour=1, minute=30, timezone=NEW_YORK, start_at=utc(2026, 10, 1),
        dst_repeat=repeat,  # type: ignore[arg-type]
    )  # fmt: skip
    assert _local(trigger, NEW_YORK, utc(2026, 10, 31, 12), 2) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a step"),
        ({"days": -1}, "days must be an int >= 0, got -1"),
        ({"months": 1.5}, "months must be an int >= 0, got 1.5"),
        ({"days": True}, "days must be an int >= 0, got True"),
        ({"days": 1, "hour": 24}, "hour must be an int in 0-23, got 24"),
        ({"days": 1, "second": 60}, "second must be an int in 0-59, got 60"),
        (
            {"days": 1, "dst_gap": "later"},
            "dst_gap must be one of cronie, shift, skip; got 'later'",
        ),
        ({"days": 1, "dst_repeat": 2}, "dst_repeat must be one of"),
        ({"days": 1, "timezone": "Mars/Base"}, "unknown timezone 'Mars/Base'"),
        ({"days": 1, "start_at": utc(2026, 2, 1), "end_at": utc(2026, 1, 1)}, "end_at"),
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        CalendarInterval(**kwargs)  # type: ignore[arg-type]


def test_end_at_ends_the_sequence() -> None:
    trigger = CalendarInterval(days=1, start_at=utc(2026, 1, 1), end_at=utc(2026, 1, 3))
    assert trigger.preview(5, after=utc(2025, 12, 31)) == [
        utc(2026, 1, 1),
        utc(2026, 1, 2),
        utc(2026, 1, 3),
    ]


def test_describe() -> None:
    assert CalendarInterval(days=1, hour=9, timezone=BERLIN).describe() == (
        "every day at 09:00 (Europe/Berlin)"
    )
    assert CalendarInterval(weeks=2, hour=7, minute=30, second=5).describe() == (
        "every 2 weeks at 07:30:05"
    )
    assert CalendarInterval(months=1, days=2).describe() == "every 1 month 2 days at 00:00"


def test_stored_form_round_trips() -> None:
    trigger = CalendarInterval(
        months=3, hour=8, timezone="America/New_York", start_at=utc(2026, 1, 31),
        end_at=utc(2030, 1, 1), jitter=5, dst_gap="skip", dst_repeat="both",
    )  # fmt: skip
    data = trigger.to_dict()
    assert data["kind"] == "calendar_interval" and data["version"] == 1
    assert Trigger.from_dict(data) == trigger


def _brute(trigger: CalendarInterval, start: datetime, after: datetime) -> datetime | None:
    """The first element > after, by walking every step from the anchor."""
    zone = trigger.timezone
    assert zone is not None
    anchor, k = start.astimezone(zone).date(), 0
    while True:
        day = trigger._element(anchor, k)
        assert day is not None
        wall = datetime(day.year, day.month, day.day, trigger.hour, trigger.minute)
        t = wall.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
        if t > after and t >= start:
            return t
        k += 1


@settings(max_examples=200, deadline=None)
@given(
    months=st.integers(0, 14),
    days=st.integers(0, 40),
    hour=st.integers(0, 23),
    start_offset=st.integers(0, 3000),
    probe=st.integers(0, 6000),
)
def test_next_after_from_any_instant_matches_stepping(
    months: int, days: int, hour: int, start_offset: int, probe: int
) -> None:
    if not months and not days:
        days = 1
    start = utc(2020, 1, 1) + timedelta(days=start_offset)
    trigger = CalendarInterval(months=months, days=days, hour=hour, minute=15, timezone="UTC",
                               start_at=start)  # fmt: skip
    x = start + timedelta(days=probe, hours=probe % 24)
    assert trigger.next_after(x) == _brute(trigger, start, x)


async def test_the_scheduler_anchors_a_job_when_it_is_added(running: Any, clock: Any) -> None:
    from aioscheduler import AnyOf, Every

    await clock.advance(3600 * 30)  # 2026-03-03 18:00 UTC
    job = await running.add(lambda: None, CalendarInterval(days=2, hour=8), id="c")
    assert job.trigger.anchored_at == clock.now()
    assert job.next_run_at == utc(2026, 3, 5, 8)  # day 0 is the 3rd: 08:00 has passed
    mixed = await running.add(lambda: None, AnyOf(Every(7200), Cron("0 20 * * *")), id="m")
    assert mixed.trigger.anchored_at == clock.now()
    assert mixed.next_run_at == utc(2026, 3, 3, 20)
    await clock.advance(7200 * 2)
    history = (await running.get("m")).history
    assert [r.scheduled_at for r in history] == [utc(2026, 3, 3, 20), utc(2026, 3, 3, 22)]
