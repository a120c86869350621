"""A parsed cron expression and the search for its next matching wall-clock time.

The search works on naive wall-clock datetimes (whole seconds) and knows nothing of time zones:
:mod:`._cronzone` maps wall times to instants. Days are matched a month at a time through a
bit mask of the month's matching days (computed once per month and kept), so ``L``, ``W``,
``#`` and the classic day-of-month/day-of-week rule cost nothing per call; times of day are
found through per-field "next allowed value" tables.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ("CronSpec", "DaySpecials")

#: Weekday patterns repeat every 400 years (146097 days is a whole number of weeks), so a day
#: rule that matches nothing in 4800 consecutive months never matches.
_CYCLE_MONTHS = 4800
_MAX_CACHED_MONTHS = 2048
_TICK = timedelta(microseconds=1)


@dataclass(slots=True)
class DaySpecials:
    """The calendar specials of the day fields (filled while parsing)."""

    #: ``L`` (0) and ``L-n`` (n): the last day of the month, n days before it.
    last_minus: set[int] = field(default_factory=set)
    #: ``nW``: the weekday nearest to day n, within the month.
    nearest_weekday: set[int] = field(default_factory=set)
    #: ``LW``: the last weekday (Monday-Friday) of the month.
    last_weekday: bool = False
    #: ``d#n``: the n-th weekday d (0 = Sunday) of the month.
    nth_weekday: set[tuple[int, int]] = field(default_factory=set)
    #: ``dL``: the last weekday d of the month.
    last_weekday_of: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.last_minus
            or self.nearest_weekday
            or self.last_weekday
            or self.nth_weekday
            or self.last_weekday_of
        )


def _next_table(values: tuple[int, ...], size: int) -> tuple[int, ...]:
    """``table[x]``: the smallest allowed value ``>= x``, or -1; one entry past the field."""
    table, nxt = [-1] * (size + 1), -1
    allowed = set(values)
    for x in range(size - 1, -1, -1):
        if x in allowed:
            nxt = x
        table[x] = nxt
    return tuple(table)


@dataclass(frozen=True, slots=True, eq=False)
class CronSpec:
    """The allowed values of each field, and the searches over them."""

    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    #: 0 = Sunday ... 6 = Saturday.
    weekdays: frozenset[int]
    specials: DaySpecials
    #: Classic cron rule: with both day fields restricted (neither starting with ``*``), a day
    #: matching either one fires; otherwise a day must match both.
    day_or: bool
    dom_star: bool
    dow_star: bool
    #: cronie's "wildcard job": the minute or hour field (or the seconds field) starts with
    #: ``*``. Such a job follows elapsed time: not caught up after a forward jump, and run
    #: in both passes of a repeated hour.
    wildcard: bool
    has_seconds: bool
    _next_h: tuple[int, ...] = field(init=False, repr=False)
    _next_m: tuple[int, ...] = field(init=False, repr=False)
    _next_s: tuple[int, ...] = field(init=False, repr=False)
    _masks: dict[int, int] = field(init=False, repr=False, default_factory=dict)
    _weekday_bits: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "_next_h", _next_table(self.hours, 24))
        setattr_(self, "_next_m", _next_table(self.minutes, 60))
        setattr_(self, "_next_s", _next_table(self.seconds, 60))
        setattr_(self, "_masks", {})
        # For each weekday of the 1st (0 = Sunday), the days of the month on allowed weekdays.
        bits = []
        for first in range(7):
            mask = 0
            for day in range(1, 32):
                if (first + day - 1) % 7 in self.weekdays:
                    mask |= 1 << day
            bits.append(mask)
        setattr_(self, "_weekday_bits", tuple(bits))

    # -- days ---------------------------------------------------------------------------------

    def month_mask(self, year: int, month: int) -> int:
        """Bit ``d`` is set when day ``d`` of ``year``-``month`` matches the day fields."""
        key = year * 12 + month
        mask = self._masks.get(key)
        if mask is None:
            mask = self._compute_mask(year, month) if month in self.months else 0
            if len(self._masks) >= _MAX_CACHED_MONTHS:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def _compute_mask(self, year: int, month: int) -> int:
        first_wd, n = calendar.monthrange(year, month)
        first = (first_wd + 1) % 7  # calendar: Monday = 0; cron: Sunday = 0
        full = (1 << (n + 1)) - 2
        dom = 0
        for day in self.days:
            dom |= 1 << day
        sp = self.specials
        dow = self._weekday_bits[first]
        if sp:
            for back in sp.last_minus:
                if n - back >= 1:
                    dom |= 1 << (n - back)
            for day in sp.nearest_weekday:
                if day <= n:
                    dom |= 1 << _nearest_weekday(day, first, n)
            if sp.last_weekday:
                dom |= 1 << _nearest_weekday(n, first, n)
            for wd, nth in sp.nth_weekday:
                day = 1 + (wd - first) % 7 + 7 * (nth - 1)
                if day <= n:
                    dow |= 1 << day
            for wd in sp.last_weekday_of:
                dow |= 1 << (n - ((first + n - 1) % 7 - wd) % 7)
        return ((dom | dow) if self.day_or else (dom & dow)) & full

    def ever_fires(self) -> bool:
        """Whether any day matches, looking at one whole 400-year cycle."""
        return any(
            self._compute_mask(2000 + i // 12, i % 12 + 1)
            for i in range(_CYCLE_MONTHS)
            if i % 12 + 1 in self.months
        )

    def _next_day(self, year: int, month: int, day: int) -> tuple[int, int, int] | None:
        """The first matching day at or after ``year-month-day`` (``day`` may be 32)."""
        for _ in range(_CYCLE_MONTHS + 1):
            rest = self.month_mask(year, month) >> day
            if rest:
                return year, month, day + (rest & -rest).bit_length() - 1
            day = 1
            month += 1
            if month == 13:
                year, month = year + 1, 1
                if year > 9999:
                    return None
        return None  # pragma: no cover - ever_fires() guarantees a day in every cycle

    # -- times --------------------------------------------------------------------------------

    def _time_at_or_after(self, h: int, m: int, s: int) -> tuple[int, int, int] | None:
        """The first allowed time of day ``>= h:m:s`` (``s`` may be 60), or ``None``."""
        hour = self._next_h[h]
        if hour < 0:
            return None
        if hour == h:
            minute = self._next_m[m]
            if minute == m:
                second = self._next_s[s]
                if second >= 0:
                    return h, m, second
                minute = self._next_m[m + 1]
            if minute >= 0:
                return h, minute, self.seconds[0]
            hour = self._next_h[h + 1]
            if hour < 0:
                return None
        return hour, self.minutes[0], self.seconds[0]

    def next_wall(self, after: datetime) -> datetime | None:
        """The first matching wall-clock time strictly after the naive ``after``, or ``None``
        (none before the year 10000)."""
        y, mo, d = after.year, after.month, after.day
        if (self.month_mask(y, mo) >> d) & 1:
            t = self._time_at_or_after(after.hour, after.minute, after.second + 1)
            if t is not None:
                return datetime(y, mo, d, *t)
        found = self._next_day(y, mo, d + 1)
        if found is None:
            return None
        return datetime(*found, self.hours[0], self.minutes[0], self.seconds[0])

    # -- counting (misfire accounting and coalescing) ---------------------------------------

    def times_up_to(self, h: int, m: int, s: int) -> int:
        """How many allowed times of day are ``<= h:m:s``."""
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        per_hour, per_minute = len(minutes) * len(seconds), len(seconds)
        count = bisect_left(hours, h) * per_hour
        if self._next_h[h] == h:
            count += bisect_left(minutes, m) * per_minute
            if self._next_m[m] == m:
                count += bisect_right(seconds, s)
        return count

    def time_at(self, index: int) -> tuple[int, int, int]:
        """The allowed time of day at ``index`` (0-based) in order: the inverse count."""
        hour, rest = divmod(index, len(self.minutes) * len(self.seconds))
        minute, second = divmod(rest, len(self.seconds))
        return self.hours[hour], self.minutes[minute], self.seconds[second]

    def walls_between(self, first: datetime, last: datetime, limit: int) -> tuple[datetime, int]:
        """Count matching walls ``w`` with ``first <= w <= last`` (``first`` matches), at most
        ``limit``; return the last one counted and the count. Costs one step per matching day.
        """
        per_day = len(self.hours) * len(self.minutes) * len(self.seconds)
        latest, n, on_first = first, 0, True
        y, mo, d = first.year, first.month, first.day
        end = (last.year, last.month, last.day)
        while (y, mo, d) <= end:
            lo = self.times_up_to(first.hour, first.minute, first.second) - 1 if on_first else 0
            on_first = False
            hi = (
                self.times_up_to(last.hour, last.minute, last.second)
                if (y, mo, d) == end
                else per_day
            )
            k = hi - lo
            if k > 0:
                if n + k >= limit:
                    return datetime(y, mo, d, *self.time_at(lo + limit - n - 1)), limit
                n += k
                latest = datetime(y, mo, d, *self.time_at(hi - 1))
            found = self._next_day(y, mo, d + 1)
            if found is None:
                break
            y, mo, d = found
        return latest, n

    def matches(self, wall: datetime) -> bool:
        """Whether the naive wall-clock time ``wall`` (sub-seconds ignored) matches."""
        return (
            wall.second in self.seconds
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and bool((self.month_mask(wall.year, wall.month) >> wall.day) & 1)
        )

    def any_between(self, lo: datetime, hi: datetime) -> bool:
        """Whether a matching wall time ``w`` exists with ``lo <= w < hi``."""
        w = self.next_wall(lo - _TICK)
        return w is not None and w < hi


def _nearest_weekday(day: int, first: int, n: int) -> int:
    """``nW``: the Monday-Friday nearest to ``day`` without leaving the month."""
    wd = (first + day - 1) % 7
    if wd == 6:  # Saturday: Friday before, or Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if wd == 0:  # Sunday: Monday after, or Friday before on the last day
        return day + 1 if day < n else day - 2
    return day
