"""``Cron``: fire on a cron expression, in a time zone, with well-defined DST behaviour."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, ClassVar

from croniter import CroniterBadDateError, croniter

from . import _time
from ._base import MAX_SEARCH, Trigger
from ._cronspec import CronSpec, parse

__all__ = ("Cron",)

_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, init=False)
class Cron(Trigger):
    """Fire at the wall-clock times a cron expression names, in a time zone.

    The expression has 5 fields (``minute hour day-of-month month day-of-week``), or 6 with
    **seconds first** (``second minute hour day-of-month month day-of-week``), or is one of the
    aliases ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``,
    ``@hourly``. A field is ``*`` or a comma-separated list of values, ranges ``a-b`` and
    steps (``*/n``, ``a-b/n``, ``a/n``). Months and weekdays may be written as names
    (``jan``-``dec``, ``sun``-``sat``, any case); day-of-week ``7`` is Sunday. When both day
    fields are restricted (neither starts with ``*``) a day matching either fires, as in
    classic cron; otherwise a day must match both.

    Times are computed in the zone's wall clock, then mapped to UTC:

    * a wall-clock time that happens twice (autumn fall-back) fires once, at its first
      occurrence, when the hour field is fixed (does not start with ``*``); with an hour field
      of ``*`` or ``*/n`` (``*/15 * * * *``, ``@hourly``) it fires at both occurrences, since
      such a job follows elapsed time (what cronie and Vixie cron do);
    * a wall-clock time inside a spring-forward gap fires at the first instant after the gap
      (``30 2 * * *`` in Europe/Berlin fires at 03:00 CEST on the last Sunday of March); the
      times of one gap fire once between them.

    Firings are strictly increasing. The first firing is the first one after the job is
    added (and at or after ``start_at``); none happens after ``end_at``.

    Args:
        expression: The cron expression.
        timezone: An IANA key (``"Europe/Berlin"``) or a tzinfo. ``None`` means the
            scheduler's time zone, or UTC, resolved by :meth:`bind`.
        jitter: Maximum random delay, in seconds or as a ``timedelta``, that the scheduler
            adds to each firing; ``None`` for none.
        start_at: No firing before this time. A naive datetime is read in the cron's zone.
        end_at: No firing after this time. A naive datetime is read in the cron's zone.

    Raises:
        InvalidTrigger: The expression is malformed (the message names the field and the
            value), names days that never exist (``0 0 30 2 *``), the time zone is unknown,
            the jitter is negative, or ``end_at`` is not after ``start_at``.

    Example:
        >>> Cron("0 9 * * mon-fri", timezone="Europe/Berlin").describe()
        "cron '0 9 * * mon-fri' (Europe/Berlin)"
    """

    kind: ClassVar[str] = "cron"

    expression: str
    timezone: tzinfo | None
    jitter: float | None
    start_at: datetime | None
    end_at: datetime | None
    _spec: CronSpec = field(init=False, repr=False, compare=False)
    #: Parsed once; each search iterates a shallow copy, so the trigger stays immutable.
    _proto: croniter[datetime] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        expression: str,
        *,
        timezone: str | tzinfo | None = None,
        jitter: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
    ) -> None:
        spec = parse(expression)
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
        object.__setattr__(self, "_spec", spec)
        proto = croniter(
            spec.croniter_expression, datetime(2000, 1, 1), ret_type=datetime, day_or=spec.day_or
        )
        object.__setattr__(self, "_proto", proto)

    # -- the contract -------------------------------------------------------------------------

    def first_fire(self, now: datetime) -> datetime | None:
        """Return the first firing strictly after ``now`` and at or after ``start_at``."""
        return self._fire_from(now)

    def next_after_ts(self, prev: float) -> float | None:
        """:meth:`next_after` on timestamps, memoised: many jobs often share one expression
        and fire at the same instants (``0 * * * *``), so each slot is computed once."""
        return _next_ts(self, prev)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return the first firing strictly after ``max(prev, now)``, or ``None`` after ``end_at``.

        Also ``None`` when no matching time exists within croniter's 50-year search window
        or before the year 9999: the search is always bounded.
        """
        return self._fire_from(prev if now is None or now < prev else now)

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Count firings in ``(after, until]``, a whole day at a time where possible."""
        return self.latest_at_or_before(after, until, limit)[1]

    def latest_at_or_before(
        self, after: datetime, until: datetime, limit: int = MAX_SEARCH
    ) -> tuple[datetime, int]:
        """Return the latest firing ``<= until`` after ``after``, and how many there are.

        Firings are counted a stretch at a time: from a firing to the end of its local day, or
        to the DST change within it, they are the matching times of day shifted by one offset,
        so a week of a per-second cron costs about as much as a week of a daily one. Only the
        collapsed end of a spring-forward gap and the repeated hour of a fixed-hour cron are
        stepped over one firing at a time.
        """
        zone = _time.UTC if self.timezone is None else self.timezone
        end_at = _time.resolve_naive(self.end_at, zone, "end_at")
        if end_at is not None and end_at < until:
            until = end_at
        spec = self._spec
        latest, count = after, 0
        while count < limit:
            first = self._fire_from(latest)
            if first is None or first > until:
                break
            stretch = self._steady_stretch(first, zone)
            if stretch is None:
                latest, count = first, count + 1
                continue
            wall, offset, stretch_end = stretch
            bound = min(until, stretch_end - _ONE_MICROSECOND)
            done = spec.times_up_to(wall.time()) - 1  # the index of `first` in its day
            todo = min(spec.times_up_to((bound + offset).time()) - done, limit - count)
            last = datetime.combine(wall.date(), spec.time_at(done + todo - 1), _time.UTC)
            latest, count = last - offset, count + todo
        return latest, count

    def _steady_stretch(
        self, first: datetime, zone: tzinfo
    ) -> tuple[datetime, timedelta, datetime] | None:
        """``(wall, offset, end)``: from the firing ``first`` to ``end`` (at the latest the end
        of its local day), firings are exactly the matching wall times shifted by ``offset``.

        ``None`` when ``first`` is the collapsed end of a gap (its wall time need not match),
        or the second pass of a repeated hour of a fixed-hour cron (its times don't fire).
        """
        local = first.astimezone(zone)
        offset = local.utcoffset()
        assert offset is not None
        wall = local.replace(tzinfo=None)
        if not self._spec.matches(wall) or (local.fold and not self._spec.wildcard_hour):
            return None
        try:
            day_end = _time.localize(datetime.combine(wall.date() + _ONE_DAY, time()), zone)
        except OverflowError:  # the last day of year 9999
            return None
        if _time.offset_at(zone, day_end - _ONE_MICROSECOND) == offset:
            return wall, offset, day_end
        return wall, offset, _time.transition(zone, first, day_end - _ONE_MICROSECOND)

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
        """``cron '0 9 * * mon-fri' (Europe/Berlin)``; the zone is left out until bound."""
        zone = "" if self.timezone is None else f" ({_time.zone_name(self.timezone)})"
        return f"cron {self.expression!r}{zone}"

    # -- the search ---------------------------------------------------------------------------

    def _fire_from(self, after: datetime) -> datetime | None:
        zone = _time.UTC if self.timezone is None else self.timezone
        start_at = _time.resolve_naive(self.start_at, zone, "start_at")
        end_at = _time.resolve_naive(self.end_at, zone, "end_at")
        if start_at is not None and after < start_at:
            after = start_at - _ONE_MICROSECOND
        try:
            nxt = self._fire_after(after.astimezone(_time.UTC), zone)
        except OverflowError:  # within a day of datetime.max: nothing follows
            return None
        if nxt is None or (end_at is not None and nxt > end_at):
            return None
        return nxt

    def _fire_after(self, after: datetime, zone: tzinfo) -> datetime | None:
        """The first firing strictly after the instant ``after`` (aware UTC), or ``None``.

        Firings are the wall times croniter yields, each mapped by :func:`_time.localize`
        (first occurrence; gap -> end of the gap), plus, for a wildcard hour, the second
        occurrence of each repeated time. That mapping keeps wall-clock order everywhere but
        in a repeated hour, so the only care needed is when ``after`` falls inside one.
        """
        local = after.astimezone(zone)
        wall = local.replace(tzinfo=None)
        first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
        off_first, off_second = first.utcoffset(), second.utcoffset()
        assert off_first is not None
        assert off_second is not None
        if off_first <= off_second:  # not in a repeated hour: wall order is instant order
            return self._localize(self._wall_after(wall), zone)
        # `after` is in a repeated span of wall times [repeat_start, repeat_end), which is
        # lived once before the clocks go back at `change` and once after.
        change = _time.transition(zone, first.astimezone(_time.UTC), second.astimezone(_time.UTC))
        change_wall = change.replace(tzinfo=None)
        repeat_start, repeat_end = change_wall + off_second, change_wall + off_first
        if local.fold == 0:  # first pass: later walls keep their first occurrence
            candidate = self._localize(self._wall_after(wall), zone)
        else:  # second pass: the first occurrences of the span are all in the past
            candidate = self._localize(self._wall_after(repeat_end - _ONE_SECOND), zone)
        if self._spec.wildcard_hour:
            # Second occurrences of the span, all after `change` (so after `after` on the
            # first pass), all before any wall at or past repeat_end.
            w = self._wall_after(wall if local.fold else repeat_start - _ONE_SECOND)
            if w is not None and w < repeat_end:
                again = w.replace(tzinfo=zone, fold=1).astimezone(_time.UTC)
                if candidate is None or again < candidate:
                    candidate = again
        return candidate

    def _wall_after(self, wall: datetime) -> datetime | None:
        """The first wall-clock time strictly after the naive ``wall`` matching the expression."""
        it = copy.copy(self._proto)
        try:
            return it.get_next(datetime, start_time=wall)
        except (CroniterBadDateError, ValueError, OverflowError):
            # No match within croniter's 50-year window, or past datetime.max.
            return None

    @staticmethod
    def _localize(wall: datetime | None, zone: tzinfo) -> datetime | None:
        if wall is None:
            return None
        try:
            return _time.localize(wall, zone)
        except OverflowError:  # a wall time in year 9999 whose instant is past datetime.max
            return None

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
        )


@functools.lru_cache(maxsize=4096)
def _next_ts(trigger: Cron, prev: float) -> float | None:
    return Trigger.next_after_ts(trigger, prev)
