"""From matching wall-clock times to instants: time-zone transitions and the DST policies.

A zone's timeline is cut at its offset changes into *segments* of constant offset. Inside a
segment a firing is a matching wall time minus the offset. At the edges the policies apply:

* forward jump (a gap of wall times that never happen), ``dst_gap``:
  ``"cronie"`` - what cronie's main loop does (cron.c): a jump shorter than 5 minutes runs
  every job once for the skipped minutes; a jump shorter than 3 hours runs the *fixed-time*
  jobs due in the gap once, at the jump, and nothing for *wildcard* jobs (minute or hour field
  starting with ``*``); a longer jump catches nothing up. ``"shift"`` - a gap time fires the
  gap's length later (PEP 495 ``fold=0``). ``"skip"`` - gap times never fire.
* backward jump (wall times lived twice), ``dst_repeat``: ``"cronie"`` - wildcard jobs fire in
  both passes, fixed-time jobs in the first only (a jump back of more than 3 hours: both);
  ``"first"``, ``"last"``, ``"both"``.

Instants here are naive UTC datetimes, walls naive local datetimes; both exact to the
microsecond (no float timestamps anywhere).
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final, Literal

from ._cronspec import CronSpec

__all__ = (
    "GAP_POLICIES",
    "REPEAT_POLICIES",
    "GapPolicy",
    "RepeatPolicy",
    "Timeline",
    "to_naive_utc",
    "wall_instants",
)

GapPolicy = Literal["cronie", "shift", "skip"]
RepeatPolicy = Literal["cronie", "first", "last", "both"]
GAP_POLICIES: Final = ("cronie", "shift", "skip")
REPEAT_POLICIES: Final = ("cronie", "first", "last", "both")

_TICK = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
#: cron.c: a wake-up more than 5 units late is a "medium" jump, more than 180 a "large" one.
_SMALL_JUMP = timedelta(minutes=5)
_LARGE_JUMP = timedelta(hours=3)
#: Bound on segments walked by one search (two offset changes a year until the year 9999).
_MAX_SEGMENTS = 40_000

Transition = tuple[datetime, timedelta, timedelta]  # instant (naive UTC), offset before, after


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _bisect_change(zone: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The first whole second in ``(lo, hi]`` with the offset ``hi`` has."""
    target = _offset(zone, hi)
    a, b = 0, int((hi - lo).total_seconds())
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(zone, lo + timedelta(seconds=mid)) == target:
            b = mid
        else:
            a = mid
    return lo + timedelta(seconds=b)


@functools.lru_cache(maxsize=1024)
def _year(zone: tzinfo, year: int) -> tuple[Transition, ...]:
    """Offset changes of ``zone`` at instants in ``(Jan 1 year, Jan 1 year+1]`` UTC.

    Found by sampling each day, then each hour of a day whose offset changed, then bisecting
    seconds: changes that undo each other within one day are not seen (no zone has any).
    """
    if isinstance(zone, timezone):
        return ()
    try:
        start = datetime(year, 1, 1)
        days = (datetime(year + 1, 1, 1) - start).days if year < 9999 else 364
        out: list[Transition] = []
        prev_t, prev_o = start, _offset(zone, start)
        for k in range(1, days + 1):
            t = start + k * _DAY
            o = _offset(zone, t)
            if o != prev_o:
                h_t, h_o = prev_t, prev_o
                for h in range(1, 25):
                    u = prev_t + h * _HOUR
                    uo = _offset(zone, u)
                    if uo != h_o:
                        out.append((_bisect_change(zone, h_t, u), h_o, uo))
                    h_t, h_o = u, uo
            prev_t, prev_o = t, o
        return tuple(out)
    except OverflowError:  # the first or last day of the datetime range
        return ()


@functools.lru_cache(maxsize=1024)
def _window(zone: tzinfo, year: int) -> tuple[tuple[datetime, ...], tuple[Transition, ...]]:
    """Transitions of the years ``year - 1`` to ``year + 1``, and their instants."""
    trans = tuple(
        t for y in range(max(1, year - 1), min(9999, year + 1) + 1) for t in _year(zone, y)
    )
    return tuple(t[0] for t in trans), trans


class Segment:
    """The stretch of constant offset around an instant: ``[start, end)``."""

    __slots__ = ("end", "next_offset", "offset", "prev_offset", "start")

    def __init__(self, zone: tzinfo, t: datetime) -> None:
        instants, trans = _window(zone, t.year)
        i = bisect_right(instants, t)
        self.start: datetime | None = None
        self.end: datetime | None = None
        if i:
            self.start, self.prev_offset, self.offset = trans[i - 1]
        if i < len(trans):
            self.end, before, self.next_offset = trans[i]
            if not i:
                self.offset = self.prev_offset = before
        else:
            if not i:
                self.offset = self.prev_offset = _offset(zone, t)
            self.next_offset = self.offset
            if t.year < 9998:  # not a change: the end of what was looked at
                self.end = datetime(t.year + 2, 1, 1)


class Timeline:
    """The firings of a cron spec in a zone under DST policies (naive UTC instants)."""

    __slots__ = ("_exclude_second", "gap", "repeat", "spec", "unit", "zone")

    def __init__(self, spec: CronSpec, zone: tzinfo, gap: GapPolicy, repeat: RepeatPolicy) -> None:
        self.spec, self.zone, self.gap, self.repeat = spec, zone, gap, repeat
        self.unit = timedelta(seconds=1) if spec.has_seconds else timedelta(minutes=1)

    def _skips_second_pass(self, back: timedelta) -> bool:
        if self.repeat == "cronie":
            return not self.spec.wildcard and back <= _LARGE_JUMP + self.unit
        return self.repeat == "first"

    def _catches_up(self, jump: timedelta) -> bool:
        """cronie: whether the jobs due in a forward jump of ``jump`` run at the jump."""
        return jump < _SMALL_JUMP or (jump < _LARGE_JUMP and not self.spec.wildcard)

    def _bounds(self, seg: Segment) -> tuple[datetime | None, datetime | None]:
        """Wall times ``[lo, hi)`` that fire by the regular rule in ``seg`` (``None``: open)."""
        lo = hi = None
        o = seg.offset
        if seg.start is not None:
            lo = seg.start + o
            if o < seg.prev_offset and self._skips_second_pass(seg.prev_offset - o):
                lo = seg.start + seg.prev_offset
        if seg.end is not None:
            hi = seg.end + o
            if seg.next_offset < o and self.repeat == "last":
                hi = seg.end + seg.next_offset
        return lo, hi

    def fire_after(self, a: datetime) -> datetime | None:
        """The first firing strictly after the instant ``a``, or ``None``."""
        try:
            return self._fire_after(a)
        except OverflowError:  # within a day of datetime.min/max
            return None

    def _fire_after(self, a: datetime) -> datetime | None:
        spec, t = self.spec, a
        memo_x: datetime | None = None
        memo_w: datetime | None = None
        for _ in range(_MAX_SEGMENTS):
            seg = Segment(self.zone, t)
            o, start, best = seg.offset, seg.start, None
            if start is not None and o > seg.prev_offset:  # a gap of walls [g_lo, g_hi)
                g_lo, g_hi = start + seg.prev_offset, start + o
                if self.gap == "shift":
                    w = spec.next_wall(max(a + seg.prev_offset, g_lo - _TICK))
                    if w is not None and w < g_hi:
                        best = w - seg.prev_offset
                elif (
                    self.gap == "cronie"
                    and start > a
                    and self._catches_up(o - seg.prev_offset)
                    and spec.any_between(g_lo, g_hi)
                ):
                    return start
            lo, hi = self._bounds(seg)
            x = a + o
            if lo is not None and x < lo:
                x = lo - _TICK
            if memo_x is not None and memo_x <= x and (memo_w is None or x < memo_w):
                w = memo_w
            else:
                w = memo_w = spec.next_wall(x)
                memo_x = x
            if w is not None and (hi is None or w < hi):
                cand = w - o
                if best is None or cand < best:
                    best = cand
            if best is not None:
                return best
            if w is None or seg.end is None:
                return None
            t = seg.end
        return None

    def latest_at_or_before(
        self, after: datetime, until: datetime, limit: int
    ) -> tuple[datetime, int]:
        """The latest firing ``<= until`` after ``after`` and how many there are (at most
        ``limit``), a stretch of plain wall times at a time."""
        latest, count = after, 0
        while count < limit:
            first = self.fire_after(latest)
            if first is None or first > until:
                break
            seg = Segment(self.zone, first)
            o = seg.offset
            wall = first + o
            lo, hi = self._bounds(seg)
            shifted = (
                self.gap == "shift"
                and seg.start is not None
                and o > seg.prev_offset
                and first < seg.start + (o - seg.prev_offset)
            )
            if (
                shifted
                or not self.spec.matches(wall)
                or (lo is not None and wall < lo)
                or (hi is not None and wall >= hi)
            ):
                latest, count = first, count + 1  # a firing at a jump: one at a time
                continue
            last = until + o
            if hi is not None and last >= hi:
                last = hi - _TICK
            last_wall, n = self.spec.walls_between(wall, last, limit - count)
            latest, count = last_wall - o, count + n
        return latest, count


def wall_instants(
    wall: datetime, zone: tzinfo, gap: GapPolicy, repeat: RepeatPolicy
) -> list[datetime]:
    """The instants (naive UTC) of one fixed-time wall time under the policies: none (a
    skipped gap time), one, or two (``"both"`` in a repeat). ``"cronie"`` treats it as
    cronie treats a fixed-time job."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    o0, o1 = first.utcoffset(), second.utcoffset()
    assert o0 is not None
    assert o1 is not None
    i0, i1 = wall - o0, wall - o1
    if o0 == o1:
        return [i0]
    if o0 > o1:  # repeated: i0 is the first occurrence
        mode = repeat
        if mode == "cronie":
            mode = "both" if o0 - o1 > _LARGE_JUMP + timedelta(minutes=1) else "first"
        return {"first": [i0], "last": [i1]}.get(mode, [i0, i1])
    if gap == "shift":
        return [i0]
    if gap == "skip" or o1 - o0 >= _LARGE_JUMP:
        return []
    end = Segment(zone, i1).end  # i1 is just before the jump; its segment ends there
    return [] if end is None else [end]


def to_naive_utc(value: datetime) -> datetime:
    """An aware datetime as a naive UTC one."""
    if value.tzinfo is UTC:
        return value.replace(tzinfo=None)
    return value.astimezone(UTC).replace(tzinfo=None)
