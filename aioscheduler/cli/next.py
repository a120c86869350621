"""``aioscheduler next EXPR``: preview the next fire times of a cron expression or an interval.

Interval syntax: one or more ``<number><unit>`` parts, optionally after ``every``, spaces
allowed: ``10s``, ``5m``, ``1h30m``, ``1.5h``, ``250ms``, ``every 5 minutes``,
``every 2 hours 30 minutes``. Units: ``ms``, ``s``/``sec``/``second(s)``,
``m``/``min``/``minute(s)``, ``h``/``hour(s)``, ``d``/``day(s)``, ``w``/``week(s)``.
Anything else is read as a cron expression (5 or 6 fields, or an ``@alias``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from ..errors import InvalidTrigger
from ..triggers import Cron, Every, Trigger
from ._table import format_local, format_utc

__all__ = ("parse_interval", "preview", "to_trigger")

# fmt: off
_UNITS: dict[str, float] = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
# fmt: on
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)\s*")
_UNIT_HELP = "ms, s, m, h, d, w (or their names: seconds, minutes...)"


def parse_interval(text: str) -> timedelta:
    """Parse ``"1h30m"``, ``"every 5 minutes"``, ``"10s"``... into a ``timedelta``.

    Raises:
        InvalidTrigger: not an interval; the message names the part that is wrong.
    """
    body = text.strip().lower()
    body = body.removeprefix("every").strip()
    if not body:
        raise InvalidTrigger(f"invalid interval {text!r}: nothing after 'every'")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise InvalidTrigger(
                f"invalid interval {text!r}: expected a number at {body[pos:]!r} "
                f"(e.g. '5m', '1h30m', 'every 10 seconds')"
            )
        number, unit = match.groups()
        if not unit:
            raise InvalidTrigger(
                f"invalid interval {text!r}: {number!r} needs a unit: {_UNIT_HELP}"
            )
        if unit not in _UNITS:
            raise InvalidTrigger(
                f"invalid interval {text!r}: unknown unit {unit!r}; use {_UNIT_HELP}"
            )
        total += float(number) * _UNITS[unit]
        pos = match.end()
    if total <= 0:
        raise InvalidTrigger(f"invalid interval {text!r}: must be longer than zero")
    try:
        return timedelta(seconds=total)
    except OverflowError:
        limit = timedelta.max.days
        raise InvalidTrigger(
            f"invalid interval {text!r}: too long (at most {limit} days)"
        ) from None


def _looks_like_interval(text: str) -> bool:
    body = text.strip().lower()
    return body.startswith("every") or (
        bool(body) and body[0].isdigit() and len(body.split()) not in (5, 6)
    )


def to_trigger(expression: str, tz: tzinfo | None) -> Trigger:
    """An ``Every`` for an interval, else a ``Cron`` in ``tz`` (``None``: UTC).

    Raises:
        InvalidTrigger: a bad interval or cron expression (the message names field and value).
    """
    if _looks_like_interval(expression):
        return Every(parse_interval(expression))
    return Cron(expression, timezone=tz or UTC)


def preview(trigger: Trigger, count: int, after: datetime, tz: tzinfo | None) -> str:
    """The trigger's description and its next ``count`` fire times, local and UTC."""
    times = trigger.preview(count, after=after)
    width = len(str(len(times)))
    header = trigger.describe()  # "at 09:00 on Monday through Friday (Europe/Berlin)"
    lines = [f"cron {trigger.expression!r}: {header}" if isinstance(trigger, Cron) else header]
    lines += [
        f"{i:>{width}}  {format_local(t, tz)}   {format_utc(t)}" for i, t in enumerate(times, 1)
    ]
    if not times:
        lines.append("no further fire times")
    return "\n".join(lines)
