"""``Every``: fire at a fixed elapsed-time interval."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from ..errors import InvalidTrigger
from . import _time
from ._base import MAX_SEARCH, Trigger

__all__ = ("Every",)

_MICROSECOND = timedelta(microseconds=1)
_ZERO = timedelta(0)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds")
#: The default of each keyword unit (the interned small int: ``is`` tells it apart from a
#: ``0.0`` or a ``False``, which take the checked way).
_NONE = 0
#: ``Every(seconds=x)`` with ``0 < x <`` this takes the fast path of ``__init__`` (a finite
#: float far below ``timedelta``'s limit of 1e9 days).
_FAST_SECONDS = 1e12


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Every(Trigger):
    """Fire every ``interval`` of elapsed time.

    The interval is elapsed time, not wall-clock time: ``Every(hours=24)`` fires 24 hours
    apart even across a DST change (use :class:`~aioscheduler.triggers.Cron` for "every day at
    09:00"). Firings never drift: each is computed from the previous *nominal* time.

    Without ``start_at`` the first firing is one interval after the job is added. With
    ``start_at`` the firings are ``start_at + k * interval``; the first is ``start_at`` if it
    is still ahead, else the first of that grid at or after the time the job is added, so a
    ``start_at`` in the past does not cause a burst of catch-up runs. No firing happens after
    ``end_at``.

    Args:
        interval: The interval as float seconds or a ``timedelta``. Exclusive with the
            keyword units.
        weeks: Keyword units, summed into the interval.
        days: See ``weeks``.
        hours: See ``weeks``.
        minutes: See ``weeks``.
        seconds: See ``weeks``.
        milliseconds: See ``weeks``.
        jitter: Maximum random delay, in seconds or as a ``timedelta``, that the scheduler
            adds to each firing; ``None`` for none.
        start_at: Anchor of the firings (aware, or naive: resolved in the scheduler's time
            zone by :meth:`bind`).
        end_at: No firing after this time (aware or naive, like ``start_at``).

    Raises:
        InvalidTrigger: The interval is missing, given twice, not a number or a timedelta,
            not finite, not positive or rounds to zero microseconds; a unit is negative; the
            jitter is negative; ``start_at``/``end_at`` is not a datetime, or ``end_at`` is
            not after ``start_at``.

    Example:
        >>> Every(minutes=90).describe()
        'every 1 hour 30 minutes'
        >>> Every(0.25).interval
        datetime.timedelta(microseconds=250000)
    """

    kind: ClassVar[str] = "every"

    interval: timedelta
    jitter: float | None
    start_at: datetime | None
    end_at: datetime | None
    #: The interval in whole microseconds, for planning on float timestamps.
    _step_us: int = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        interval: float | timedelta | None = None,
        *,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        milliseconds: float = 0,
        jitter: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
    ) -> None:
        if (
            seconds.__class__ is float
            and interval is None
            and weeks is _NONE
            and days is _NONE
            and hours is _NONE
            and minutes is _NONE
            and milliseconds is _NONE
            and 0.0 < seconds < _FAST_SECONDS
        ):  # Every(seconds=x.y), the usual spelling: no unit loop (2.16 -> 1.46 µs, timeit)
            total = timedelta(seconds=seconds)
            if not total:  # below half a microsecond
                raise InvalidTrigger(
                    "interval must be positive (at least 1 microsecond), got "
                    f"{ {'seconds': seconds}!r}"
                )
        else:
            given: dict[str, float] | None = None
            values = (weeks, days, hours, minutes, seconds, milliseconds)
            for name, value in zip(_UNITS, values, strict=True):
                if value.__class__ is int and value == 0:  # the default: nothing to check (fast)
                    continue
                if value.__class__ is not float and not _time.is_number(value):
                    raise InvalidTrigger(f"{name} must be a number, got {value!r}")
                if not math.isfinite(value) or value < 0:
                    raise InvalidTrigger(f"{name} must be a finite number >= 0, got {value!r}")
                if value:
                    if given is None:
                        given = {}
                    given[name] = value
            if interval is not None:
                if given:
                    raise InvalidTrigger(
                        f"pass the interval either positionally ({interval!r}) or as keyword "
                        f"units ({', '.join(f'{k}={v!r}' for k, v in given.items())}), not both"
                    )
                total = _time.to_timedelta(interval, "interval")
            elif given is None:
                raise InvalidTrigger(
                    "interval must be positive (at least 1 microsecond), got 0: weeks, days, "
                    "hours, minutes, seconds and milliseconds are all 0; e.g. Every(seconds=30)"
                )
            else:
                try:
                    total = timedelta(**given)  # the units left out are 0
                except OverflowError:
                    raise InvalidTrigger(f"interval is too large: {given!r}") from None
            if total <= _ZERO:
                shown = interval if interval is not None else given
                raise InvalidTrigger(
                    f"interval must be positive (at least 1 microsecond), got {shown!r}"
                )
        init = object.__setattr__
        init(self, "interval", total)
        init(self, "_step_us", total // _MICROSECOND)
        init(self, "jitter", None if jitter is None else _time.to_jitter(jitter))
        if start_at is not None and (
            start_at.__class__ is not datetime or start_at.tzinfo is not UTC
        ):
            start_at = _time.to_datetime(start_at, "start_at")  # an aware UTC datetime is kept
        init(self, "start_at", start_at)
        init(self, "end_at", None if end_at is None else _time.to_datetime(end_at, "end_at"))
        if end_at is not None:
            _time.check_order(self.start_at, self.end_at)

    # -- the contract -------------------------------------------------------------------------

    def first_fire(self, now: datetime) -> datetime | None:
        """Return ``now + interval``, or the first ``start_at + k * interval`` at or after ``now``.

        Raises:
            InvalidTrigger: ``start_at`` or ``end_at`` is naive and the trigger was not bound
                to a time zone.
        """
        start_at, end_at = self._bounds()
        try:
            if start_at is None:
                first = now + self.interval
            elif start_at >= now:
                first = start_at
            else:  # the first grid point at or after now: ceil((now - start_at) / interval)
                first = start_at + self.interval * -((start_at - now) // self.interval)
        except OverflowError:
            return None
        if end_at is not None and first > end_at:
            return None
        return first

    def first_fire_ts(self, now: float) -> float | None:
        """:meth:`first_fire` as a timestamp; a ``start_at`` well ahead of ``now`` (the usual
        case) is the answer, with no datetime made."""
        start_at = self.start_at
        if start_at is not None and start_at.tzinfo is not None and self.end_at is None:
            start = start_at.timestamp()
            # ahead by far more than a float's error on either side: start_at >= now exactly
            if start - now > 1e-3:
                return start
        return Trigger.first_fire_ts(self, now)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return ``prev + interval``, or the first ``prev + k * interval`` strictly after ``now``.

        The skip-ahead is one integer division, however many firings were missed.
        """
        try:
            if now is None or now < prev:
                nxt = prev + self.interval
            else:
                nxt = prev + self.interval * ((now - prev) // self.interval + 1)
        except OverflowError:
            return None
        end_at = self.end_at
        if end_at is not None and nxt > end_at:
            return None
        return nxt

    def next_after_ts(self, prev: float) -> float | None:
        """``prev + interval`` on timestamps, exact to the microsecond (no float drift).

        ``prev`` is turned into whole microseconds from its exact binary value (no float
        product, which loses the microsecond past 2106), the interval added as an integer,
        and the sum divided once, correctly rounded.
        """
        if self.end_at is not None:
            return Trigger.next_after_ts(self, prev)
        return (_time.ts_to_us(prev) + self._step_us) / 1_000_000

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Count firings in ``(after, until]`` arithmetically (``after`` is a firing)."""
        end_at = self.end_at
        stop = until if end_at is None or until < end_at else end_at
        if stop <= after:
            return 0
        return min((stop - after) // self.interval, limit)

    def latest_at_or_before(
        self, after: datetime, until: datetime, limit: int = MAX_SEARCH
    ) -> tuple[datetime, int]:
        """Return the latest firing ``<= until`` after ``after`` and the count, arithmetically."""
        count = self.count_between(after, until, limit)
        return after + self.interval * count, count

    def latest_at_or_before_ts(
        self, after: float, until: float, limit: int = MAX_SEARCH
    ) -> tuple[float, int]:
        """:meth:`latest_at_or_before` in whole microseconds, with no datetime made (exact)."""
        start = _time.ts_to_us(after)
        stop = _time.ts_to_us(until)
        end_at = self.end_at
        if end_at is not None:
            stop = min(stop, _time.datetime_to_us(end_at))
        if stop <= start:
            return start / 1_000_000, 0
        step = self._step_us
        count = min((stop - start) // step, limit)
        return (start + step * count) / 1_000_000, count

    def bind(self, tz: tzinfo | None) -> Every:
        """Resolve a naive ``start_at``/``end_at`` in ``tz`` (see :class:`Every`).

        Raises:
            InvalidTrigger: A datetime is naive and ``tz`` is ``None``, or once resolved
                ``end_at`` is not after ``start_at``.
        """
        start_at, end_at = self.start_at, self.end_at
        if (start_at is None or start_at.tzinfo is not None) and (
            end_at is None or end_at.tzinfo is not None
        ):
            return self
        return replace(
            self,
            start_at=_time.resolve_naive(start_at, tz, "start_at"),
            end_at=_time.resolve_naive(end_at, tz, "end_at"),
        )

    def describe(self) -> str:
        """``every 5 minutes``, ``every 1 hour 30 minutes``, ``every 0.25 seconds``."""
        return f"every {_time.format_words(self.interval)}"

    def _bounds(self) -> tuple[datetime | None, datetime | None]:
        start_at, end_at = self.start_at, self.end_at
        if start_at is not None and start_at.tzinfo is None:
            raise _time.naive_error(start_at, "start_at")
        if end_at is not None and end_at.tzinfo is None:
            raise _time.naive_error(end_at, "end_at")
        return start_at, end_at

    # -- stored form --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "every", "version": 1, "interval": seconds, "jitter", "start_at", ...}``."""
        return {
            "kind": self.kind,
            "version": self.version,
            "interval": self.interval.total_seconds(),
            "jitter": self.jitter,
            "start_at": _time.dt_to_json(self.start_at),
            "end_at": _time.dt_to_json(self.end_at),
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Every:
        return cls(
            _time.required(data, "interval"),
            jitter=data.get("jitter"),
            start_at=_time.dt_from_json(data, "start_at"),
            end_at=_time.dt_from_json(data, "end_at"),
        )
