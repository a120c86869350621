"""Every: elapsed-time intervals, start/end bounds, skip-ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import Every

from ._util import BERLIN, local, utc

NOW = utc(2024, 1, 1, 12, 0)


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        pytest.param((5,), {}, timedelta(seconds=5), id="int-seconds"),
        pytest.param((0.25,), {}, timedelta(milliseconds=250), id="float-seconds"),
        pytest.param((timedelta(hours=2),), {}, timedelta(hours=2), id="timedelta"),
        pytest.param((), {"minutes": 5}, timedelta(minutes=5), id="minutes"),
        pytest.param((), {"hours": 1, "minutes": 30}, timedelta(minutes=90), id="hours+minutes"),
        pytest.param((), {"weeks": 1, "days": 1}, timedelta(days=8), id="weeks+days"),
        pytest.param((), {"milliseconds": 1.5}, timedelta(microseconds=1500), id="milliseconds"),
        pytest.param((), {"seconds": 0.000001}, timedelta(microseconds=1), id="one-microsecond"),
        pytest.param((5,), {"minutes": 0}, timedelta(seconds=5), id="zero-unit-alongside"),
    ],
)
def test_interval_is_normalised_to_a_timedelta(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: timedelta
) -> None:
    assert Every(*args, **kwargs).interval == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        pytest.param((), {}, r"got 0: weeks, days, hours, minutes, seconds and", id="nothing"),
        pytest.param((), {"seconds": 0}, r"got 0: .*e\.g\. Every\(seconds=30\)", id="zero"),
        pytest.param((0,), {}, r"interval must be positive .*got 0", id="zero"),
        pytest.param((-1,), {}, r"interval must be positive .*got -1", id="negative"),
        pytest.param((timedelta(0),), {}, r"got datetime\.timedelta\(0\)", id="zero-timedelta"),
        pytest.param((timedelta(seconds=-5),), {}, r"must be positive", id="negative-timedelta"),
        pytest.param((1e-9,), {}, r"got 1e-09", id="rounds-to-zero"),
        pytest.param((float("nan"),), {}, r"interval must be finite, got nan", id="nan"),
        pytest.param((float("inf"),), {}, r"interval must be finite, got inf", id="inf"),
        pytest.param((1e20,), {}, r"interval is too large: 1e\+20", id="overflow"),
        pytest.param(("5",), {}, r"interval must be a number .* got '5'", id="string"),
        pytest.param((True,), {}, r"interval must be a number .* got True", id="bool"),
        pytest.param((5,), {"minutes": 1}, r"either positionally \(5\) .*minutes=1", id="both"),
        pytest.param((), {"minutes": -1}, r"minutes must be .* >= 0, got -1", id="negative-unit"),
        pytest.param((), {"hours": "1"}, r"hours must be a number, got '1'", id="string-unit"),
        pytest.param((), {"days": float("inf")}, r"days must be a finite", id="inf-unit"),
        pytest.param((), {"weeks": 1e12}, r"interval is too large", id="overflow-units"),
        pytest.param((), {"seconds": False}, r"seconds must be a number", id="bool-unit"),
    ],
)
def test_bad_interval_is_rejected(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Every(*args, **kwargs)


@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param(0, 0.0, id="zero"),
        pytest.param(2, 2.0, id="int"),
        pytest.param(0.5, 0.5, id="float"),
        pytest.param(timedelta(seconds=3), 3.0, id="timedelta"),
    ],
)
def test_jitter_is_seconds(jitter: Any, expected: float | None) -> None:
    assert Every(60, jitter=jitter).jitter == expected


@pytest.mark.parametrize(
    "jitter",
    [
        pytest.param(-1, id="negative"),
        pytest.param(timedelta(seconds=-1), id="negative-timedelta"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param("1", id="string"),
        pytest.param(True, id="bool"),
    ],
)
def test_bad_jitter_is_rejected(jitter: Any) -> None:
    with pytest.raises(InvalidTrigger, match="jitter must be"):
        Every(60, jitter=jitter)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"start_at": "2024-01-01"}, "start_at must be a datetime", id="start-str"),
        pytest.param({"end_at": 1700000000}, "end_at must be a datetime", id="end-number"),
        pytest.param(
            {"start_at": utc(2024, 1, 2), "end_at": utc(2024, 1, 1)},
            r"end_at 2024-01-01T00:00:00\+00:00 must be after start_at",
            id="end-before-start",
        ),
        pytest.param(
            {"start_at": utc(2024, 1, 1), "end_at": utc(2024, 1, 1)},
            "must be after start_at",
            id="end-equals-start",
        ),
        pytest.param(
            {"start_at": datetime(2024, 1, 2), "end_at": datetime(2024, 1, 1)},
            "must be after start_at",
            id="naive-end-before-start",
        ),
    ],
)
def test_bad_bounds_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Every(60, **kwargs)


def test_aware_bounds_are_kept_in_utc() -> None:
    trigger = Every(60, start_at=local(BERLIN, 2024, 1, 1, 9))
    assert trigger.start_at == utc(2024, 1, 1, 8)
    assert trigger.start_at.tzinfo is UTC


# -- first firing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(Every(minutes=5), utc(2024, 1, 1, 12, 5), id="one-interval-after-now"),
        pytest.param(
            Every(minutes=5, start_at=utc(2024, 1, 1, 13)), utc(2024, 1, 1, 13), id="start-ahead"
        ),
        pytest.param(Every(minutes=5, start_at=NOW), NOW, id="start-is-now"),
        pytest.param(
            Every(minutes=5, start_at=utc(2024, 1, 1, 11, 58)),
            utc(2024, 1, 1, 12, 3),
            id="start-past-next-grid-point",
        ),
        pytest.param(
            Every(minutes=5, start_at=utc(2024, 1, 1, 11, 55)),
            NOW,
            id="start-past-grid-point-is-now",
        ),
        pytest.param(
            Every(hours=1, start_at=utc(2020, 1, 1, 0, 30)),
            utc(2024, 1, 1, 12, 30),
            id="start-years-ago-no-burst",
        ),
        pytest.param(Every(minutes=5, end_at=utc(2024, 1, 1, 12, 4)), None, id="end-before-first"),
        pytest.param(
            Every(minutes=5, end_at=utc(2024, 1, 1, 12, 5)), utc(2024, 1, 1, 12, 5), id="end-on-it"
        ),
        pytest.param(
            Every(minutes=5, start_at=utc(2024, 1, 1, 11, 58), end_at=utc(2024, 1, 1, 12, 2)),
            None,
            id="window-already-over",
        ),
    ],
)
def test_first_fire(trigger: Every, expected: datetime | None) -> None:
    assert trigger.first_fire(NOW) == expected


def test_first_fire_near_the_end_of_time_is_none() -> None:
    assert Every(days=2).first_fire(datetime.max.replace(tzinfo=UTC)) is None


# -- next firing -------------------------------------------------------------------------------

FIVE = Every(minutes=5)


@pytest.mark.parametrize(
    ("prev", "now", "expected"),
    [
        pytest.param(NOW, None, utc(2024, 1, 1, 12, 5), id="plain"),
        pytest.param(NOW, NOW, utc(2024, 1, 1, 12, 5), id="now-equals-prev"),
        pytest.param(NOW, utc(2024, 1, 1, 11), utc(2024, 1, 1, 12, 5), id="now-before-prev"),
        pytest.param(NOW, utc(2024, 1, 1, 12, 3), utc(2024, 1, 1, 12, 5), id="now-within-one"),
        pytest.param(NOW, utc(2024, 1, 1, 12, 5), utc(2024, 1, 1, 12, 10), id="now-on-grid"),
        pytest.param(
            NOW, utc(2024, 1, 1, 13, 2, 30), utc(2024, 1, 1, 13, 5), id="skip-ahead-an-hour"
        ),
        pytest.param(NOW, utc(2034, 1, 1, 0, 1), utc(2034, 1, 1, 0, 5), id="skip-ahead-ten-years"),
    ],
)
def test_next_after(prev: datetime, now: datetime | None, expected: datetime) -> None:
    assert FIVE.next_after(prev, now) == expected


def test_next_after_stops_after_end_at() -> None:
    trigger = Every(minutes=5, end_at=utc(2024, 1, 1, 12, 10))
    assert trigger.next_after(utc(2024, 1, 1, 12, 5)) == utc(2024, 1, 1, 12, 10)
    assert trigger.next_after(utc(2024, 1, 1, 12, 10)) is None
    assert trigger.next_after(NOW, utc(2024, 1, 1, 12, 30)) is None


def test_next_after_is_elapsed_time_across_dst() -> None:
    # 24 hours, not "the same wall-clock time tomorrow": Berlin springs forward that night.
    prev = local(BERLIN, 2024, 3, 30, 12).astimezone(UTC)
    nxt = Every(hours=24).next_after(prev)
    assert nxt is not None
    assert nxt.astimezone(BERLIN) == local(BERLIN, 2024, 3, 31, 13)


def test_next_after_near_the_end_of_time_is_none() -> None:
    end = datetime.max.replace(tzinfo=UTC)
    assert FIVE.next_after(end - timedelta(minutes=1)) is None
    assert FIVE.next_after(utc(2024, 1, 1), end - timedelta(minutes=1)) is None


@given(
    interval=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=30)),
    prev=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    lag=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)),
)
def test_skip_ahead_lands_on_the_grid_just_after_now(
    interval: timedelta, prev: datetime, lag: timedelta
) -> None:
    prev = prev.replace(tzinfo=UTC)
    now = prev + lag
    nxt = Every(interval).next_after(prev, now)
    assert nxt is not None
    assert nxt > now
    assert nxt - interval <= now
    assert (nxt - prev) % interval == timedelta(0)


# -- counting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "until", "limit", "expected"),
    [
        pytest.param(FIVE, NOW, 100, 0, id="empty-range"),
        pytest.param(FIVE, utc(2024, 1, 1, 11), 100, 0, id="until-before-after"),
        pytest.param(FIVE, utc(2024, 1, 1, 12, 4), 100, 0, id="less-than-one"),
        pytest.param(FIVE, utc(2024, 1, 1, 12, 5), 100, 1, id="inclusive-end"),
        pytest.param(FIVE, utc(2024, 1, 1, 13), 100, 12, id="an-hour"),
        pytest.param(FIVE, utc(2024, 1, 1, 13), 5, 5, id="limited"),
        pytest.param(FIVE, utc(2124, 1, 1), 10**9, (36524 * 24 - 12) * 12, id="a-century"),
        pytest.param(
            Every(minutes=5, end_at=utc(2024, 1, 1, 12, 20)),
            utc(2024, 1, 1, 13),
            100,
            4,
            id="stops-at-end",
        ),
    ],
)
def test_count_between(trigger: Every, until: datetime, limit: int, expected: int) -> None:
    assert trigger.count_between(NOW, until, limit) == expected


def test_count_between_agrees_with_the_generic_walk() -> None:
    trigger = Every(seconds=7, end_at=utc(2024, 1, 1, 12, 30))
    for minutes in (0, 1, 13, 29, 30, 45):
        until = NOW + timedelta(minutes=minutes)
        generic = super(Every, trigger).count_between(NOW, until)
        assert trigger.count_between(NOW, until) == generic


@pytest.mark.parametrize(
    ("until", "limit", "expected"),
    [
        pytest.param(utc(2024, 1, 1, 11), 100, (NOW, 0), id="nothing-follows"),
        pytest.param(utc(2024, 1, 1, 12, 17), 100, (utc(2024, 1, 1, 12, 15), 3), id="three"),
        pytest.param(utc(2024, 1, 1, 13), 2, (utc(2024, 1, 1, 12, 10), 2), id="limited"),
    ],
)
def test_latest_at_or_before(until: datetime, limit: int, expected: tuple[datetime, int]) -> None:
    assert FIVE.latest_at_or_before(NOW, until, limit) == expected


# -- binding -----------------------------------------------------------------------------------


def test_bind_resolves_naive_bounds_in_the_scheduler_zone() -> None:
    trigger = Every(60, start_at=datetime(2024, 7, 1, 9), end_at=datetime(2024, 7, 2, 9))
    bound = trigger.bind(BERLIN)
    assert bound.start_at == utc(2024, 7, 1, 7)
    assert bound.end_at == utc(2024, 7, 2, 7)
    assert bound.interval == trigger.interval


def test_bind_resolves_a_start_inside_a_dst_gap_to_the_end_of_the_gap() -> None:
    bound = Every(60, start_at=datetime(2024, 3, 31, 2, 30)).bind(BERLIN)
    assert bound.start_at == utc(2024, 3, 31, 1, 0)


def test_bind_resolves_a_repeated_time_to_its_first_occurrence() -> None:
    bound = Every(60, start_at=datetime(2024, 10, 27, 2, 30)).bind(BERLIN)
    assert bound.start_at == utc(2024, 10, 27, 0, 30)


def test_bind_returns_self_when_nothing_is_naive() -> None:
    trigger = Every(60, start_at=NOW)
    assert trigger.bind(BERLIN) is trigger
    assert trigger.bind(None) is trigger


def test_bind_without_a_zone_rejects_naive_bounds() -> None:
    with pytest.raises(InvalidTrigger, match=r"naive datetime .* give the Scheduler a timezone"):
        Every(60, end_at=datetime(2024, 7, 1)).bind(None)


def test_bind_checks_the_order_of_mixed_bounds() -> None:
    trigger = Every(60, start_at=utc(2024, 7, 1, 12), end_at=datetime(2024, 7, 1, 13))
    with pytest.raises(InvalidTrigger, match="must be after start_at"):
        trigger.bind(BERLIN)  # 13:00 in Berlin is 11:00 UTC


def test_unbound_naive_start_cannot_fire() -> None:
    with pytest.raises(InvalidTrigger, match="start_at is a naive datetime"):
        Every(60, start_at=datetime(2024, 7, 1)).first_fire(NOW)
    with pytest.raises(InvalidTrigger, match="end_at is a naive datetime"):
        Every(60, end_at=datetime(2024, 7, 1)).first_fire(NOW)


# -- the rest ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(Every(minutes=5), "every 5 minutes", id="minutes"),
        pytest.param(Every(minutes=90), "every 1 hour 30 minutes", id="hours-minutes"),
        pytest.param(Every(0.25), "every 0.25 seconds", id="fraction"),
        pytest.param(Every(90.5), "every 1 minute 30.5 seconds", id="minutes-fraction"),
        pytest.param(Every(days=1, seconds=1), "every 1 day 1 second", id="days-seconds"),
        pytest.param(Every(weeks=2), "every 14 days", id="weeks"),
        pytest.param(Every(3600), "every 1 hour", id="an-hour"),
    ],
)
def test_describe(trigger: Every, expected: str) -> None:
    assert trigger.describe() == expected


def test_preview_lists_the_next_firings() -> None:
    trigger = Every(minutes=20, start_at=utc(2024, 1, 1, 11, 50))
    assert trigger.preview(3, after=NOW) == [
        utc(2024, 1, 1, 12, 10),
        utc(2024, 1, 1, 12, 30),
        utc(2024, 1, 1, 12, 50),
    ]


def test_preview_stops_at_end_at() -> None:
    trigger = Every(minutes=20, end_at=utc(2024, 1, 1, 12, 45))
    assert trigger.preview(10, after=NOW) == [utc(2024, 1, 1, 12, 20), utc(2024, 1, 1, 12, 40)]


def test_triggers_are_immutable_and_hashable() -> None:
    trigger = Every(minutes=5)
    with pytest.raises(AttributeError):
        trigger.interval = timedelta(1)  # type: ignore[misc]
    assert Every(300) == Every(minutes=5)
    assert hash(Every(300)) == hash(Every(minutes=5))
    assert Every(300) != Every(301)


# -- Every(seconds=x): the fast path of __init__ builds what the checked way does -------------


@pytest.mark.parametrize("seconds", [1e-6, 0.25, 1.0, 30.0, 3600.0, 86400.5, 1e11])
def test_seconds_alone_builds_the_same_trigger_as_the_checked_way(seconds: float) -> None:
    fast = Every(seconds=seconds)
    checked = Every(seconds=seconds, minutes=0.0)  # a 0.0 unit takes the checked way
    assert fast == checked
    assert fast.interval == timedelta(seconds=seconds)
    assert fast.describe() == checked.describe()


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"seconds": 1e-7}, "{'seconds': 1e-07}"),
        ({"seconds": -1.0}, "-1.0"),
        ({"seconds": float("nan")}, "nan"),
        ({"seconds": float("inf")}, "inf"),
        ({"seconds": 2.0, "weeks": ""}, "''"),
        ({"seconds": 2.0, "days": False}, "False"),
    ],
)
def test_seconds_alone_still_rejects_what_the_checked_way_rejects(
    kwargs: dict[str, Any], shown: str
) -> None:
    with pytest.raises(InvalidTrigger) as info:
        Every(**kwargs)
    assert shown in str(info.value)
