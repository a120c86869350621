"""Independent models of when a cron job runs, written from cronie's sources, not from Cron.

* :func:`simulate_cronie` replays cronie's main loop (``cron.c``: ``timeRunning``,
  ``virtualTime`` and the small / medium / large / negative wake-up cases) one unit of real
  time at a time - a minute for 5-field expressions, a second for 6-field ones (cronie has no
  seconds field; the extension keeps its rules with the second as the unit) - and records the
  instants at which ``find_jobs`` would start the job.
* :func:`policy_firings` maps every matching wall time to instants by the DST policies of
  ``Cron(dst_gap=..., dst_repeat=...)``, from PEP 495 ``fold`` alone.

:class:`Entry` parses an expression the way ``entry.c`` does (bit sets, ``*`` flags), with its
own code: no import from aioscheduler.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_EPOCH = datetime(1970, 1, 1)


class Entry:
    """One crontab line's schedule, as ``entry.c::load_entry`` reads it."""

    def __init__(self, expression: str) -> None:
        aliases = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}
        fields = aliases.get(expression, expression).split()
        self.has_seconds = len(fields) == 6
        if not self.has_seconds:
            fields.insert(0, "0")
        sec, minute, hour, dom, month, dow = fields
        self.second = _bits(sec, 0, 59, [])
        self.minute = _bits(minute, 0, 59, [])
        self.hour = _bits(hour, 0, 23, [])
        self.dom = _bits(dom, 1, 31, [])
        self.month = _bits(month, 1, 12, _MONTHS)
        self.dow = {d % 7 for d in _bits(dow, 0, 7, _DAYS)}
        # entry.c sets MIN_STAR / HR_STAR / DOM_STAR / DOW_STAR when the field starts with '*'
        # (and @hourly sets HR_STAR, as "0 * * * *" does here).
        self.dom_star, self.dow_star = dom.startswith("*"), dow.startswith("*")
        stars = [minute, hour] + ([sec] if self.has_seconds else [])
        self.wild = any(f.startswith("*") for f in stars)

    def matches(self, wall: datetime) -> bool:
        """``find_jobs``: is the job due at the wall time ``wall``?"""
        if not (
            wall.second in self.second
            and wall.minute in self.minute
            and wall.hour in self.hour
            and wall.month in self.month
        ):
            return False
        dow_ok = wall.isoweekday() % 7 in self.dow
        dom_ok = wall.day in self.dom
        if self.dom_star or self.dow_star:
            return dow_ok and dom_ok
        return dow_ok or dom_ok


def _bits(text: str, low: int, high: int, names: list[str]) -> set[int]:
    def number(token: str) -> int:
        if token.lower() in names:
            return names.index(token.lower()) + (1 if names is _MONTHS else 0)
        return int(token)

    out: set[int] = set()
    for item in text.split(","):
        rng, _, step = item.partition("/")
        if rng == "*":
            a, b = low, high
        elif "-" in rng:
            a, b = (number(x) for x in rng.split("-"))
        else:
            a = b = number(rng)
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def simulate_cronie(
    expression: str, zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """The instants in ``(start, end]`` at which cronie, running in ``zone``, starts the job.

    ``start`` must be on the unit grid. cronie wakes once a unit; ``clockTime`` is local time in
    units; ``virtualTime`` is the last unit it has run jobs for.
    """
    entry = Entry(expression)
    unit = timedelta(seconds=1) if entry.has_seconds else timedelta(minutes=1)
    per_minute = 60 if entry.has_seconds else 1
    small, large = 5 * per_minute, 180 * per_minute  # cron.c: "> 5" and "> 3 * MINUTE_COUNT"

    def clock(t: datetime) -> int:
        local = t.astimezone(zone).replace(tzinfo=None)
        return (local - _EPOCH) // unit

    fired: set[datetime] = set()

    def find_jobs(vtime: int, t: datetime, do_wild: bool, do_fixed: bool) -> None:
        wall = _EPOCH + vtime * unit
        if entry.matches(wall) and (do_wild if entry.wild else do_fixed):
            fired.add(t)

    t = start
    virtual = clock(t)
    while t < end:
        t += unit
        running = clock(t)
        diff = running - virtual
        if diff == 1 or diff > large or diff < -large:
            virtual = running
            find_jobs(running, t, True, True)
        elif diff > small:  # medium, e.g. DST start: wildcards now, fixed for each missed unit
            find_jobs(running, t, True, False)
            while virtual < running:
                virtual += 1
                find_jobs(virtual, t, False, True)
        elif diff > 0:  # small: woke up late, run every job for each missed unit
            while virtual < running:
                virtual += 1
                find_jobs(virtual, t, True, True)
        else:  # negative (or 0), e.g. DST end: only wildcard jobs, virtual time waits
            find_jobs(running, t, True, False)
    return sorted(fired)


def policy_firings(
    expression: str, zone: ZoneInfo, start: datetime, end: datetime, gap: str, repeat: str
) -> list[datetime]:
    """The instants in ``(start, end]`` of every matching wall time under the DST policies.

    Each wall time on the unit grid is read with ``fold=0`` and ``fold=1``: equal offsets mean
    one instant; a bigger ``fold=0`` offset means a repeated time (first and second
    occurrence); a smaller one a time inside a gap (``fold=0`` is the gap's length later).
    """
    entry = Entry(expression)
    unit = timedelta(seconds=1) if entry.has_seconds else timedelta(minutes=1)
    out: set[datetime] = set()
    wall = (start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=4)).replace(
        second=0, microsecond=0
    )
    last = end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=4)
    while wall <= last:
        if entry.matches(wall):
            first = wall.replace(tzinfo=zone, fold=0)
            second = wall.replace(tzinfo=zone, fold=1)
            i0, i1 = first.astimezone(UTC), second.astimezone(UTC)
            if i0 == i1:
                out.add(i0)
            elif i0 < i1:  # repeated wall time
                mode = repeat
                if mode == "cronie":
                    mode = "both" if entry.wild else "first"
                if mode in ("first", "both"):
                    out.add(i0)
                if mode in ("last", "both"):
                    out.add(i1)
            elif gap == "shift":
                out.add(i0)
            elif gap == "cronie" and not entry.wild:
                jump = i1  # fold=1 is before the jump: step to the first instant after it
                before = jump.astimezone(zone).utcoffset()
                while jump.astimezone(zone).utcoffset() == before:
                    jump += unit
                out.add(jump)
        wall += unit
    return sorted(t for t in out if start < t <= end)


def transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The instants (whole minutes, aware UTC) at which ``zone`` changes offset in ``year``."""
    out = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    while t.year == year:
        if (t + hour).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            m = t
            while m.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset():
                m += timedelta(minutes=1)
            out.append(m)
        t += hour
    return out
