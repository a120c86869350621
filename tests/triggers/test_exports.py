"""The public face of aioscheduler.triggers."""

from __future__ import annotations

import aioscheduler.triggers


def test_all_names_the_trigger_classes() -> None:
    assert aioscheduler.triggers.__all__ == (
        "After",
        "AllOf",
        "AnyOf",
        "At",
        "CalendarInterval",
        "Cron",
        "Every",
        "Ticks",
        "Trigger",
    )


def test_every_exported_name_exists() -> None:
    for name in aioscheduler.triggers.__all__:
        assert getattr(aioscheduler.triggers, name).__name__ == name


def test_every_trigger_repr_ends_with_its_description() -> None:
    from datetime import UTC, datetime, timedelta

    from aioscheduler.triggers import (
        After,
        AllOf,
        AnyOf,
        At,
        CalendarInterval,
        Cron,
        Every,
        Ticks,
    )

    assert repr(Every(300)) == "Every(interval=datetime.timedelta(seconds=300))  # every 5 minutes"
    assert repr(After(timedelta(seconds=5))).endswith("  # after 5 seconds")
    assert repr(At(datetime(2030, 1, 1, tzinfo=UTC))).endswith(
        "  # once at 2030-01-01 00:00:00 UTC"
    )
    assert (
        repr(Ticks(3))
        == "Ticks(n=3, counter='default', repeat=False)  # after 3 ticks of 'default'"
    )
    assert repr(CalendarInterval(days=1, hour=9)).endswith("  # every day at 09:00")
    assert repr(AnyOf(Every(60), Cron("0 9 * * *"))) == (
        "AnyOf(Every(interval=datetime.timedelta(seconds=60)), Cron('0 9 * * *'))"
        "  # every 1 minute, or at 09:00"
    )
    assert repr(AllOf(Cron("@daily"), Cron("0 0 1 * *"), max_steps=5)).startswith(
        "AllOf(Cron('@daily'), Cron('0 0 1 * *'), max_steps=5)  # when all agree"
    )
