"""Ticks: an activity-counter trigger that the clock never fires."""

from __future__ import annotations

from typing import Any

import pytest

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import Ticks

from ._util import BERLIN, utc

NOW = utc(2024, 1, 1, 12, 0)


def test_defaults() -> None:
    trigger = Ticks(10)
    assert (trigger.n, trigger.counter, trigger.repeat) == (10, "default", False)


def test_is_not_driven_by_time() -> None:
    trigger = Ticks(3, counter="uploads", repeat=True)
    assert trigger.first_fire(NOW) is None
    assert trigger.next_after(NOW) is None
    assert trigger.next_after(NOW, utc(2025, 1, 1)) is None
    assert trigger.preview(5, after=NOW) == []
    assert trigger.count_between(NOW, utc(2030, 1, 1)) == 0
    assert trigger.bind(BERLIN) is trigger
    assert trigger.jitter is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"n": 0}, "n must be an int >= 1, got 0", id="zero"),
        pytest.param({"n": -3}, "n must be an int >= 1, got -3", id="negative"),
        pytest.param({"n": 2.0}, "n must be an int >= 1, got 2.0", id="float"),
        pytest.param({"n": True}, "n must be an int >= 1, got True", id="bool"),
        pytest.param({"n": "5"}, "n must be an int >= 1, got '5'", id="str"),
        pytest.param(
            {"n": 1, "counter": ""}, "counter must be a non-empty str, got ''", id="empty"
        ),
        pytest.param({"n": 1, "counter": 7}, "counter must be a non-empty str, got 7", id="number"),
        pytest.param({"n": 1, "repeat": 1}, "repeat must be a bool, got 1", id="repeat-int"),
        pytest.param({"n": 1, "repeat": "yes"}, "repeat must be a bool", id="repeat-str"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Ticks(**kwargs)


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(Ticks(10), "after 10 ticks of 'default'", id="once"),
        pytest.param(Ticks(1, "jobs"), "after 1 tick of 'jobs'", id="singular"),
        pytest.param(
            Ticks(100, "uploads", repeat=True), "every 100 ticks of 'uploads'", id="repeat"
        ),
    ],
)
def test_describe(trigger: Ticks, expected: str) -> None:
    assert trigger.describe() == expected


def test_equality_and_immutability() -> None:
    assert Ticks(5, "a") == Ticks(5, counter="a")
    assert Ticks(5, "a") != Ticks(5, "a", repeat=True)
    with pytest.raises(AttributeError):
        Ticks(5).n = 6  # type: ignore[misc]
