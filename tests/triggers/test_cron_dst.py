"""Cron across DST transitions: tables for Berlin and New York, then a brute-force oracle.

The rules under test (see the Cron docstring):

* a repeated wall-clock time fires once (first occurrence) with a fixed hour field, twice with
  an hour field of ``*`` or ``*/n``;
* a wall-clock time in a spring-forward gap fires at the end of the gap, once per gap;
* firings are strictly increasing, and next_after(x) is the first firing after any instant x.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioscheduler.triggers import Cron, Trigger
from aioscheduler.triggers._cronspec import parse

from ._util import BERLIN, NEW_YORK, local, utc

# 2024 transitions. Berlin: 31 Mar 02:00 CET -> 03:00 CEST (01:00 UTC); 27 Oct 03:00 CEST ->
# 02:00 CET (01:00 UTC). New York: 10 Mar 02:00 EST -> 03:00 EDT (07:00 UTC); 3 Nov 02:00 EDT
# -> 01:00 EST (06:00 UTC).

BERLIN_SPRING = [
    # (expression, prev, expected)
    pytest.param(
        "30 2 * * *", utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1), id="gap-time-fires-at-gap-end"
    ),
    pytest.param("30 2 * * *", utc(2024, 3, 31, 1), utc(2024, 4, 1, 0, 30), id="day-after-the-gap"),
    pytest.param("0 2 * * *", utc(2024, 3, 30, 1), utc(2024, 3, 31, 1), id="gap-start"),
    pytest.param("0 3 * * *", utc(2024, 3, 30, 2), utc(2024, 3, 31, 1), id="gap-end-is-normal"),
    pytest.param("0 2,3 * * *", utc(2024, 3, 30, 2), utc(2024, 3, 31, 1), id="gap-and-end-once-a"),
    pytest.param("0 2,3 * * *", utc(2024, 3, 31, 1), utc(2024, 4, 1, 0), id="gap-and-end-once-b"),
    pytest.param("* 2 * * *", utc(2024, 3, 31, 0, 59), utc(2024, 3, 31, 1), id="whole-gap-once-a"),
    pytest.param("* 2 * * *", utc(2024, 3, 31, 1), utc(2024, 4, 1, 0), id="whole-gap-once-b"),
    pytest.param("*/15 * * * *", utc(2024, 3, 31, 0, 45), utc(2024, 3, 31, 1), id="wildcard-a"),
    pytest.param("*/15 * * * *", utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 15), id="wildcard-b"),
    pytest.param("0 * * * *", utc(2024, 3, 31, 0), utc(2024, 3, 31, 1), id="hourly-a"),
    pytest.param("0 * * * *", utc(2024, 3, 31, 1), utc(2024, 3, 31, 2), id="hourly-b"),
    pytest.param("*/20 * 2 * * *", utc(2024, 3, 30, 12), utc(2024, 3, 31, 1), id="seconds-gap-a"),
    pytest.param("*/20 * 2 * * *", utc(2024, 3, 31, 1), utc(2024, 4, 1, 0), id="seconds-gap-b"),
]

BERLIN_AUTUMN = [
    pytest.param(
        "30 2 * * *", utc(2024, 10, 26, 12), utc(2024, 10, 27, 0, 30), id="fixed-first-occurrence"
    ),
    pytest.param(
        "30 2 * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30), id="fixed-not-again"
    ),
    pytest.param(
        "30 2 * * *",
        utc(2024, 10, 27, 1, 15),
        utc(2024, 10, 28, 1, 30),
        id="fixed-from-second-pass",
    ),
    pytest.param(
        "*/30 2 * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1), id="fixed-hour-step-minutes"
    ),
    pytest.param("0 * * * *", utc(2024, 10, 27, 0), utc(2024, 10, 27, 1), id="hourly-both-a"),
    pytest.param("0 * * * *", utc(2024, 10, 27, 1), utc(2024, 10, 27, 2), id="hourly-both-b"),
    pytest.param(
        "30 * * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30), id="half-past-again"
    ),
    pytest.param(
        "*/15 * * * *", utc(2024, 10, 27, 0, 45), utc(2024, 10, 27, 1), id="wildcard-second-pass"
    ),
    pytest.param(
        "0 */2 * * *", utc(2024, 10, 27, 0), utc(2024, 10, 27, 1), id="step-hour-is-wildcard"
    ),
    pytest.param("0 3 * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 2), id="after-the-fold"),
    pytest.param(
        "10 0 2 * * *", utc(2024, 10, 27, 0), utc(2024, 10, 27, 0, 0, 10), id="seconds-fixed-a"
    ),
    pytest.param(
        "10 0 2 * * *",
        utc(2024, 10, 27, 0, 0, 10),
        utc(2024, 10, 28, 1, 0, 10),
        id="seconds-fixed-b",
    ),
]

NEW_YORK_SPRING = [
    pytest.param(
        "30 2 * * *", utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7), id="gap-time-fires-at-gap-end"
    ),
    pytest.param(
        "30 2 * * *", utc(2024, 3, 10, 7), utc(2024, 3, 11, 6, 30), id="day-after-the-gap"
    ),
    pytest.param("0 3 * * *", utc(2024, 3, 9, 8), utc(2024, 3, 10, 7), id="gap-end-is-normal"),
    pytest.param("*/10 * * * *", utc(2024, 3, 10, 6, 50), utc(2024, 3, 10, 7), id="wildcard-a"),
    pytest.param("*/10 * * * *", utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 10), id="wildcard-b"),
]

NEW_YORK_AUTUMN = [
    pytest.param(
        "30 1 * * *", utc(2024, 11, 2, 12), utc(2024, 11, 3, 5, 30), id="fixed-first-occurrence"
    ),
    pytest.param(
        "30 1 * * *", utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30), id="fixed-not-again"
    ),
    pytest.param(
        "0 1 * * *", utc(2024, 11, 3, 6), utc(2024, 11, 4, 6), id="fixed-from-fold-instant"
    ),
    pytest.param("0 * * * *", utc(2024, 11, 3, 5), utc(2024, 11, 3, 6), id="hourly-again"),
    pytest.param("0 * * * *", utc(2024, 11, 3, 6), utc(2024, 11, 3, 7), id="hourly-then-on"),
    pytest.param(
        "*/20 * * * *", utc(2024, 11, 3, 5, 40), utc(2024, 11, 3, 6), id="wildcard-restart"
    ),
    pytest.param(
        "*/20 * * * *", utc(2024, 11, 3, 6, 40), utc(2024, 11, 3, 7), id="wildcard-leaves"
    ),
    pytest.param(
        "*/20 * * * *", utc(2024, 11, 3, 5, 50), utc(2024, 11, 3, 6), id="wildcard-off-grid"
    ),
    pytest.param(
        "30 1 7 11 *", utc(2020, 11, 7, 6, 30), utc(2021, 11, 7, 5, 30), id="a-year-apart"
    ),
]


@pytest.mark.parametrize(("expression", "prev", "expected"), BERLIN_SPRING + BERLIN_AUTUMN)
def test_berlin(expression: str, prev: datetime, expected: datetime) -> None:
    assert Cron(expression, timezone=BERLIN).next_after(prev) == expected


@pytest.mark.parametrize(("expression", "prev", "expected"), NEW_YORK_SPRING + NEW_YORK_AUTUMN)
def test_new_york(expression: str, prev: datetime, expected: datetime) -> None:
    assert Cron(expression, timezone=NEW_YORK).next_after(prev) == expected


def test_berlin_spring_day_in_local_time() -> None:
    trigger = Cron("30 2 * * *", timezone="Europe/Berlin")
    shown = [t.astimezone(BERLIN) for t in trigger.preview(3, after=utc(2024, 3, 30, 12))]
    assert shown == [
        local(BERLIN, 2024, 3, 31, 3, 0),  # 02:30 does not exist: fired when the clocks jump
        local(BERLIN, 2024, 4, 1, 2, 30),
        local(BERLIN, 2024, 4, 2, 2, 30),
    ]


def test_new_york_autumn_hourly_in_local_time() -> None:
    trigger = Cron("0 * * * *", timezone="America/New_York")
    shown = [t.astimezone(NEW_YORK) for t in trigger.preview(4, after=utc(2024, 11, 3, 4, 30))]
    assert shown == [
        local(NEW_YORK, 2024, 11, 3, 1),  # EDT
        local(NEW_YORK, 2024, 11, 3, 1, fold=1),  # EST: the hour repeats, so does the job
        local(NEW_YORK, 2024, 11, 3, 2),
        local(NEW_YORK, 2024, 11, 3, 3),
    ]


# -- brute-force oracle ------------------------------------------------------------------------


def _transitions(zone: ZoneInfo, year: int) -> Iterator[datetime]:
    """The instants (whole minutes, UTC) where ``zone`` changes offset during ``year``."""
    t = utc(year, 1, 1)
    while t.year == year:
        if (t + timedelta(hours=1)).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            m = t
            while m.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset():
                m += timedelta(minutes=1)
            yield m
        t += timedelta(hours=1)


@functools.lru_cache
def _changes(zone_key: str, year: int) -> tuple[datetime, ...]:
    return tuple(_transitions(ZoneInfo(zone_key), year))


_parse = functools.lru_cache(parse)


def _is_firing(expression: str, zone: ZoneInfo, t: datetime, step: timedelta) -> bool:
    """Decide from first principles whether ``t`` (on a ``step`` grid) is a firing."""
    spec = _parse(expression)
    loc = t.astimezone(zone)
    wall = loc.replace(tzinfo=None)
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    repeated = first.utcoffset() != second.utcoffset()
    if spec.matches(wall) and not (repeated and loc.fold == 1 and not spec.wildcard_hour):
        return True
    jump = loc.utcoffset() - (t - step).astimezone(zone).utcoffset()  # type: ignore[operator]
    if jump > timedelta(0):  # the clocks jumped forward at t: walls [wall - jump, wall) skipped
        skipped = wall - jump
        while skipped < wall:
            if spec.matches(skipped):
                return True
            skipped += step
    return False


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin"]
EXPRESSIONS = [
    "30 2 * * *",
    "30 1 * * *",
    "0 2,3 * * *",
    "* 2 * * *",
    "15,45 1-3 * * *",
    "*/15 * * * *",
    "0 * * * *",
    "*/7 */2 * * *",
    "0,30 * * * *",
    "45 1 * * *",
    "@daily",
]


@pytest.mark.parametrize("zone_key", ZONES)
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_matches_the_oracle_around_every_transition(expression: str, zone_key: str) -> None:
    zone = ZoneInfo(zone_key)
    trigger = Cron(expression, timezone=zone)
    minute = timedelta(minutes=1)
    for change in _changes(zone_key, 2024):
        start, end = change - timedelta(hours=4), change + timedelta(hours=4)
        grid = [start + k * minute for k in range((end - start) // minute + 1)]
        expected = [t for t in grid if _is_firing(expression, zone, t, minute)]
        # The sequence, walked from one firing to the next.
        walked, t = [], trigger.first_fire(start - minute)
        while t is not None and t <= end:
            walked.append(t)
            t = trigger.next_after(t)
        assert walked == expected, (change, expression, zone_key)
        # next_after from any instant, including both passes of a repeated hour.
        for x in grid[::3]:
            for prev in (x, x + timedelta(seconds=17)):
                want = next((t for t in expected if t > prev), None)
                if want is not None:
                    assert trigger.next_after(prev) == want, (prev, expression, zone_key)


@pytest.mark.parametrize("zone_key", ["Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("expression", ["*/20 * 2 * * *", "0 */10 * * * *", "*/30 * * * * *"])
def test_seconds_crons_match_the_oracle(expression: str, zone_key: str) -> None:
    zone = ZoneInfo(zone_key)
    trigger = Cron(expression, timezone=zone)
    second = timedelta(seconds=1)
    for change in _changes(zone_key, 2024):
        start, end = change - timedelta(minutes=70), change + timedelta(minutes=70)
        grid = [start + k * second for k in range((end - start) // second + 1)]
        expected = [t for t in grid if _is_firing(expression, zone, t, second)]
        walked, t = [], trigger.first_fire(start - second)
        while t is not None and t <= end:
            walked.append(t)
            t = trigger.next_after(t)
        assert walked == expected, (change, expression, zone_key)


_minute_sets = st.sets(st.integers(0, 59), min_size=1, max_size=4)
_hour_fields = st.one_of(
    st.just("*"),
    st.integers(1, 6).map(lambda n: f"*/{n}"),
    st.sets(st.integers(0, 23), min_size=1, max_size=4).map(lambda s: ",".join(map(str, s))),
)


@settings(max_examples=100, deadline=None)
@given(
    minutes=_minute_sets,
    hours=_hour_fields,
    zone_key=st.sampled_from([*ZONES, "Australia/Sydney", "America/Santiago"]),
    year=st.integers(2020, 2030),
    which=st.integers(0, 1),
    shift=st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=6)),
)
def test_firings_strictly_increase_and_match_in_local_time(
    minutes: set[int], hours: str, zone_key: str, year: int, which: int, shift: timedelta
) -> None:
    expression = f"{','.join(map(str, sorted(minutes)))} {hours} * * *"
    zone = ZoneInfo(zone_key)
    start = _changes(zone_key, year)[which] + shift  # somewhere around a DST change
    firings = Cron(expression, timezone=zone).preview(40, after=start)
    assert len(firings) == 40
    assert all(a < b for a, b in itertools.pairwise(firings))
    for t in firings:
        assert _is_firing(expression, zone, t, timedelta(minutes=1)), t


@pytest.mark.parametrize("zone_key", ZONES)
@pytest.mark.parametrize(
    "expression", ["30 2 * * *", "*/15 * * * *", "0 1-3 * * *", "* 2 * * *", "*/30 * * * * *"]
)
def test_counting_across_transitions_agrees_with_walking(expression: str, zone_key: str) -> None:
    zone = ZoneInfo(zone_key)
    trigger = Cron(expression, timezone=zone)
    span = timedelta(hours=3 if len(expression.split()) == 6 else 30)  # keep the walk short
    for change in _changes(zone_key, 2024):
        after = trigger.first_fire(change - span)
        assert after is not None
        for until in (change - timedelta(minutes=1), change, change + span):
            for limit in (1, 7, 250, 10**6):
                walked = Trigger.latest_at_or_before(trigger, after, until, limit)
                assert trigger.latest_at_or_before(after, until, limit) == walked, (until, limit)
