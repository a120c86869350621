"""Shared helpers of the trigger classes: argument checks, time zones and wall-clock mapping.

Everything here is private to :mod:`aioscheduler.triggers`. The checks raise
:class:`~aioscheduler.errors.InvalidTrigger` with a message built from the offending value.

The wall-clock mapping (:func:`localize`) is the single place where a local time becomes an
instant, so ``Cron``, ``At`` and ``Every`` agree on DST: a time that happens twice means its
first occurrence, and a time inside a spring-forward gap means the first instant after the gap.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidTrigger, SerializationError

__all__ = (
    "UTC",
    "MICROSECOND",
    "UTC_ZONE",
    "check_order",
    "datetime_to_ts",
    "dt_from_json",
    "dt_to_json",
    "format_duration",
    "format_words",
    "is_number",
    "localize",
    "naive_error",
    "offset_at",
    "required",
    "resolve_naive",
    "to_datetime",
    "to_jitter",
    "to_timedelta",
    "to_zone",
    "transition",
    "ts_to_datetime",
    "ts_to_us",
    "zone_from_json",
    "zone_name",
    "zone_to_json",
)

#: The zone an unzoned Cron is bound to without a scheduler zone; stored as the key "UTC".
UTC_ZONE = ZoneInfo("UTC")


# -- argument checks ---------------------------------------------------------------------------


def is_number(value: object) -> bool:
    """Whether ``value`` is an ``int`` or ``float`` (not a ``bool``: ``True`` is no duration)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def to_timedelta(value: object, name: str) -> timedelta:
    """Turn float seconds or a ``timedelta`` into a ``timedelta`` (finite, any sign)."""
    if isinstance(value, timedelta):
        return value
    if not is_number(value):
        raise InvalidTrigger(f"{name} must be a number of seconds or a timedelta, got {value!r}")
    seconds = float(value)  # type: ignore[arg-type]  # is_number() checked it
    if not math.isfinite(seconds):
        raise InvalidTrigger(f"{name} must be finite, got {value!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise InvalidTrigger(f"{name} is too large: {value!r} seconds") from None


def to_jitter(value: object) -> float | None:
    """Validate a ``jitter`` argument: ``None`` or seconds (number or ``timedelta``) ``>= 0``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif is_number(value):
        seconds = float(value)  # type: ignore[arg-type]
    else:
        raise InvalidTrigger(
            f"jitter must be None or a number of seconds or a timedelta, got {value!r}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidTrigger(f"jitter must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def to_datetime(value: object, name: str) -> datetime | None:
    """Validate an optional datetime; an aware one comes back in UTC, a naive one unchanged."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidTrigger(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=None)
    return value.astimezone(UTC)


def check_order(start_at: datetime | None, end_at: datetime | None) -> None:
    """Require ``end_at > start_at`` when both are given and comparable (both aware or naive)."""
    if start_at is None or end_at is None:
        return
    if (start_at.tzinfo is None) != (end_at.tzinfo is None):
        return  # compared again by bind(), once both are resolved
    if end_at <= start_at:
        raise InvalidTrigger(
            f"end_at {end_at.isoformat()} must be after start_at {start_at.isoformat()}"
        )


def naive_error(value: datetime, name: str) -> InvalidTrigger:
    """The error for a naive datetime that has no time zone to be resolved with."""
    return InvalidTrigger(
        f"{name} is a naive datetime ({value.isoformat()}) and no time zone is known: "
        "pass an aware datetime or give the Scheduler a timezone"
    )


# -- time zones --------------------------------------------------------------------------------


def to_zone(value: object, name: str = "timezone") -> tzinfo:
    """Resolve an IANA key or a tzinfo into a usable ``tzinfo``.

    Accepted: a key string (``"Europe/Berlin"``; ``"utc"`` in any case), a
    :class:`zoneinfo.ZoneInfo`, a fixed-offset :class:`datetime.timezone`, or another PEP 495
    tzinfo. pytz zones are refused: they give wrong offsets unless ``localize()`` is called,
    which the DST logic here never does.
    """
    if isinstance(value, str):
        if value.lower() == "utc":  # "utc" is not an IANA key on case-sensitive systems
            return UTC_ZONE
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidTrigger(f"unknown {name} {value!r}") from None
    if not isinstance(value, tzinfo):
        raise InvalidTrigger(f"{name} must be an IANA key string or a tzinfo, got {value!r}")
    if hasattr(value, "localize"):
        raise InvalidTrigger(
            f"pytz time zones are not supported ({name} {value!r}); "
            "pass the zone key string or a zoneinfo.ZoneInfo instead"
        )
    if value.utcoffset(datetime(2000, 1, 1)) is None:
        raise InvalidTrigger(f"{name} {value!r} returns no UTC offset")
    return value


def zone_to_json(tz: tzinfo) -> str:
    """The stored form of a zone: its IANA key, or ``"+HH:MM"`` for a fixed offset."""
    if isinstance(tz, ZoneInfo):
        if tz.key is None:
            raise SerializationError(f"time zone {tz!r} has no key and cannot be stored")
        return tz.key
    if isinstance(tz, timezone):
        # A fixed offset is stored as an ISO offset so it comes back as an equal timezone.
        return datetime(2000, 1, 1, tzinfo=tz).isoformat()[-6:]
    raise SerializationError(
        f"time zone {tz!r} cannot be stored: use a zoneinfo.ZoneInfo or a datetime.timezone"
    )


def zone_from_json(value: object) -> tzinfo:
    """Inverse of :func:`zone_to_json`."""
    if isinstance(value, str) and value[:1] in ("+", "-"):
        try:
            offset = datetime.fromisoformat(f"2000-01-01T00:00:00{value}").utcoffset()
        except ValueError:
            raise InvalidTrigger(f"stored timezone offset {value!r} is not valid") from None
        assert offset is not None
        return timezone(offset)
    return to_zone(value)


def zone_name(tz: tzinfo) -> str:
    """A short display name for a zone: its key, ``UTC``, or ``UTC+02:00``."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)


# -- wall clock <-> instants -------------------------------------------------------------------


def offset_at(tz: tzinfo, instant: datetime) -> timedelta:
    """The UTC offset of ``tz`` at the aware ``instant``."""
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # to_zone() refuses zones without offsets
    return offset


def transition(tz: tzinfo, before: datetime, after: datetime) -> datetime:
    """The first instant in ``(before, after]`` that has the offset ``after`` has (aware UTC).

    ``before`` and ``after`` straddle one offset change of ``tz``, less than a day apart. The
    search bisects whole seconds (tz database transitions fall on whole seconds), so it takes
    about 17 steps at most.
    """
    target = offset_at(tz, after)
    lo = math.floor(before.timestamp())
    hi = math.ceil(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """Map the naive wall-clock time ``wall`` in ``tz`` to an instant (aware UTC).

    * an unambiguous time maps to its instant;
    * a time that happens twice (autumn fall-back) maps to its first occurrence;
    * a time inside a spring-forward gap maps to the first instant after the gap (the moment
      the clocks jump), so ``02:30`` on a day Berlin skips 02:00-03:00 means 03:00 CEST.

    The ``fold`` attribute of ``wall`` is ignored.
    """
    if isinstance(tz, timezone):  # fixed offset: no transitions
        return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    off_first, off_second = first.utcoffset(), second.utcoffset()
    assert off_first is not None
    assert off_second is not None
    if off_first >= off_second:  # unambiguous, or repeated: PEP 495 fold=0 is the first one
        return first.astimezone(UTC)
    # In a gap PEP 495 reads fold=0 with the offset before the jump (an instant after it) and
    # fold=1 with the offset after (an instant before it): the jump lies in between.
    return transition(tz, second.astimezone(UTC), first.astimezone(UTC))


def resolve_naive(value: datetime | None, tz: tzinfo | None, name: str) -> datetime | None:
    """Resolve a naive ``value`` in ``tz`` (see :func:`localize`); aware values pass through."""
    if value is None or value.tzinfo is not None:
        return value
    if tz is None:
        raise naive_error(value, name)
    return localize(value, to_zone(tz))


# -- exact timestamps --------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: One microsecond, the resolution of every time here.
MICROSECOND = _MICROSECOND


#: Below this many microseconds a float's ulp is at most 0.5 (timestamps until 2112).
_FAST_US = float(2**52)


def ts_to_us(ts: float) -> int:
    """The float timestamp ``ts`` in whole microseconds, rounded half to even from its exact
    value (as ``datetime.fromtimestamp`` does).

    Fast path in floats: ``p = ts * 1e6`` is the exact product rounded once, so below 2**52 it
    is within 0.25 of it; when ``p`` is within 0.25 of an integer ``q``, the exact value is
    within 0.5 of ``q`` and rounds to it. Otherwise (a time near half a microsecond, or past
    2112) the exact integer path decides.
    """
    p = ts * 1e6
    if -_FAST_US < p < _FAST_US:
        q = round(p)
        if -0.25 < p - q < 0.25:
            return q
    num, den = ts.as_integer_ratio()
    q, r = divmod(num * 1_000_000, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


def ts_to_datetime(ts: float) -> datetime:
    """The aware UTC datetime of a float timestamp, exact (see :func:`ts_to_us`)."""
    return _EPOCH + timedelta(microseconds=ts_to_us(ts))


def datetime_to_ts(value: datetime) -> float:
    """The float timestamp nearest to the aware ``value`` (one correctly rounded division)."""
    return ((value - _EPOCH) // _MICROSECOND) / 1_000_000


def datetime_to_us(value: datetime) -> int:
    """The aware ``value`` in whole microseconds since the epoch (exact)."""
    return (value - _EPOCH) // _MICROSECOND


# -- stored form -------------------------------------------------------------------------------


def dt_to_json(value: datetime | None) -> str | None:
    """A datetime as an ISO 8601 string (naive stays naive), or ``None``."""
    return None if value is None else value.isoformat()


def dt_from_json(data: dict[str, Any], key: str) -> datetime | None:
    """Read an optional ISO 8601 datetime stored under ``key``."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTrigger(f"stored {key} must be an ISO 8601 string, got {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidTrigger(f"stored {key} {value!r} is not an ISO 8601 datetime") from None


def required(data: dict[str, Any], key: str) -> Any:
    """The value stored under ``key``, or :class:`InvalidTrigger` naming the missing key."""
    if key not in data:
        raise InvalidTrigger(f"stored {data.get('kind')} trigger has no {key!r}: {data!r}")
    return data[key]


def format_words(value: timedelta) -> str:
    """A duration in words: ``5 minutes``, ``1 hour 30 minutes``, ``0.25 seconds``."""
    micros = value // timedelta(microseconds=1)
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    if micros:
        parts.append(f"{seconds}.{micros:06d}".rstrip("0") + " seconds")
    elif seconds or not parts:
        parts.append(f"{seconds} second{'' if seconds == 1 else 's'}")
    return " ".join(parts)


def format_duration(value: timedelta) -> str:
    """A compact duration: ``5m``, ``1h30m``, ``2d``, ``0.25s``, ``1m0.5s``."""
    micros = value // timedelta(microseconds=1)
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if micros:
        parts.append(f"{seconds}.{micros:06d}".rstrip("0") + "s")
    elif seconds or not parts:
        parts.append(f"{seconds}s")
    return "".join(parts)
