"""Helpers shared by the trigger tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """An aware UTC datetime: ``utc(2024, 3, 31, 1, 0)``."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def local(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    """An aware datetime in ``zone`` (``fold=1``: the second occurrence of a repeated time)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)
