"""Parsing and validation of cron expressions, for :class:`~aioscheduler.triggers.Cron`.

The expression is parsed here, with error messages that name the field and the value, into
sets of allowed values. Iteration is left to croniter, which is handed a canonical expression
made of plain number lists. Canonicalising first sidesteps croniter's own reading of some
spellings, which differs from classic cron: croniter reads an equal range such as ``5-5`` as
the whole field, ORs day-of-month and day-of-week even when one of them starts with ``*``,
and treats a sixth field as trailing seconds.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time

from ..errors import InvalidTrigger

__all__ = ("CronSpec", "parse")

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
#: Longest month lengths, February counting its leap day.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

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


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field, and how to iterate it."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    #: Classic cron rule: with both day fields restricted (neither starting with ``*``), a day
    #: matching either one fires; otherwise a day must match both.
    day_or: bool
    #: The hour field is ``*`` or ``*/n``: the job follows elapsed time, so a repeated
    #: wall-clock hour (autumn fall-back) fires again.
    wildcard_hour: bool
    has_seconds: bool
    #: The expression croniter iterates: number lists, seconds last when present.
    croniter_expression: str
    _clock: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        clock = (sorted(self.hours), sorted(self.minutes), sorted(self.seconds))
        object.__setattr__(self, "_clock", tuple(tuple(values) for values in clock))

    def times_up_to(self, moment: time) -> int:
        """How many matching times of day are ``<= moment`` (sub-seconds ignored)."""
        hours, minutes, seconds = self._clock
        per_hour, per_minute = len(minutes) * len(seconds), len(seconds)
        count = bisect_left(hours, moment.hour) * per_hour
        if moment.hour in self.hours:
            count += bisect_left(minutes, moment.minute) * per_minute
            if moment.minute in self.minutes:
                count += bisect_right(seconds, moment.second)
        return count

    def time_at(self, index: int) -> time:
        """The matching time of day at ``index`` (0-based) in order: the inverse count."""
        hours, minutes, seconds = self._clock
        hour, rest = divmod(index, len(minutes) * len(seconds))
        minute, second = divmod(rest, len(seconds))
        return time(hours[hour], minutes[minute], seconds[second])

    def matches(self, wall: datetime) -> bool:
        """Whether the naive wall-clock time ``wall`` (whole seconds) matches the expression."""
        if not (
            wall.second in self.seconds
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and wall.month in self.months
        ):
            return False
        day_ok = wall.day in self.days
        weekday_ok = wall.isoweekday() % 7 in self.weekdays
        return (day_ok or weekday_ok) if self.day_or else (day_ok and weekday_ok)


def parse(expression: object) -> CronSpec:
    """Parse ``expression`` (5 fields, 6 with seconds first, or an ``@alias``).

    Raises:
        InvalidTrigger: The expression is not a string, has the wrong number of fields, uses
            an unknown alias, or a field holds a bad value, name, range or step; or the days
            it names never occur in the months it names (``0 0 30 2 *``).
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
    sets = [
        _parse_field(part, *field, expression) for part, field in zip(parts, _FIELDS, strict=True)
    ]
    seconds, minutes, hours, days, months, weekdays = sets
    weekdays = {0 if d == 7 else d for d in weekdays}
    all_days, all_weekdays = days == set(range(1, 32)), weekdays == set(range(7))
    day_or = not (parts[3].startswith("*") or parts[5].startswith("*"))
    if day_or and (all_days or all_weekdays):  # one side matches every day: so does the OR
        days, weekdays, all_days, all_weekdays = set(range(1, 32)), set(range(7)), True, True
    if not day_or and not all_days:
        _check_days_exist(days, months, expression)

    def listed(values: set[int], full: bool) -> str:
        return "*" if full else ",".join(map(str, sorted(values)))

    fields = [
        listed(minutes, len(minutes) == 60),
        listed(hours, len(hours) == 24),
        listed(days, all_days),
        listed(months, len(months) == 12),
        listed(weekdays, all_weekdays),
    ]
    if has_seconds:
        fields.append(listed(seconds, len(seconds) == 60))
    return CronSpec(
        seconds=frozenset(seconds),
        minutes=frozenset(minutes),
        hours=frozenset(hours),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        day_or=day_or,
        wildcard_hour=parts[2].startswith("*"),
        has_seconds=has_seconds,
        croniter_expression=" ".join(fields),
    )


def _parse_field(text: str, name: str, lo: int, hi: int, expression: str) -> set[int]:
    def fail(problem: str) -> InvalidTrigger:
        return InvalidTrigger(f"invalid cron expression {expression!r}: {name} field {problem}")

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
            end = top if slash else start
        values.update(range(start, end + 1, step))
    return values


def _value(token: str, name: str, lo: int, hi: int, fail: Callable[[str], InvalidTrigger]) -> int:
    if _DIGITS.fullmatch(token):
        value = int(token)
        if not lo <= value <= hi:
            raise fail(f"value {token!r} out of range {lo}-{hi}")
        return value
    named = _NAMES.get(name, {}).get(token.lower())
    if named is None:
        raise fail(f"value {token!r} is not a number{_NAME_HINT.get(name, '')}")
    return named


def _check_days_exist(days: set[int], months: set[int], expression: str) -> None:
    if not any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        raise InvalidTrigger(
            f"invalid cron expression {expression!r}: day-of-month "
            f"{','.join(map(str, sorted(days)))} never occurs in month "
            f"{','.join(map(str, sorted(months)))}"
        )
