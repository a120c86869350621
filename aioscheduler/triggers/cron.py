"""``Cron``: fire on a cron expression, in a time zone, with well-defined DST behaviour."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from ..errors import InvalidTrigger
from . import _time
from ._base import MAX_SEARCH, Trigger
from ._cronparse import parse
from ._cronspec import CronSpec
from ._cronzone import (
    GAP_POLICIES,
    REPEAT_POLICIES,
    GapPolicy,
    RepeatPolicy,
    Timeline,
    to_naive_utc,
)
from ._describe import describe_cron

__all__ = ("Cron",)

_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Cron(Trigger):
    """Fire at the wall-clock times a cron expression names, in a time zone.

    The expression has 5 fields (``minute hour day-of-month month day-of-week``), or 6 with
    **seconds first** (``second minute hour day-of-month month day-of-week``), or is one of the
    aliases ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``,
    ``@hourly``. A field is ``*`` or a comma-separated list of values, ranges ``a-b`` and
    steps (``*/n``, ``a-b/n``, ``a/n``). Months and weekdays may be written as names
    (``jan``-``dec``, ``sun``-``sat``, any case); day-of-week ``7`` is Sunday. Day specials:
    ``L`` (last day), ``L-n``, ``nW`` (nearest weekday), ``LW`` in day-of-month; ``d#n``
    (``fri#2``) and ``dL`` (``5L``, last Friday) in day-of-week; ``?`` is ``*``. When both day
    fields are restricted (neither starts with ``*``) a day matching either fires, as in
    classic cron; otherwise a day must match both.

    Times are computed in the zone's wall clock, then mapped to UTC. At DST changes the
    default policies (``"cronie"``) do what cronie does: a *wildcard* job (minute or hour field
    starting with ``*``) has no firing for wall times inside a forward gap and fires in both
    passes of a repeated hour; a *fixed-time* job due inside a gap runs once at the jump, and
    a repeated time once, at its first occurrence. ``dst_gap`` / ``dst_repeat`` choose another
    rule (see the docs' DST tables). Simultaneous firings fold into one, so firings are
    strictly increasing. The first firing is the first one after the job is added (and at or
    after ``start_at``); none happens after ``end_at``.

    Args:
        expression: The cron expression.
        timezone: An IANA key (``"Europe/Berlin"``) or a tzinfo. ``None`` means the
            scheduler's time zone, or UTC, resolved by :meth:`bind`.
        jitter: Maximum random delay, in seconds or as a ``timedelta``, that the scheduler
            adds to each firing; ``None`` for none.
        start_at: No firing before this time. A naive datetime is read in the cron's zone.
        end_at: No firing after this time. A naive datetime is read in the cron's zone.
        dst_gap: A wall time inside a forward gap: ``"cronie"`` (default), ``"shift"`` (fires
            the gap's length later) or ``"skip"`` (no firing).
        dst_repeat: A wall time lived twice: ``"cronie"`` (default), ``"first"``, ``"last"``
            or ``"both"``.

    Raises:
        InvalidTrigger: The expression is malformed (the message names the field and the
            value), names days that never exist (``0 0 30 2 *``), the time zone is unknown,
            the jitter is negative, a DST policy is unknown, or ``end_at`` is not after
            ``start_at``.

    Example:
        >>> Cron("0 9 * * mon-fri", timezone="Europe/Berlin").describe()
        'at 09:00 on Monday through Friday (Europe/Berlin)'
        >>> Cron("0 0 * * fri#2").describe()
        'at 00:00 on the second Friday of the month'
        >>> Cron("*/15 * * * *")
        Cron('*/15 * * * *')  # every 15 minutes
    """

    kind: ClassVar[str] = "cron"
    #: Version 2 adds ``dst_gap`` and ``dst_repeat`` (version 1 means both ``"cronie"``).
    version: ClassVar[int] = 2

    expression: str
    timezone: tzinfo | None
    jitter: float | None
    start_at: datetime | None
    end_at: datetime | None
    dst_gap: GapPolicy
    dst_repeat: RepeatPolicy
    _spec: CronSpec = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        expression: str,
        *,
        timezone: str | tzinfo | None = None,
        jitter: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        dst_gap: GapPolicy = "cronie",
        dst_repeat: RepeatPolicy = "cronie",
    ) -> None:
        spec = _parse(expression) if isinstance(expression, str) else parse(expression)
        check_policies(dst_gap, dst_repeat)
        zone = None if timezone is None else _time.to_zone(timezone)
        start = _time.to_datetime(start_at, "start_at")
        end = _time.to_datetime(end_at, "end_at")
        if zone is not None:
            start = _time.resolve_naive(start, zone, "start_at")
            end = _time.resolve_naive(end, zone, "end_at")
        _time.check_order(start, end)
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "timezone", zone)
        object.__setattr__(self, "jitter", _time.to_jitter(jitter))
        object.__setattr__(self, "start_at", start)
        object.__setattr__(self, "end_at", end)
        object.__setattr__(self, "dst_gap", dst_gap)
        object.__setattr__(self, "dst_repeat", dst_repeat)
        object.__setattr__(self, "_spec", spec)

    # -- the contract -------------------------------------------------------------------------

    def first_fire(self, now: datetime) -> datetime | None:
        """Return the first firing strictly after ``now`` and at or after ``start_at``."""
        return self._fire_from(now)

    def next_after_ts(self, prev: float) -> float | None:
        """:meth:`next_after` on timestamps, memoised: many jobs often share one expression
        and fire at the same instants (``0 * * * *``), so each slot is computed once."""
        return _next_ts(self, prev)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return the first firing strictly after ``max(prev, now)``, or ``None`` after ``end_at``
        (or when no matching time exists before the year 10000)."""
        return self._fire_from(prev if now is None or now < prev else now)

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Count firings in ``(after, until]``, a whole stretch of wall times at a time."""
        return self.latest_at_or_before(after, until, limit)[1]

    def latest_at_or_before(
        self, after: datetime, until: datetime, limit: int = MAX_SEARCH
    ) -> tuple[datetime, int]:
        """Return the latest firing ``<= until`` after ``after``, and how many there are.

        Firings are counted a stretch at a time: between two DST changes they are the matching
        wall times shifted by one offset, so a week of a per-second cron costs about as much
        as a week of a daily one. Only firings at a DST change are stepped over one at a time.
        """
        _, end_at = self._bounds()
        if end_at is not None and end_at < until:
            until = end_at
        if until <= after:
            return after, 0
        latest, count = self._timeline().latest_at_or_before(
            to_naive_utc(after), to_naive_utc(until), limit
        )
        return (after, 0) if count == 0 else (latest.replace(tzinfo=_time.UTC), count)

    def bind(self, tz: tzinfo | None) -> Cron:
        """Return a copy whose ``timezone`` is filled with ``tz`` (or UTC) if it was ``None``.

        A naive ``start_at``/``end_at`` is then read in that zone.

        Raises:
            InvalidTrigger: ``tz`` is not a usable time zone, or once resolved ``end_at`` is
                not after ``start_at``.
        """
        if self.timezone is not None:
            return self
        return replace(self, timezone=_time.UTC_ZONE if tz is None else tz)

    def describe(self) -> str:
        """An English sentence: ``at 09:00 on Monday through Friday (Europe/Berlin)``.

        Times are zero-padded wall-clock times in the zone, which is left out until bound;
        DST policies other than ``"cronie"`` are named at the end.
        """
        text = describe_cron(self._spec)
        if self.timezone is not None:
            text += f" ({_time.zone_name(self.timezone)})"
        if self.dst_gap != "cronie":
            text += f", dst_gap={self.dst_gap}"
        if self.dst_repeat != "cronie":
            text += f", dst_repeat={self.dst_repeat}"
        return text

    def call_repr(self) -> str:
        """``Cron('expression', timezone=..., ...)``: the options that differ from the defaults."""
        parts = [repr(self.expression)]
        if self.timezone is not None:
            parts.append(f"timezone={_time.zone_name(self.timezone)!r}")
        for name in ("jitter", "start_at", "end_at"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        for name in ("dst_gap", "dst_repeat"):
            if getattr(self, name) != "cronie":
                parts.append(f"{name}={getattr(self, name)!r}")
        return f"Cron({', '.join(parts)})"

    # -- the search ---------------------------------------------------------------------------

    def _timeline(self) -> Timeline:
        return _timeline(self._spec, self.timezone or _time.UTC, self.dst_gap, self.dst_repeat)

    def _bounds(self) -> tuple[datetime | None, datetime | None]:
        zone = self.timezone or _time.UTC
        return (
            _time.resolve_naive(self.start_at, zone, "start_at"),
            _time.resolve_naive(self.end_at, zone, "end_at"),
        )

    def _fire_from(self, after: datetime) -> datetime | None:
        start_at, end_at = self._bounds()
        if start_at is not None and after < start_at:
            after = start_at - _ONE_MICROSECOND
        nxt = self._timeline().fire_after(to_naive_utc(after))
        if nxt is None:
            return None
        fire = nxt.replace(tzinfo=_time.UTC)
        if end_at is not None and fire > end_at:
            return None
        return fire

    # -- stored form --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "cron", "version": 1, "expression", "timezone", "jitter", ...}``.

        Raises:
            SerializationError: The time zone has no key (not a ``ZoneInfo`` with a key
                or a ``datetime.timezone``).
        """
        return {
            "kind": self.kind,
            "version": self.version,
            "expression": self.expression,
            "timezone": None if self.timezone is None else _time.zone_to_json(self.timezone),
            "jitter": self.jitter,
            "start_at": _time.dt_to_json(self.start_at),
            "end_at": _time.dt_to_json(self.end_at),
            "dst_gap": self.dst_gap,
            "dst_repeat": self.dst_repeat,
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Cron:
        zone = data.get("timezone")
        return cls(
            _time.required(data, "expression"),
            timezone=None if zone is None else _time.zone_from_json(zone),
            jitter=data.get("jitter"),
            start_at=_time.dt_from_json(data, "start_at"),
            end_at=_time.dt_from_json(data, "end_at"),
            dst_gap=data.get("dst_gap", "cronie"),
            dst_repeat=data.get("dst_repeat", "cronie"),
        )


#: Equal expressions share one parsed spec (and so its cached month masks and timelines).
_parse = functools.lru_cache(maxsize=1024)(parse)


def check_policies(dst_gap: object, dst_repeat: object) -> None:
    """Validate the ``dst_gap``/``dst_repeat`` keywords (shared with ``CalendarInterval``)."""
    if dst_gap not in GAP_POLICIES:
        raise InvalidTrigger(f"dst_gap must be one of {', '.join(GAP_POLICIES)}; got {dst_gap!r}")
    if dst_repeat not in REPEAT_POLICIES:
        raise InvalidTrigger(
            f"dst_repeat must be one of {', '.join(REPEAT_POLICIES)}; got {dst_repeat!r}"
        )


@functools.lru_cache(maxsize=256)
def _timeline(spec: CronSpec, zone: tzinfo, gap: GapPolicy, repeat: RepeatPolicy) -> Timeline:
    return Timeline(spec, zone, gap, repeat)


@functools.lru_cache(maxsize=4096)
def _next_ts(trigger: Cron, prev: float) -> float | None:
    """One computation per (trigger, slot): 1,000 jobs on one expression share it."""
    nxt = trigger.next_after(_time.ts_to_datetime(prev))
    return None if nxt is None else _time.datetime_to_ts(nxt)
