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
