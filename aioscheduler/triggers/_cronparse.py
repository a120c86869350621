"""Parsing and validation of cron expressions, for :class:`~aioscheduler.triggers.Cron`.

The expression is parsed into the allowed values of each field plus the calendar specials of
the day fields (``L``, ``L-3``, ``15W``, ``LW``, ``fri#2``, ``5L``). Error messages name the
field and the value. The result is a :class:`~._cronspec.CronSpec`, which does the searching.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import InvalidTrigger
from ._cronspec import CronSpec, DaySpecials

__all__ = ("ALIASES", "parse")

#: name, lowest value, highest value (day-of-week 7 is another spelling of Sunday, 0).
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES: dict[str, dict[str, int]] = {
    "month": {name: i for i, name in enumerate(_MONTHS, start=1)},
    "day-of-week": {name: i for i, name in enumerate(_WEEKDAYS)},
}
_NAME_HINT = {"month": " or a name (jan-dec)", "day-of-week": " or a name (sun-sat)"}

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_DIGITS = re.compile(r"[0-9]+")
_LAST_MINUS = re.compile(r"L(?:-([0-9]+))?", re.IGNORECASE)
_NEAREST = re.compile(r"([0-9]+)W", re.IGNORECASE)
_NTH = re.compile(r"([0-9a-z]+)#([0-9]+)", re.IGNORECASE)
_LAST_DOW = re.compile(r"([0-9a-z]+)L", re.IGNORECASE)

Fail = Callable[[str], InvalidTrigger]


def parse(expression: object) -> CronSpec:
    """Parse ``expression`` (5 fields, 6 with seconds first, or an ``@alias``).

    Raises:
        InvalidTrigger: The expression is not a string, has the wrong number of fields, uses
            an unknown alias, or a field holds a bad value, name, range, step or special; or
            the days it names never occur in the months it names (``0 0 30 2 *``).
    """
    if not isinstance(expression, str):
        raise InvalidTrigger(f"cron expression must be a str, got {expression!r}")
    text = expression.strip()
    if text.startswith("@"):
        alias = ALIASES.get(text.lower())
        if alias is None:
            raise InvalidTrigger(
                f"invalid cron expression {expression!r}: unknown alias {text!r} "
                f"(known: {', '.join(ALIASES)})"
            )
        text = alias
    parts = text.split()
    if len(parts) not in (5, 6):
        raise InvalidTrigger(
            f"invalid cron expression {expression!r}: expected 5 fields (minute hour "
            f"day-of-month month day-of-week) or 6 with seconds first, got {len(parts)}"
        )
    has_seconds = len(parts) == 6
    if not has_seconds:
        parts.insert(0, "0")
    parts = ["*" if (i in (3, 5) and p == "?") else p for i, p in enumerate(parts)]

    def failer(name: str) -> Fail:
        def fail(problem: str) -> InvalidTrigger:
            return InvalidTrigger(f"invalid cron expression {expression!r}: {name} field {problem}")

        return fail

    specials = DaySpecials()
    sets: list[set[int]] = []
    for part, (name, lo, hi) in zip(parts, _FIELDS, strict=True):
        fail = failer(name)
        if name == "day-of-month":
            part = _take_dom_specials(part, specials, fail)
        elif name == "day-of-week":
            part = _take_dow_specials(part, specials, fail)
        sets.append(_parse_field(part, name, lo, hi, fail) if part else set())
    seconds, minutes, hours, days, months, weekdays = sets
    weekdays = {0 if d == 7 else d for d in weekdays}
    dom_star, dow_star = parts[3].startswith("*"), parts[5].startswith("*")
    spec = CronSpec(
        seconds=tuple(sorted(seconds)),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        specials=specials,
        day_or=not (dom_star or dow_star),
        dom_star=dom_star,
        dow_star=dow_star,
        # cronie (entry.c) marks a job MIN_STAR/HR_STAR when its minute or hour field starts
        # with '*'; with a seconds field the same holds for it.
        wildcard=any(p.startswith("*") for p in (parts[:3] if has_seconds else parts[1:3])),
        has_seconds=has_seconds,
    )
    if not spec.ever_fires():
        raise InvalidTrigger(
            f"invalid cron expression {expression!r}: day-of-month {parts[3]} never occurs "
            f"in month {','.join(map(str, sorted(months)))}"
            + ("" if spec.day_or or parts[5] == "*" else f" on day-of-week {parts[5]}")
        )
    return spec


def _take_dom_specials(text: str, specials: DaySpecials, fail: Fail) -> str:
    """Remove ``L``, ``L-n``, ``nW`` and ``LW`` items into ``specials``; return the rest."""
    rest: list[str] = []
    for item in text.split(","):
        upper = item.upper()
        if upper == "LW":
            specials.last_weekday = True
            continue
        match = _LAST_MINUS.fullmatch(item)
        if match:
            back = int(match.group(1) or 0)
            if back > 30:
                raise fail(f"{item!r}: L-n needs n in 0-30")
            specials.last_minus.add(back)
            continue
        match = _NEAREST.fullmatch(item)
        if match:
            day = int(match.group(1))
            if not 1 <= day <= 31:
                raise fail(f"{item!r}: nW needs a day in 1-31")
            specials.nearest_weekday.add(day)
            continue
        if any(c in upper for c in "LW#"):
            raise fail(f"has an unknown special {item!r} (use L, L-n, nW or LW)")
        rest.append(item)
    return ",".join(rest)


def _take_dow_specials(text: str, specials: DaySpecials, fail: Fail) -> str:
    """Remove ``d#n`` and ``dL`` items into ``specials``; return the rest."""
    rest: list[str] = []
    for item in text.split(","):
        match = _NTH.fullmatch(item)
        if match:
            day = _value(match.group(1), "day-of-week", 0, 7, fail) % 7
            nth = int(match.group(2))
            if not 1 <= nth <= 5:
                raise fail(f"{item!r}: d#n needs n in 1-5")
            specials.nth_weekday.add((day, nth))
            continue
        match = _LAST_DOW.fullmatch(item)
        if match:  # no weekday name ends in "l": ``5L``, ``friL``
            specials.last_weekday_of.add(_value(match.group(1), "day-of-week", 0, 7, fail) % 7)
            continue
        if "#" in item:
            raise fail(f"has a bad special {item!r} (use d#n, e.g. fri#2, or dL, e.g. 5L)")
        rest.append(item)
    return ",".join(rest)


def _parse_field(text: str, name: str, lo: int, hi: int, fail: Fail) -> set[int]:
    # An open range (``*``, ``5/15``) ends at 6 for day-of-week: 7 would add Sunday again.
    top = 6 if name == "day-of-week" else hi
    span = top - lo + 1
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise fail(f"has an empty item in {text!r}")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _DIGITS.fullmatch(step_text):
                raise fail(f"step {step_text!r} is not a number")
            step = int(step_text)
            if not 1 <= step <= span:
                raise fail(f"step {step_text!r} out of range 1-{span}")
        if body == "*":
            start, end = lo, top
        elif "-" in body:
            first, _, last = body.partition("-")
            if not first or not last:
                raise fail(f"range {body!r} is incomplete")
            start, end = _value(first, name, lo, hi, fail), _value(last, name, lo, hi, fail)
            if start > end:
                raise fail(f"range {body!r} is backwards (start after end)")
        else:
            start = _value(body, name, lo, hi, fail)
            if slash and name == "day-of-week" and start == 7:
                # ``7/n`` runs from 7 to the end of an open range (6): nothing. Rather than
                # guess between "Sunday" and "0/n", say so.
                raise fail(f"step {item!r} starts at 7 (Sunday, past 6): write 0/{step_text}")
            end = top if slash else start
        selected = range(start, end + 1, step)
        if not selected:
            raise fail(f"item {item!r} selects no value")
        values.update(selected)
    return values


def _value(token: str, name: str, lo: int, hi: int, fail: Fail) -> int:
    if _DIGITS.fullmatch(token):
        value = int(token)
        if not lo <= value <= hi:
            raise fail(f"value {token!r} out of range {lo}-{hi}")
        return value
    named = _NAMES.get(name, {}).get(token.lower())
    if named is None:
        raise fail(f"value {token!r} is not a number{_NAME_HINT.get(name, '')}")
    return named
