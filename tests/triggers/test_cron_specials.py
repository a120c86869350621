"""L, L-n, nW, LW, d#n and dL against a day-by-day calendar model (Quartz's definitions)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioscheduler.triggers import Cron

from ._util import utc

_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _days(year: int, month: int) -> list[date]:
    n = calendar.monthrange(year, month)[1]
    return [date(year, month, d) for d in range(1, n + 1)]


def _cron_wd(d: date) -> int:
    return d.isoweekday() % 7  # 0 = Sunday


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    days = _days(year, month)
    if day > len(days):
        return None
    target = days[day - 1]
    if target.weekday() < 5:
        return day
    # Quartz: Saturday -> the Friday before, Sunday -> the Monday after, never leaving the month
    candidates = [d for d in days if d.weekday() < 5 and abs((d - target).days) <= 2]
    before = [d for d in candidates if d < target and (target - d).days == 1]
    after = [d for d in candidates if d > target and (d - target).days == 1]
    if target.weekday() == 5:
        return (before or after or [target + timedelta(2)])[0].day
    return (after or before or [target - timedelta(2)])[0].day


def expected_days(item: str, year: int, month: int) -> set[int]:
    days = _days(year, month)
    n = len(days)
    if item == "L":
        return {n}
    if item.startswith("L-"):
        k = int(item[2:])
        return {n - k} if n - k >= 1 else set()
    if item == "LW":
        return {max(d.day for d in days if d.weekday() < 5)}
    if item.endswith("W"):
        near = _nearest_weekday(year, month, int(item[:-1]))
        return set() if near is None else {near}
    if "#" in item:
        wd, nth = item.split("#")
        hits = [d.day for d in days if _cron_wd(d) == _NAMES.index(wd)]
        return {hits[int(nth) - 1]} if int(nth) <= len(hits) else set()
    if item.endswith("L"):
        return {max(d.day for d in days if _cron_wd(d) == _NAMES.index(item[:-1]))}
    raise AssertionError(item)


_dom_items = st.one_of(
    st.just("L"),
    st.integers(1, 30).map(lambda k: f"L-{k}"),
    st.just("LW"),
    st.integers(1, 31).map(lambda d: f"{d}W"),
)
_dow_items = st.one_of(
    st.tuples(st.sampled_from(_NAMES), st.integers(1, 5)).map(lambda t: f"{t[0]}#{t[1]}"),
    st.sampled_from(_NAMES).map(lambda d: f"{d}L"),
)


@settings(max_examples=300, deadline=None)
@given(
    item=st.one_of(_dom_items, _dow_items),
    year=st.integers(1990, 2110),
    month=st.integers(1, 12),
)
def test_specials_pick_the_days_the_calendar_says(item: str, year: int, month: int) -> None:
    dom_item = not ("#" in item or item[:-1] in _NAMES)
    expression = f"0 0 {item} * *" if dom_item else f"0 0 * * {item}"
    trigger = Cron(expression, timezone="UTC")
    start = utc(year, month, 1) - timedelta(microseconds=1)
    end = utc(year + (month == 12), month % 12 + 1, 1)
    fired: set[int] = set()
    t = trigger.next_after(start)
    while t is not None and t < end:
        fired.add(t.day)
        t = trigger.next_after(t)
    assert fired == expected_days(item, year, month)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 1W * *", utc(2026, 7, 30), [utc(2026, 8, 3)]),  # Sat 1 Aug -> Mon 3
        ("0 0 31W * *", utc(2026, 5, 1), [utc(2026, 5, 29)]),  # Sun 31 May -> Fri 29
        ("0 0 L * fri", utc(2026, 3, 25), [utc(2026, 3, 27), utc(2026, 3, 31)]),  # or-rule
        ("0 0 L-3 2 *", utc(2027, 1, 1), [utc(2027, 2, 25)]),
        ("0 0 * * 5L", utc(2026, 3, 1), [utc(2026, 3, 27)]),
        ("0 0 ? * mon#1", utc(2026, 3, 1), [utc(2026, 3, 2)]),
    ],
)
def test_special_tables(expression: str, after: object, expected: list[object]) -> None:
    assert Cron(expression, timezone="UTC").preview(len(expected), after=after) == expected  # type: ignore[arg-type]


def test_a_day_rule_that_never_matches_is_refused() -> None:
    with pytest.raises(ValueError, match="never occurs"):
        Cron("0 0 30W 2 *")
    with pytest.raises(ValueError, match="never occurs"):
        Cron("0 0 L-29 2 *")
