"""Edges of the triggers: repr of every option, stored combinations refused, far futures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aioscheduler.errors import InvalidTrigger
from aioscheduler.triggers import AnyOf, CalendarInterval, Cron, Every, Trigger

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_cron_repr_names_every_option_that_is_not_the_default() -> None:
    cron = Cron("0 9 * * *", timezone="UTC", jitter=5, start_at=JAN1, dst_gap="skip")
    assert repr(cron) == (
        "Cron('0 9 * * *', timezone='UTC', jitter=5.0, "
        "start_at=datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), "
        "dst_gap='skip')  # at 09:00 (UTC), dst_gap=skip"
    )


def stored_any_of(**changes: Any) -> dict[str, Any]:
    data = AnyOf(Every(5), Cron("0 9 * * *", timezone="UTC")).to_dict()
    data.update(changes)
    return data


def test_a_stored_combination_round_trips() -> None:
    assert Trigger.from_dict(stored_any_of()) == AnyOf(Every(5), Cron("0 9 * * *", timezone="UTC"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"triggers": {"a": 1}}, "any_of triggers must be a list", id="not-a-list"),
        pytest.param(
            {"anchored_at": "2026-01-01T00:00:00"}, "anchored_at must be aware", id="naive-anchor"
        ),
    ],
)
def test_a_damaged_stored_combination_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Trigger.from_dict(stored_any_of(**changes))


def test_an_interval_with_an_end_stops_there() -> None:
    every = Every(10, start_at=JAN1, end_at=JAN1.replace(minute=1))
    assert every.next_after(JAN1.replace(second=30)) == JAN1.replace(second=40)
    assert every.next_after(JAN1.replace(second=55)) is None


def test_a_calendar_interval_past_year_9999_has_no_next_firing() -> None:
    trigger = CalendarInterval(years=5000, timezone="UTC")
    assert trigger.next_after(JAN1) == datetime(7026, 1, 1, tzinfo=UTC)
    assert trigger.next_after(datetime(7026, 1, 1, tzinfo=UTC)) is None
