"""Small guards shared by the value types: bounded retry delays and the misfire-grace rule.

Kept apart from ``_values.py`` so that each rule has one home and its own tests.
"""

from __future__ import annotations

import math

__all__ = ("capped_delay", "misfire_grace_zero")


def capped_delay(initial: float, factor: float, maximum: float, attempt: int) -> float:
    """``min(maximum, initial * factor**(attempt-1))`` without ever computing a huge power.

    The power is compared in log space first, so attempt 1,025 (where ``2.0**1024`` overflows
    a float) or attempt 10**9 (where an int power would take gigabytes) both give ``maximum``.
    """
    steps = max(0, attempt - 1)
    if initial <= 0 or maximum <= 0:
        return 0.0 if initial <= 0 else float(maximum)
    if maximum <= initial:
        return float(maximum)
    if steps == 0 or factor == 1:
        return float(initial)
    # factor > 1 here (Backoff validates factor >= 1): factor**steps >= maximum/initial?
    if steps * math.log(factor) >= math.log(maximum / initial):
        return float(maximum)
    return min(float(maximum), float(initial) * float(factor) ** steps)


def misfire_grace_zero(value: object) -> str:
    """The message of the error for ``misfire_grace=0``."""
    return (
        f"misfire_grace must be > 0 seconds, got {value!r}: every firing starts a little after "
        "its due time, so a grace of 0 would report every firing missed and never run the job; "
        "give a small grace such as 1, or None for no limit"
    )
