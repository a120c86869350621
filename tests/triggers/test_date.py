"""At and After: one-shot triggers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import After, At

from ._util import BERLIN, NEW_YORK, local, utc

NOW = utc(2024, 1, 1, 12, 0)

# -- At ----------------------------------------------------------------------------------------


def test_at_keeps_an_aware_time_in_utc() -> None:
    trigger = At(local(BERLIN, 2024, 7, 1, 9))
    assert trigger.when == utc(2024, 7, 1, 7)
    assert trigger.when.tzinfo is UTC


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param(utc(2024, 6, 1), utc(2024, 6, 1), id="future"),
        pytest.param(utc(2020, 6, 1), utc(2020, 6, 1), id="past-is-still-returned"),
        pytest.param(NOW, NOW, id="now"),
    ],
)
def test_at_first_fire_is_when(when: datetime, expected: datetime) -> None:
    assert At(when).first_fire(NOW) == expected


def test_at_fires_once() -> None:
    trigger = At(utc(2024, 6, 1))
    assert trigger.next_after(utc(2024, 6, 1)) is None
    assert trigger.next_after(utc(2024, 6, 1), utc(2025, 1, 1)) is None
    assert trigger.count_between(utc(2024, 6, 1), utc(2030, 1, 1)) == 0
    assert trigger.latest_at_or_before(utc(2024, 6, 1), utc(2030, 1, 1)) == (utc(2024, 6, 1), 0)
    assert trigger.preview(5, after=NOW) == [utc(2024, 6, 1)]
    assert trigger.jitter is None


@pytest.mark.parametrize(
    "when",
    [
        pytest.param("2024-01-01T00:00:00Z", id="string"),
        pytest.param(1_700_000_000, id="timestamp"),
        pytest.param(date(2024, 1, 1), id="date"),
        pytest.param(None, id="none"),
    ],
)
def test_at_rejects_a_non_datetime(when: Any) -> None:
    with pytest.raises(InvalidTrigger, match="when must be a datetime, got"):
        At(when)


def test_at_accepts_a_naive_time_until_bound() -> None:
    trigger = At(datetime(2024, 7, 1, 9))
    assert trigger.when == datetime(2024, 7, 1, 9)
    assert trigger.bind(NEW_YORK) == At(utc(2024, 7, 1, 13))


@pytest.mark.parametrize(
    ("naive", "expected"),
    [
        pytest.param(datetime(2024, 3, 31, 2, 30), utc(2024, 3, 31, 1), id="gap-means-gap-end"),
        pytest.param(datetime(2024, 10, 27, 2, 30), utc(2024, 10, 27, 0, 30), id="repeat-first"),
        pytest.param(
            datetime(2024, 10, 27, 2, 30, fold=1), utc(2024, 10, 27, 0, 30), id="fold-ignored"
        ),
    ],
)
def test_at_binds_dst_edge_times(naive: datetime, expected: datetime) -> None:
    assert At(naive).bind(BERLIN).when == expected


def test_at_bind_is_identity_when_aware() -> None:
    trigger = At(NOW)
    assert trigger.bind(BERLIN) is trigger
    assert trigger.bind(None) is trigger


def test_at_naive_without_zone_is_rejected() -> None:
    with pytest.raises(
        InvalidTrigger,
        match=r"when is a naive datetime \(2024-07-01T09:00:00\) and no time zone is known: "
        "pass an aware datetime or give the Scheduler a timezone",
    ):
        At(datetime(2024, 7, 1, 9)).bind(None)


def test_at_naive_unbound_cannot_fire() -> None:
    with pytest.raises(InvalidTrigger, match="when is a naive datetime"):
        At(datetime(2024, 7, 1, 9)).first_fire(NOW)


def test_at_describe() -> None:
    assert At(utc(2030, 1, 1, 9)).describe() == "once at 2030-01-01 09:00:00 UTC"
    assert At(utc(2030, 1, 1, 9, 0, 0, 250000)).describe() == "once at 2030-01-01 09:00:00.25 UTC"
    assert At(datetime(2030, 1, 1, 9)).describe() == "once at 2030-01-01 09:00:00 (local time)"


# -- After -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        pytest.param(0, timedelta(0), id="zero"),
        pytest.param(30, timedelta(seconds=30), id="int"),
        pytest.param(0.5, timedelta(milliseconds=500), id="float"),
        pytest.param(timedelta(hours=1), timedelta(hours=1), id="timedelta"),
    ],
)
def test_after_delay_is_a_timedelta(delay: float | timedelta, expected: timedelta) -> None:
    assert After(delay).delay == expected


@pytest.mark.parametrize(
    ("delay", "message"),
    [
        pytest.param(-1, "delay must be >= 0, got -1", id="negative"),
        pytest.param(timedelta(seconds=-1), "delay must be >= 0", id="negative-timedelta"),
        pytest.param(float("nan"), "delay must be finite, got nan", id="nan"),
        pytest.param(float("inf"), "delay must be finite, got inf", id="inf"),
        pytest.param(1e300, "delay is too large", id="overflow"),
        pytest.param("5", "delay must be a number of seconds or a timedelta, got '5'", id="str"),
        pytest.param(None, "delay must be a number", id="none"),
        pytest.param(True, "delay must be a number", id="bool"),
    ],
)
def test_after_rejects_bad_delays(delay: Any, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        After(delay)


def test_after_fires_once_delay_after_now() -> None:
    trigger = After(90)
    assert trigger.first_fire(NOW) == utc(2024, 1, 1, 12, 1, 30)
    assert trigger.next_after(utc(2024, 1, 1, 12, 1, 30)) is None
    assert trigger.count_between(NOW, utc(2030, 1, 1)) == 0
    assert trigger.preview(3, after=NOW) == [utc(2024, 1, 1, 12, 1, 30)]
    assert trigger.bind(None) is trigger


def test_after_near_the_end_of_time_is_none() -> None:
    assert After(timedelta(days=2)).first_fire(datetime.max.replace(tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        pytest.param(30, "after 30 seconds", id="seconds"),
        pytest.param(90, "after 1 minute 30 seconds", id="minutes"),
        pytest.param(0, "after 0 seconds", id="zero"),
        pytest.param(timedelta(days=1, hours=2), "after 1 day 2 hours", id="days"),
    ],
)
def test_after_describe(delay: float | timedelta, expected: str) -> None:
    assert After(delay).describe() == expected
