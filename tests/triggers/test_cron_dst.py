"""Cron across DST changes, checked against independent models of cronie (see cronie_model).

The rules (cronie's, the default ``dst_gap="cronie"``, ``dst_repeat="cronie"``):

* a *wildcard* job (minute or hour field starting with ``*``) follows elapsed time: a wall
  time inside a forward gap has no firing, and a repeated wall time fires in both passes;
* a *fixed-time* job due inside a gap runs once, at the jump; a repeated time fires once,
  at its first occurrence.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aioscheduler import Scheduler
from aioscheduler.triggers import Cron, Trigger

from ._util import BERLIN, NEW_YORK, local, utc
from .cronie_model import policy_firings, simulate_cronie, transitions

LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
CHATHAM = ZoneInfo("Pacific/Chatham")


def _walk(trigger: Cron, start: datetime, end: datetime) -> list[datetime]:
    out, t = [], trigger.first_fire(start)
    while t is not None and t <= end:
        out.append(t)
        t = trigger.next_after(t)
    return out


def _local(trigger: Cron, zone: ZoneInfo, after: datetime, k: int) -> list[str]:
    return [t.astimezone(zone).strftime("%H:%M:%S%z") for t in trigger.preview(k, after=after)]


# -- the cases of issue 13, as the classes they stand for ---------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(
            "30 * * * *",
            ["00:30:00+0100", "01:30:00+0100", "03:30:00+0200"],
            id="minute-fixed-hour-star",
        ),
        pytest.param("0 */2 * * *", ["00:00:00+0100", "04:00:00+0200"], id="hour-step"),
        pytest.param("* 2 * * *", [], id="minute-star-fixed-hour-not-run"),
        pytest.param("*/15 2 * * *", [], id="minute-step-fixed-hour-not-run"),
        pytest.param("30 2 * * *", ["03:00:00+0200"], id="fixed-caught-up-at-the-jump"),
        pytest.param("0 2,3 * * *", ["03:00:00+0200"], id="fixed-twice-folds-into-one"),
    ],
)
def test_berlin_spring_forward_night(expression: str, expected: list[str]) -> None:
    trigger = Cron(expression, timezone=BERLIN)
    night = _walk(trigger, utc(2026, 3, 28, 22, 59), utc(2026, 3, 29, 2))  # 23:59 to 04:00
    assert [t.astimezone(BERLIN).strftime("%H:%M:%S%z") for t in night] == expected


def test_seconds_field_is_not_moved_to_the_jump() -> None:
    trigger = Cron("1 * * * * *", timezone=BERLIN)
    assert _local(trigger, BERLIN, local(BERLIN, 2026, 3, 29, 1, 59), 2) == [
        "01:59:01+0100",
        "03:00:01+0200",
    ]


def test_hourly_skips_the_half_hour_gap_of_lord_howe() -> None:
    shown = _local(Cron("@hourly", timezone=LORD_HOWE), LORD_HOWE, utc(2026, 10, 3, 14), 2)
    assert shown == ["01:00:00+1030", "03:00:00+1100"]  # 02:00-02:30 does not exist


def test_chatham_45_minute_offsets() -> None:
    shown = _local(Cron("9 * * * *", timezone=CHATHAM), CHATHAM, utc(2026, 9, 26, 13), 2)
    assert shown == ["02:09:00+1245", "04:09:00+1345"]  # 03:09 falls in 02:45 -> 03:45


def test_wildcard_minutes_of_a_fixed_hour_run_in_both_passes() -> None:
    trigger = Cron("*/15 1 * * *", timezone=NEW_YORK)
    night = _walk(trigger, utc(2026, 11, 1, 4), utc(2026, 11, 1, 7))
    assert [t.astimezone(NEW_YORK).strftime("%H:%M%z") for t in night] == [
        "01:00-0400",
        "01:15-0400",
        "01:30-0400",
        "01:45-0400",
        "01:00-0500",
        "01:15-0500",
        "01:30-0500",
        "01:45-0500",
    ]


def test_fixed_job_runs_once_at_fall_back() -> None:
    trigger = Cron("30 1 * * *", timezone=NEW_YORK)
    assert trigger.preview(2, after=utc(2026, 10, 31, 12)) == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, the first pass
        utc(2026, 11, 2, 6, 30),
    ]


# -- the policies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gap", "expected"),
    [("cronie", ["03:00"]), ("shift", ["03:30"]), ("skip", [])],
)
def test_gap_policies(gap: str, expected: list[str]) -> None:
    trigger = Cron("30 2 * * *", timezone=BERLIN, dst_gap=gap)  # type: ignore[arg-type]
    night = _walk(trigger, utc(2026, 3, 28, 22), utc(2026, 3, 29, 4))
    assert [t.astimezone(BERLIN).strftime("%H:%M") for t in night] == expected


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        ("cronie", ["01:30-0400"]),
        ("first", ["01:30-0400"]),
        ("last", ["01:30-0500"]),
        ("both", ["01:30-0400", "01:30-0500"]),
    ],
)
def test_repeat_policies(repeat: str, expected: list[str]) -> None:
    trigger = Cron("30 1 * * *", timezone=NEW_YORK, dst_repeat=repeat)  # type: ignore[arg-type]
    night = _walk(trigger, utc(2026, 11, 1, 3), utc(2026, 11, 1, 8))
    assert [t.astimezone(NEW_YORK).strftime("%H:%M%z") for t in night] == expected


def test_cronie_repeat_for_a_wildcard_job_is_both_but_first_can_be_asked() -> None:
    after, end = utc(2026, 11, 1, 4, 59), utc(2026, 11, 1, 7)
    both = _walk(Cron("0 * * * *", timezone=NEW_YORK), after, end)
    first = _walk(Cron("0 * * * *", timezone=NEW_YORK, dst_repeat="first"), after, end)
    assert len(both) == 3  # 01:00 EDT, 01:00 EST, 02:00 EST
    assert len(first) == 2


# -- property tests against the models ----------------------------------------------------------

ZONES = [
    "Europe/Berlin",  # 1 hour, northern hemisphere
    "America/New_York",
    "Europe/Dublin",  # "negative" DST in the tz database
    "Australia/Sydney",  # southern hemisphere
    "America/Santiago",  # southern hemisphere, changes at 24:00
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # 45-minute offsets, southern hemisphere
    "Antarctica/Troll",  # 2-hour DST
]


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        st.integers(2, 20).map(lambda n: f"*/{n}"),
        value.map(str),
        st.sets(value, min_size=1, max_size=4).map(lambda s: ",".join(map(str, sorted(s)))),
        st.tuples(value, value, st.integers(1, 5)).map(
            lambda t: f"{min(t[:2])}-{max(t[:2])}/{t[2]}"
        ),
    )


_hours = st.one_of(
    _field(0, 23), st.sampled_from(["1,2,3", "2", "1-3", "0-4/2", "23,0,1", "1", "3"])
)
_days = st.sampled_from(["* * *", "* * *", "* * *", "1-15 * *", "* * mon-fri", "13 * fri"])


@st.composite
def _expressions(draw: st.DrawFn) -> str:
    return f"{draw(_field(0, 59))} {draw(_hours)} {draw(_days)}"


def _around(zone_key: str, year: int, which: int) -> datetime:
    changes = transitions(ZoneInfo(zone_key), year)
    return changes[which % len(changes)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=_expressions(),
    zone_key=st.sampled_from(ZONES),
    year=st.integers(2020, 2035),
    which=st.integers(0, 1),
    probes=st.lists(st.integers(0, 6 * 3600 - 1), min_size=1, max_size=5),
)
def test_cron_matches_cronie_minute_by_minute(
    expression: str, zone_key: str, year: int, which: int, probes: list[int]
) -> None:
    zone = ZoneInfo(zone_key)
    change = _around(zone_key, year, which)
    start, end = change - timedelta(hours=3), change + timedelta(hours=3)
    expected = simulate_cronie(expression, zone, start, end)
    trigger = Cron(expression, timezone=zone)
    assert _walk(trigger, start, end) == expected
    assert expected == policy_firings(expression, zone, start, end, "cronie", "cronie")
    for p in probes:  # next_after from any instant, in either pass of a repeated hour
        x = start + timedelta(seconds=p, microseconds=p % 7)
        want = next((t for t in expected if t > x), None)
        if want is not None:
            assert trigger.next_after(x) == want, x


_seconds = st.one_of(st.just("*/20"), st.just("0"), st.just("1"), st.just("15,45"), st.just("*"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    second=_seconds,
    minute=st.sampled_from(["*", "*/10", "0", "30", "59", "0-5"]),
    hour=st.sampled_from(["*", "1", "2", "3", "1-3", "*/2", "0"]),
    zone_key=st.sampled_from(ZONES),
    year=st.integers(2022, 2032),
    which=st.integers(0, 1),
)
def test_seconds_crons_match_cronie_second_by_second(
    second: str, minute: str, hour: str, zone_key: str, year: int, which: int
) -> None:
    expression = f"{second} {minute} {hour} * * *"
    zone = ZoneInfo(zone_key)
    change = _around(zone_key, year, which)
    start, end = change - timedelta(minutes=75), change + timedelta(minutes=135)
    expected = simulate_cronie(expression, zone, start, end)
    assert _walk(Cron(expression, timezone=zone), start, end) == expected


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=_expressions(),
    zone_key=st.sampled_from(ZONES),
    year=st.integers(2020, 2035),
    which=st.integers(0, 1),
    gap=st.sampled_from(["cronie", "shift", "skip"]),
    repeat=st.sampled_from(["cronie", "first", "last", "both"]),
)
def test_every_policy_matches_the_fold_model(
    expression: str, zone_key: str, year: int, which: int, gap: str, repeat: str
) -> None:
    zone = ZoneInfo(zone_key)
    change = _around(zone_key, year, which)
    start, end = change - timedelta(hours=3), change + timedelta(hours=3)
    trigger = Cron(expression, timezone=zone, dst_gap=gap, dst_repeat=repeat)  # type: ignore[arg-type]
    walked = _walk(trigger, start, end)
    assert walked == policy_firings(expression, zone, start, end, gap, repeat)
    assert all(a < b for a, b in itertools.pairwise(walked))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=st.sampled_from(
        ["30 2 * * *", "*/15 * * * *", "0 1-3 * * *", "* 2 * * *", "*/30 * * * * *", "0 */2 * * *"]
    ),
    zone_key=st.sampled_from(ZONES),
    year=st.integers(2022, 2030),
    which=st.integers(0, 1),
    gap=st.sampled_from(["cronie", "shift", "skip"]),
    repeat=st.sampled_from(["cronie", "first", "last", "both"]),
    limit=st.sampled_from([1, 7, 250, 10**6]),
    until_h=st.integers(-2, 30),
)
def test_counting_across_changes_agrees_with_walking(
    expression: str,
    zone_key: str,
    year: int,
    which: int,
    gap: str,
    repeat: str,
    limit: int,
    until_h: int,
) -> None:
    zone = ZoneInfo(zone_key)
    change = _around(zone_key, year, which)
    trigger = Cron(expression, timezone=zone, dst_gap=gap, dst_repeat=repeat)  # type: ignore[arg-type]
    after = trigger.first_fire(change - timedelta(hours=3))
    assert after is not None
    until = change + timedelta(hours=until_h if len(expression.split()) == 5 else until_h / 10)
    walked = Trigger.latest_at_or_before(trigger, after, until, limit)
    assert trigger.latest_at_or_before(after, until, limit) == walked


def test_a_24_hour_jump_catches_nothing_up() -> None:
    apia = ZoneInfo("Pacific/Apia")  # skipped 2011-12-30 entirely (a "large" jump for cronie)
    start, end = utc(2011, 12, 29, 12), utc(2011, 12, 30, 12)
    for expression in ("30 12 * * *", "0 * * * *"):
        expected = simulate_cronie(expression, apia, start, end)
        assert _walk(Cron(expression, timezone=apia), start, end) == expected


async def test_the_cron_decorators_take_the_policies(scheduler: Scheduler) -> None:
    from aioscheduler import cron

    @scheduler.cron("30 2 * * *", timezone=BERLIN, dst_gap="skip", dst_repeat="both", id="a")
    async def a() -> None: ...

    @cron("30 2 * * *", timezone=BERLIN, dst_gap="shift", id="b")
    async def b() -> None: ...

    scheduler.include(b)
    await scheduler.start()
    try:
        jobs = {j.id: j.trigger for j in await scheduler.jobs()}
    finally:
        await scheduler.stop()
    assert isinstance(jobs["a"], Cron) and isinstance(jobs["b"], Cron)
    assert (jobs["a"].dst_gap, jobs["a"].dst_repeat) == ("skip", "both")
    assert (jobs["b"].dst_gap, jobs["b"].dst_repeat) == ("shift", "cronie")
