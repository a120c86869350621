"""Validation of the SQLite store's plain columns at the boundary (issue 10, item 2).

Only a job's definition is sealed; its state (``paused``, ``nominal``, ``run_at``) and the
``firings`` table are plain values that anyone who can write the file can change. Every such
value is checked here when it is read, before it reaches the heap, the planner or a
``datetime``: a value of the wrong type, not finite, or out of the range of dates makes its job
*broken* (reported, listed by ``broken_jobs()``, skipped), and nothing else.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

__all__ = ("DamagedRow", "check_firing", "check_state", "positive_seconds", "timestamp")

#: Timestamps a ``datetime`` can hold (years 1 to 9999), in UTC seconds.
MIN_TS = -62135596800.0
MAX_TS = 253402300799.0
#: An attempt count above this is damage, not history.
MAX_ATTEMPT = 1_000_000


class DamagedRow(ValueError):
    """A stored value that cannot be what the store wrote; the message names it."""


def timestamp(value: Any, name: str, *, optional: bool = False) -> float | None:
    """A UTC timestamp column: a finite number within the dates a ``datetime`` can hold."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DamagedRow(f"{name} = {value!r} is not a timestamp")
    number = float(value)
    if not math.isfinite(number) or not MIN_TS <= number <= MAX_TS:
        raise DamagedRow(f"{name} = {number!r} is not a timestamp within years 1-9999")
    return number


def _flag(value: Any, name: str) -> bool:
    if type(value) is not int or value not in (0, 1):
        raise DamagedRow(f"{name} = {value!r} is not 0 or 1")
    return bool(value)


def _count(value: Any, name: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise DamagedRow(f"{name} = {value!r} is not an integer in [{low}, {high}]")
    return value


def check_state(paused: Any, nominal: Any, run_at: Any) -> tuple[bool, float | None, float | None]:
    """The ``paused``, ``nominal`` and ``run_at`` columns of a job row, checked.

    Raises:
        DamagedRow: a value the store cannot have written.
    """
    state = (
        _flag(paused, "paused"),
        timestamp(nominal, "nominal", optional=True),
        timestamp(run_at, "run_at", optional=True),
    )
    if (state[1] is None) != (state[2] is None):
        raise DamagedRow(f"nominal = {nominal!r} and run_at = {run_at!r}: one is missing")
    return state


def check_firing(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ``firings`` row (``job_id, slot, run_at, missed, run, final, owner, lease_until,
    attempt``) with its values checked and converted.

    Raises:
        DamagedRow: a value the store cannot have written (the message names the column).
    """
    if len(row) != 9:
        raise DamagedRow(f"a firings row has {len(row)} columns, not 9")
    job_id, slot, run_at, missed, run, final, owner, lease_until, attempt = row
    if not isinstance(owner, str):
        raise DamagedRow(f"firing owner = {owner!r} is not a text")
    if isinstance(lease_until, bool) or not isinstance(lease_until, int | float):
        raise DamagedRow(f"firing lease_until = {lease_until!r} is not a number")
    return (
        job_id,
        timestamp(slot, "firing slot"),
        timestamp(run_at, "firing run_at"),
        _count(missed, "firing missed", 0, 2**62),
        _flag(run, "firing run"),
        _flag(final, "firing final"),
        owner,
        float(lease_until) if math.isfinite(lease_until) else 0.0,  # at open: claimable now
        _count(attempt, "firing attempt", 1, MAX_ATTEMPT),
    )


def positive_seconds(value: float | timedelta | None, name: str) -> float | None:
    """An option given in seconds or as a ``timedelta``: positive, or ``None``.

    Raises:
        ValueError: zero, negative, not a number, or a ``bool``.
    """
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise ValueError(f"{name} must be a positive number of seconds or None, got {value!r}")
    return None if value is None else float(value)
