"""One-shot triggers: ``At`` a datetime, ``After`` a delay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from ..errors import InvalidTrigger
from . import _time
from ._base import MAX_SEARCH, Trigger

__all__ = ("After", "At")


@dataclass(frozen=True, slots=True, repr=False)
class At(Trigger):
    """Fire once, at ``when``.

    A ``when`` in the past is still returned as the first firing: the scheduler then treats
    the job as due and applies its misfire policy.

    Args:
        when: An aware datetime (kept in UTC), or a naive one, read in the scheduler's time
            zone by :meth:`bind`. A naive time that happens twice means its first
            occurrence; one inside a spring-forward gap means the end of the gap.

    Raises:
        InvalidTrigger: ``when`` is not a datetime, or it is naive and no time zone is
            known when the job is added.

    Example:
        >>> from datetime import datetime, timezone
        >>> At(datetime(2030, 1, 1, 9, tzinfo=timezone.utc)).describe()
        'once at 2030-01-01 09:00:00 UTC'
    """

    kind: ClassVar[str] = "at"

    when: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.when, datetime):
            raise InvalidTrigger(f"when must be a datetime, got {self.when!r}")
        object.__setattr__(self, "when", _time.to_datetime(self.when, "when"))

    def first_fire(self, now: datetime) -> datetime | None:
        """Return ``when``, even if it is before ``now``.

        Raises:
            InvalidTrigger: ``when`` is naive and the trigger was not bound to a time zone.
        """
        if self.when.tzinfo is None:
            raise _time.naive_error(self.when, "when")
        return self.when

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return ``None``: the trigger fires once."""
        return None

    def first_fire_ts(self, now: float) -> float | None:
        """``when`` as a timestamp, even if it is before ``now``."""
        when = self.when
        if when.tzinfo is None:
            raise _time.naive_error(when, "when")
        return when.timestamp()

    def next_after_ts(self, prev: float) -> float | None:
        """Return ``None``: the trigger fires once (no datetime on the hot path)."""
        return None

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Return 0: no firing follows the only one."""
        return 0

    def bind(self, tz: tzinfo | None) -> At:
        """Resolve a naive ``when`` in ``tz``.

        Raises:
            InvalidTrigger: ``when`` is naive and ``tz`` is ``None``.
        """
        if self.when.tzinfo is not None:
            return self
        resolved = _time.resolve_naive(self.when, tz, "when")
        assert resolved is not None
        return At(resolved)

    def describe(self) -> str:
        """``once at 2030-01-01 09:00:00 UTC`` (a naive time: ``... (local time)``)."""
        when = self.when
        shown = when.strftime("%Y-%m-%d %H:%M:%S") + (
            f".{when.microsecond:06d}".rstrip("0") if when.microsecond else ""
        )
        return f"once at {shown} {'UTC' if when.tzinfo is not None else '(local time)'}"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "at", "version": 1, "when": ISO 8601 string}``."""
        return {"kind": self.kind, "version": self.version, "when": _time.dt_to_json(self.when)}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> At:
        _time.required(data, "when")
        when = _time.dt_from_json(data, "when")
        if when is None:
            raise InvalidTrigger(f"stored at trigger has no time: {data!r}")
        return cls(when)


@dataclass(frozen=True, slots=True, init=False, repr=False)
class After(Trigger):
    """Fire once, ``delay`` after the job is added.

    Args:
        delay: Float seconds or a ``timedelta``, ``>= 0``. ``0`` fires at once.

    Raises:
        InvalidTrigger: ``delay`` is not a number or a timedelta, is negative or not finite.

    Example:
        >>> After(90).describe()
        'after 1 minute 30 seconds'
    """

    kind: ClassVar[str] = "after"

    delay: timedelta

    def __init__(self, delay: float | timedelta) -> None:
        value = _time.to_timedelta(delay, "delay")
        if value < timedelta(0):
            raise InvalidTrigger(f"delay must be >= 0, got {delay!r}")
        object.__setattr__(self, "delay", value)

    def first_fire(self, now: datetime) -> datetime | None:
        """Return ``now + delay``."""
        try:
            return now + self.delay
        except OverflowError:
            return None

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return ``None``: the trigger fires once."""
        return None

    def next_after_ts(self, prev: float) -> float | None:
        """Return ``None``: the trigger fires once."""
        return None

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Return 0: no firing follows the only one."""
        return 0

    def describe(self) -> str:
        """``after 30 seconds``."""
        return f"after {_time.format_words(self.delay)}"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "after", "version": 1, "delay": seconds}``."""
        return {"kind": self.kind, "version": self.version, "delay": self.delay.total_seconds()}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> After:
        return cls(_time.required(data, "delay"))
