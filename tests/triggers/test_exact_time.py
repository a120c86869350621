"""Far-future exactness: no float timestamp stands between a trigger and its answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aioscheduler.triggers import At, Cron, Every
from aioscheduler.triggers._time import datetime_to_ts, ts_to_datetime, ts_to_us

_US = timedelta(microseconds=1)


@pytest.mark.parametrize("year", [2001, 2038, 2107, 2200, 2241])
def test_every_timestamps_do_not_drift_while_floats_hold_microseconds(year: int) -> None:
    trigger = Every(timedelta(seconds=1, microseconds=1))
    dt = datetime(year, 1, 1, 0, 0, 0, 123457, tzinfo=UTC)
    ts = dt.timestamp()
    for _ in range(3000):
        ts = trigger.next_after_ts(ts)  # type: ignore[assignment]
        dt = trigger.next_after(dt)  # type: ignore[assignment]
        assert ts == dt.timestamp()


@settings(max_examples=300, deadline=None)
@given(
    ts=st.floats(min_value=-1e10, max_value=2.5e11, allow_nan=False),
    step=st.integers(1, 10**12),
)
def test_every_next_after_ts_is_next_after_on_the_exact_instant(ts: float, step: int) -> None:
    trigger = Every(timedelta(microseconds=step))
    nxt = trigger.next_after(ts_to_datetime(ts))
    assert nxt is not None
    assert trigger.next_after_ts(ts) == datetime_to_ts(nxt)


@settings(max_examples=300, deadline=None)
@given(ts=st.floats(min_value=8192, max_value=2.5e11, allow_nan=False))
def test_exact_conversion_agrees_with_fromtimestamp(ts: float) -> None:
    assert ts_to_datetime(ts) == datetime.fromtimestamp(ts, UTC)
    assert (
        ts_to_us(ts) == (datetime.fromtimestamp(ts, UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // _US
    )


@pytest.mark.parametrize("year", [2515, 2600, 3000, 9998])
def test_cron_does_not_skip_a_year_one_microsecond_ahead(year: int) -> None:
    new_year = datetime(year, 1, 1, tzinfo=UTC)
    assert Cron("0 0 1 1 *").next_after(new_year - _US) == new_year
    assert Cron("0 0 1 1 *").next_after(new_year) == datetime(year + 1, 1, 1, tzinfo=UTC)


def test_cron_ends_at_the_year_9999() -> None:
    assert Cron("0 0 1 1 *").next_after(datetime(9999, 1, 1, tzinfo=UTC)) is None
    late = datetime(9999, 12, 30, tzinfo=UTC)
    nxt = Cron("0 0 * * *", timezone="Pacific/Kiritimati").next_after(late)  # UTC+14: no raise
    assert nxt is None or nxt > late


_ZONE = ZoneInfo("Europe/Paris")


@settings(max_examples=400, deadline=None)
@given(
    now=st.floats(min_value=-1e10, max_value=2.5e11, allow_nan=False),
    step=st.integers(1, 10**13),
    start=st.one_of(st.none(), st.integers(-6 * 10**16, 24 * 10**16)),
    end=st.one_of(st.none(), st.integers(1, 10**16)),
    zoned=st.booleans(),
)
def test_every_first_fire_ts_is_first_fire_on_the_exact_instant(
    now: float, step: int, start: int | None, end: int | None, zoned: bool
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start_at = None if start is None else epoch + start * _US
    if start_at is not None and zoned:
        start_at = start_at.astimezone(_ZONE)
    end_at = None
    if end is not None:
        try:
            end_at = (start_at or ts_to_datetime(now)) + end * _US
        except OverflowError:  # past year 9999: not a datetime a user could pass
            assume(False)
    trigger = Every(timedelta(microseconds=step), start_at=start_at, end_at=end_at)
    first = trigger.first_fire(datetime.fromtimestamp(now, UTC))
    assert trigger.first_fire_ts(now) == (None if first is None else datetime_to_ts(first))


@pytest.mark.parametrize("start", [None, datetime(9999, 12, 31, 23, tzinfo=UTC)])
def test_every_first_fire_ts_near_the_end_of_time_is_first_fire(start: datetime | None) -> None:
    trigger = Every(hours=2, start_at=start)
    now = datetime(9999, 12, 31, 22, 30, tzinfo=UTC)
    first = trigger.first_fire(now)
    assert trigger.first_fire_ts(now.timestamp()) == (None if first is None else first.timestamp())
    assert (
        Every(minutes=10).first_fire_ts(now.timestamp())
        == (now + timedelta(minutes=10)).timestamp()
    )


def test_at_first_fire_ts_is_when() -> None:
    when = datetime(2031, 5, 6, 7, 8, 9, 123457, tzinfo=_ZONE)
    assert At(when).first_fire_ts(0.0) == when.timestamp()


@settings(max_examples=400, deadline=None)
@given(
    after=st.floats(min_value=-1e10, max_value=2.5e11, allow_nan=False),
    span=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
    step=st.integers(1, 10**13),
    end=st.one_of(st.none(), st.integers(-(10**12), 10**15)),
    limit=st.integers(1, 10**6),
)
def test_every_latest_at_or_before_ts_is_latest_at_or_before_on_the_exact_instant(
    after: float, span: float, step: int, end: int | None, limit: int
) -> None:
    until = after + span
    start = datetime.fromtimestamp(after, UTC)
    end_at = None if end is None else start + end * _US
    trigger = Every(timedelta(microseconds=step), end_at=end_at)
    latest, count = trigger.latest_at_or_before(start, datetime.fromtimestamp(until, UTC), limit)
    assert trigger.latest_at_or_before_ts(after, until, limit) == (latest.timestamp(), count)
