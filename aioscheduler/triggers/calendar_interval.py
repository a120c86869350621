"""``CalendarInterval``: every n years / months / weeks / days, at a wall-clock time."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar

from ..errors import InvalidTrigger
from . import _time
from ._base import Trigger
from ._cronzone import GapPolicy, RepeatPolicy, wall_instants
from .cron import check_policies

__all__ = ("CalendarInterval",)

_UNITS = ("years", "months", "weeks", "days")
_TIME_FIELDS = (("hour", 23), ("minute", 59), ("second", 59))
#: Average days per month over the Gregorian cycle, to guess an element's index.
_DAYS_PER_MONTH = 146097 / 4800


@dataclass(frozen=True, slots=True, init=False, repr=False)
class CalendarInterval(Trigger):
    """Fire every ``years``/``months``/``weeks``/``days`` at a wall-clock time of day.

    The steps are calendar units, so the wall-clock time holds across DST: a 1-day interval
    at 09:00 stays at 09:00 after the clocks change (``Every(days=1)`` would drift to 08:00 or
    10:00). The n-th firing is on ``anchor + n * step`` (months first, then weeks and days),
    computed from the anchor every time: a monthly interval from 31 January fires on
    28 (or 29) February, then on 31 March again.

    Args:
        years: Calendar years per step (``int >= 0``).
        months: Months per step.
        weeks: Weeks per step.
        days: Days per step. At least one unit must be positive.
        hour: Wall-clock hour of each firing (0-23).
        minute: Wall-clock minute (0-59).
        second: Wall-clock second (0-59).
        timezone: An IANA key or a tzinfo; ``None`` means the scheduler's zone, or UTC.
        start_at: Anchors the sequence: its date (in ``timezone``) is step 0, and no firing
            is before it. Default: the time the job is added.
        end_at: No firing after this time.
        jitter: Maximum random delay, in seconds or as a ``timedelta``; ``None`` for none.
        dst_gap: A firing whose wall time falls in a forward DST gap: ``"cronie"`` (at the
            jump, as cron runs a fixed-time job), ``"shift"`` (the gap's length later) or
            ``"skip"``.
        dst_repeat: A wall time that happens twice: ``"cronie"``/``"first"`` (the first
            occurrence), ``"last"`` or ``"both"``.

    Raises:
        InvalidTrigger: A unit is not an ``int >= 0`` or all are 0; a time field is out of
            range; the zone, jitter or a policy is invalid; ``end_at`` is not after
            ``start_at``.

    Example:
        >>> CalendarInterval(months=1, hour=9, timezone="Europe/Berlin").describe()
        'every month at 09:00 (Europe/Berlin)'
        >>> start = datetime(2026, 1, 31, tzinfo=timezone.utc)
        >>> monthly = CalendarInterval(months=1, start_at=start)
        >>> [t.date().isoformat() for t in monthly.preview(3, after=start - timedelta(days=1))]
        ['2026-01-31', '2026-02-28', '2026-03-31']
    """

    kind: ClassVar[str] = "calendar_interval"

    years: int
    months: int
    weeks: int
    days: int
    hour: int
    minute: int
    second: int
    timezone: tzinfo | None
    start_at: datetime | None
    end_at: datetime | None
    jitter: float | None
    dst_gap: GapPolicy
    dst_repeat: RepeatPolicy
    #: When the job was added, the anchor of a sequence without ``start_at`` (set by the
    #: scheduler through :meth:`anchor`; stored, but not part of equality, so a re-declared
    #: job equals the stored one and keeps its anchor).
    anchored_at: datetime | None = field(init=False, compare=False, default=None)

    def __init__(
        self,
        years: int = 0,
        months: int = 0,
        weeks: int = 0,
        days: int = 0,
        *,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        timezone: str | tzinfo | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        jitter: float | timedelta | None = None,
        dst_gap: GapPolicy = "cronie",
        dst_repeat: RepeatPolicy = "cronie",
    ) -> None:
        units = dict(zip(_UNITS, (years, months, weeks, days), strict=True))
        for name, value in units.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidTrigger(f"{name} must be an int >= 0, got {value!r}")
        if not any(units.values()):
            raise InvalidTrigger("CalendarInterval needs a step: years, months, weeks or days > 0")
        for (name, top), value in zip(_TIME_FIELDS, (hour, minute, second), strict=True):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise InvalidTrigger(f"{name} must be an int in 0-{top}, got {value!r}")
        check_policies(dst_gap, dst_repeat)
        zone = None if timezone is None else _time.to_zone(timezone)
        start = _time.to_datetime(start_at, "start_at")
        end = _time.to_datetime(end_at, "end_at")
        if zone is not None:
            start = _time.resolve_naive(start, zone, "start_at")
            end = _time.resolve_naive(end, zone, "end_at")
        _time.check_order(start, end)
        values = {**units, "hour": hour, "minute": minute, "second": second}
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "timezone", zone)
        object.__setattr__(self, "start_at", start)
        object.__setattr__(self, "end_at", end)
        object.__setattr__(self, "jitter", _time.to_jitter(jitter))
        object.__setattr__(self, "dst_gap", dst_gap)
        object.__setattr__(self, "dst_repeat", dst_repeat)
        object.__setattr__(self, "anchored_at", None)

    # -- the contract -------------------------------------------------------------------------

    def anchor(self, now: datetime) -> CalendarInterval:
        """Anchor the sequence at ``now`` (the time the job is added) unless ``start_at``
        was given or it is anchored already."""
        if self.start_at is not None or self.anchored_at is not None:
            return self
        return _anchored(replace(self), now)

    def first_fire(self, now: datetime) -> datetime | None:
        """The first firing at or after ``start_at`` and strictly after ``now``."""
        start = self._start(now)
        return self._first_after(max(now, start - _time.MICROSECOND), start)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """The first firing strictly after ``max(prev, now)`` (``None`` after ``end_at``)."""
        target = prev if now is None or now < prev else now
        return self._first_after(target, self._start(prev))

    def bind(self, tz: tzinfo | None) -> CalendarInterval:
        """Fill a missing ``timezone`` with ``tz`` (or UTC) and resolve naive bounds in it."""
        zone = self.timezone or (_time.UTC_ZONE if tz is None else tz)
        bound = replace(
            self,
            timezone=zone,
            start_at=_time.resolve_naive(self.start_at, zone, "start_at"),
            end_at=_time.resolve_naive(self.end_at, zone, "end_at"),
        )
        return _anchored(bound, self.anchored_at)

    def describe(self) -> str:
        """``every month at 09:00 (Europe/Berlin)``, ``every 2 weeks at 07:30``."""
        given = [
            (value, name)
            for name, value in zip(
                _UNITS, (self.years, self.months, self.weeks, self.days), strict=True
            )
            if value
        ]
        if len(given) == 1 and given[0][0] == 1:
            parts = [given[0][1][:-1]]  # "every month"
        else:
            parts = [f"{value} {name[:-1] if value == 1 else name}" for value, name in given]
        at = f"{self.hour:02d}:{self.minute:02d}" + (f":{self.second:02d}" if self.second else "")
        text = f"every {' '.join(parts)} at {at}"
        if self.timezone is not None:
            text += f" ({_time.zone_name(self.timezone)})"
        return text

    # -- the search ---------------------------------------------------------------------------

    def _zone(self) -> tzinfo:
        return self.timezone or _time.UTC

    def _start(self, fallback: datetime) -> datetime:
        start = _time.resolve_naive(self.start_at, self._zone(), "start_at")
        if start is None:
            start = self.anchored_at
        return fallback if start is None else start

    def _element(self, anchor: date, k: int) -> date | None:
        """The date of step ``k``: months first (clamped to the month's length), then days."""
        total = (anchor.month - 1) + k * (self.years * 12 + self.months)
        year, month = anchor.year + total // 12, total % 12 + 1
        if year > 9999:
            return None
        day = min(anchor.day, calendar.monthrange(year, month)[1])
        try:
            return date(year, month, day) + timedelta(days=k * (self.weeks * 7 + self.days))
        except OverflowError:
            return None

    def _first_after(self, target: datetime, start: datetime) -> datetime | None:
        """The first firing ``> target`` and ``>= start``."""
        zone = self._zone()
        anchor = start.astimezone(zone).date()
        period = (self.years * 12 + self.months) * _DAYS_PER_MONTH + self.weeks * 7 + self.days
        k = max(0, int((target.astimezone(zone).date() - anchor).days / period) - 2)
        end_at = _time.resolve_naive(self.end_at, zone, "end_at")
        clock = time(self.hour, self.minute, self.second)
        for _ in range(10_000):
            day = self._element(anchor, k)
            if day is None:
                return None
            for instant in wall_instants(
                datetime.combine(day, clock), zone, self.dst_gap, self.dst_repeat
            ):
                fire = instant.replace(tzinfo=_time.UTC)
                if fire > target and fire >= start:
                    return None if end_at is not None and fire > end_at else fire
            k += 1
        return None  # pragma: no cover - the estimate is at most a few steps short

    # -- stored form --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "calendar_interval", "version": 1, "months": 1, "hour": 9, ...}``."""
        return {
            "kind": self.kind,
            "version": self.version,
            "years": self.years,
            "months": self.months,
            "weeks": self.weeks,
            "days": self.days,
            "hour": self.hour,
            "minute": self.minute,
            "second": self.second,
            "timezone": None if self.timezone is None else _time.zone_to_json(self.timezone),
            "start_at": _time.dt_to_json(self.start_at),
            "end_at": _time.dt_to_json(self.end_at),
            "jitter": self.jitter,
            "dst_gap": self.dst_gap,
            "dst_repeat": self.dst_repeat,
            "anchored_at": _time.dt_to_json(self.anchored_at),
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> CalendarInterval:
        zone = data.get("timezone")
        built = cls(
            **{name: data.get(name, 0) for name in _UNITS},
            hour=data.get("hour", 0),
            minute=data.get("minute", 0),
            second=data.get("second", 0),
            timezone=None if zone is None else _time.zone_from_json(zone),
            start_at=_time.dt_from_json(data, "start_at"),
            end_at=_time.dt_from_json(data, "end_at"),
            jitter=data.get("jitter"),
            dst_gap=data.get("dst_gap", "cronie"),
            dst_repeat=data.get("dst_repeat", "cronie"),
        )
        return _anchored(built, _time.dt_from_json(data, "anchored_at"))


def _anchored(trigger: CalendarInterval, at: datetime | None) -> CalendarInterval:
    """Set ``anchored_at`` on a fresh copy (the field is not a constructor argument)."""
    object.__setattr__(trigger, "anchored_at", at)
    return trigger
