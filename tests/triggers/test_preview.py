"""preview(), shared by every trigger through the base class."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aioscheduler.triggers import After, At, Cron, Every, Ticks, Trigger

from ._util import BERLIN, local, utc

NOW = utc(2024, 1, 1, 12, 0)


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(Every(minutes=30), [utc(2024, 1, 1, 12, 30), utc(2024, 1, 1, 13)], id="every"),
        pytest.param(Cron("0 */6 * * *"), [utc(2024, 1, 1, 18), utc(2024, 1, 2, 0)], id="cron"),
        pytest.param(At(utc(2024, 2, 1)), [utc(2024, 2, 1)], id="at"),
        pytest.param(After(60), [utc(2024, 1, 1, 12, 1)], id="after"),
        pytest.param(Ticks(5), [], id="ticks"),
    ],
)
def test_preview_of_each_trigger(trigger: Trigger, expected: list[datetime]) -> None:
    assert trigger.preview(2, after=NOW) == expected


def test_preview_of_zero_is_empty() -> None:
    assert Every(60).preview(0, after=NOW) == []


def test_preview_accepts_any_aware_after() -> None:
    assert Every(60).preview(1, after=local(BERLIN, 2024, 1, 1, 13)) == [utc(2024, 1, 1, 12, 1)]


def test_preview_defaults_to_now() -> None:
    before = datetime.now(UTC)
    (first,) = After(0).preview(1)
    assert before <= first <= datetime.now(UTC)


def test_preview_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError, match="k must be >= 0, got -1"):
        Every(60).preview(-1, after=NOW)


def test_preview_rejects_a_naive_after() -> None:
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        Every(60).preview(1, after=datetime(2024, 1, 1))
