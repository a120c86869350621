"""English descriptions of cron expressions, for ``Cron.describe()`` (times zero-padded).

``0 9 * * mon-fri`` -> ``at 09:00 on Monday through Friday``; ``*/15 * * * *`` -> ``every 15
minutes``; ``0 0 L * *`` -> ``at 00:00 on the last day of the month``.
"""

from __future__ import annotations

from ._cronspec import CronSpec

__all__ = ("describe_cron", "join_words")

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ORDINALS = ("", "first", "second", "third", "fourth", "fifth")
#: At most this many times of day are listed one by one ("at 09:00, 12:00 and 17:00").
_MAX_LISTED = 4


def join_words(words: list[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _runs(values: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    """Consecutive runs: ``[1, 2, 3, 5]`` -> ``[(1, 3), (5, 5)]``."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _named(values: list[int], names: tuple[str, ...]) -> str:
    parts = []
    for a, b in _runs(values):
        if b - a >= 2:
            parts.append(f"{names[a]} through {names[b]}")
        else:
            parts.extend(names[v] for v in range(a, b + 1))
    return join_words(parts)


def _numbers(values: tuple[int, ...] | list[int], pad: int = 0) -> str:
    parts = []
    for a, b in _runs(values):
        if b - a >= 2:
            parts.append(f"{a:0{pad}d}-{b:0{pad}d}")
        else:
            parts.extend(f"{v:0{pad}d}" for v in range(a, b + 1))
    return join_words(parts)


def _step(values: tuple[int, ...], low: int, high: int) -> int | None:
    """``n`` when ``values`` is ``low, low+n, ...`` up to the field's end (``*/n``)."""
    if len(values) < 2 or values[0] != low:
        return None
    n = values[1] - values[0]
    if list(values) == list(range(low, high + 1, n)):
        return n
    return None


def _nth(n: int) -> str:
    """``2nd``, ``3rd``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _clock(h: int, m: int, s: int | None) -> str:
    return f"{h:02d}:{m:02d}" if s is None else f"{h:02d}:{m:02d}:{s:02d}"


def _time_part(spec: CronSpec) -> str:
    hours, minutes, seconds = spec.hours, spec.minutes, spec.seconds
    show_s = spec.has_seconds and seconds != (0,)
    count = len(hours) * len(minutes) * len(seconds)
    if count <= _MAX_LISTED:
        times = [
            _clock(h, m, s if show_s else None) for h in hours for m in minutes for s in seconds
        ]
        return f"at {join_words(times)}"
    every_hour = len(hours) == 24
    if len(seconds) == 60 and len(minutes) == 60:
        head = "every second"
    elif len(seconds) == 60:
        head = f"every second of minute {_numbers(minutes, 2)}"
    elif show_s:
        n = _step(seconds, 0, 59)
        word = "second" if len(seconds) == 1 else "seconds"
        head = f"every {n} seconds" if n else f"at {word} {_numbers(seconds, 2)}"
        if len(minutes) != 60:
            m = _step(minutes, 0, 59)
            head += f" of every {_nth(m)} minute" if m else f" of minute {_numbers(minutes, 2)}"
        elif not n:
            head += " of every minute"
    elif len(minutes) == 60:
        head = "every minute"
    else:
        n = _step(minutes, 0, 59)
        head = f"every {n} minutes" if n else f"at minute {_numbers(minutes, 2)}"
    if every_hour:
        return head if head.startswith("every") or " of " in head else f"{head} of every hour"
    n = _step(hours, 0, 23)
    if n:
        joiner = ", " if head.startswith("every") else " of "
        return f"{head}{joiner}every {_nth(n)} hour"
    runs = _runs(hours)
    if len(runs) == 1 and runs[0][1] > runs[0][0]:
        a, b = runs[0]
        return f"{head} from {a:02d}:00 through {b:02d}:59"
    return f"{head} during hour {_numbers(hours, 2)}"


def _dom_part(spec: CronSpec) -> str:
    sp = spec.specials
    parts = []
    if spec.days and len(spec.days) < 31:
        days = tuple(sorted(spec.days))
        n = _step(days, 1, 31)
        if n:
            parts.append(f"every {_nth(n)} day")
        else:
            parts.append(f"{'day' if len(days) == 1 else 'days'} {_numbers(days)}")
    for back in sorted(sp.last_minus):
        parts.append("the last day" if back == 0 else f"{back} days before the last day")
    for day in sorted(sp.nearest_weekday):
        parts.append(f"the weekday nearest day {day}")
    if sp.last_weekday:
        parts.append("the last weekday")
    return f"{join_words(parts)} of the month" if parts else ""


def _dow_part(spec: CronSpec) -> str:
    sp = spec.specials
    parts = []
    if spec.weekdays and len(spec.weekdays) < 7:
        # Monday first, Sunday last, as people list weekdays.
        ordered = sorted(spec.weekdays, key=lambda d: (d + 6) % 7)
        parts.append(_named([(d + 6) % 7 for d in ordered], _DAY_NAMES[1:] + _DAY_NAMES[:1]))
    for wd, nth in sorted(sp.nth_weekday):
        parts.append(f"the {_ORDINALS[nth]} {_DAY_NAMES[wd]} of the month")
    for wd in sorted(sp.last_weekday_of):
        parts.append(f"the last {_DAY_NAMES[wd]} of the month")
    return join_words(parts)


def describe_cron(spec: CronSpec) -> str:
    """An English sentence for ``spec``: ``at 09:00 on Monday through Friday``."""
    text = _time_part(spec)
    dom_all = len(spec.days) == 31 and not spec.specials.last_minus
    dow_all = len(spec.weekdays) == 7
    dom, dow = _dom_part(spec), _dow_part(spec)
    months = _named(sorted(spec.months), _MONTH_NAMES) if len(spec.months) < 12 else ""
    if spec.day_or and dom and dow:
        text += f" on {dom} or on {dow}"
    elif dom and dow and not dow_all and not dom_all:
        text += f" on {dom} if it is a {dow}"
    elif dom and months:
        return f"{text} on {dom.removesuffix(' the month')} {months}"
    elif dom:
        text += f" on {dom}"
    elif dow:
        text += f" on {dow}"
    return f"{text} in {months}" if months else text
