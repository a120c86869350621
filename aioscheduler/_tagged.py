"""The closed registry of value types stored data may hold besides JSON's own.

Each type is written as a tagged object ``{"__aiosched__": tag, "v": ...}`` (see
``_serialization.py``, which walks containers and calls these). The only class ever looked up
from stored data is an :class:`~enum.Enum`, and its member is found by name: no constructor
ever sees stored data.
"""

from __future__ import annotations

import base64
import enum
import inspect
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeAlias, cast
from zoneinfo import ZoneInfo

from ._refs import class_ref, lookup_ref, split_ref
from .errors import SerializationError

__all__ = (
    "SCALARS",
    "SCALAR_DECODERS",
    "ClassGate",
    "JSONValue",
    "Unstorable",
    "decode_enum",
    "encode_enum",
)

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

#: Called with each class reference stored data names, before anything is imported; raises
#: :class:`~aioscheduler.errors.RefusedReference` to refuse it (see ``_admission.py``).
ClassGate: TypeAlias = "Callable[[str], None]"


class Unstorable(Exception):
    """Internal: what is wrong with one value.

    Each container adds its index while the exception propagates, so the happy path never
    formats a position; the public functions turn it into a :class:`SerializationError`.
    """

    def __init__(self, problem: str, error: type[SerializationError] = SerializationError) -> None:
        super().__init__(problem)
        self.problem = problem
        self.error = error
        self.path: list[str] = []

    def at(self, where: str) -> SerializationError:
        return self.error(f"{where}{''.join(reversed(self.path))} {self.problem}")


def encode_enum(member: enum.Enum) -> JSONValue:
    cls = type(member)
    ref, problem = class_ref(cls)
    if problem == "unimportable":
        raise Unstorable(
            f"is a member of enum {cls.__qualname__} defined in {cls.__module__}, which cannot "
            "be imported again; move the enum into an importable module"
        )
    if problem is not None:
        raise Unstorable(
            f"is a member of enum {cls.__qualname__}, which cannot be found again as {ref!r}; "
            "define it at module level"
        )
    if member.name is None:
        raise Unstorable(
            f"is an empty {cls.__qualname__} flag without a name; store None or a named member"
        )
    names: list[JSONValue] = [member.name]
    if member.name not in cls.__members__:
        # A Flag composite (R|W) is no member of its own: keep the names of its parts.
        names = [m.name for m in cast("enum.Flag", member)]
    return [ref, *names]


def decode_enum(v: Any, gate: ClassGate | None) -> enum.Enum:
    if not (isinstance(v, list) and len(v) >= 2 and all(isinstance(x, str) for x in v)):
        raise ValueError("expected [enum reference, member name, ...]")
    if gate is not None:
        split_ref(v[0])  # a malformed reference is damage, not a policy question
        gate(v[0])  # before importing: importing a module runs its code
    cls = lookup_ref(v[0], None)
    defined = f"{getattr(cls, '__module__', '')}:{getattr(cls, '__qualname__', '')}"
    if gate is not None and defined != v[0]:
        gate(defined)  # re-exported from elsewhere: where it is defined must be admitted too
    if not (inspect.isclass(cls) and issubclass(cls, enum.Enum)):
        raise ValueError(f"{v[0]!r} is not an Enum class")
    members = [cls[name] for name in v[1:]]  # by name: no constructor sees stored data
    result = members[0]
    for m in members[1:]:
        result = result | m  # type: ignore[operator]  # only Flag composites have several
    return result


def _encode_clock(obj: datetime | time) -> JSONValue:
    tz, key = obj.tzinfo, None
    if type(tz) is ZoneInfo and tz.key is not None:
        key = tz.key  # wall time + key: exact, even inside a DST gap
    elif tz is not None and type(tz) is not timezone:
        raise Unstorable(
            f"has a time zone of type {type(tz).__name__} that cannot be stored; use "
            "zoneinfo.ZoneInfo or datetime.timezone"
        )
    out: dict[str, JSONValue] = {"t": (obj.replace(tzinfo=None) if key else obj).isoformat()}
    if key:
        out["tz"] = key
    if obj.fold:
        out["fold"] = 1
    return out


_FRACTIONAL_OFFSET = re.compile(r"([+-])(\d\d):(\d\d):(\d\d)\.(\d{6})$")


def _decode_clock(v: Any, cls: type[datetime] | type[time]) -> datetime | time:
    if not (isinstance(v, dict) and isinstance(v.get("t"), str)):
        raise ValueError("expected {'t': isoformat, ...}")
    value = cls.fromisoformat(v["t"])
    fraction = _FRACTIONAL_OFFSET.search(v["t"])
    if fraction is not None and value.tzinfo is not None:
        # CPython 3.11's fromisoformat drops the microseconds of an offset (+HH:MM:SS.ffffff)
        sign, hh, mm, ss, us = fraction.groups()
        offset = timedelta(hours=int(hh), minutes=int(mm), seconds=int(ss), microseconds=int(us))
        value = value.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    if "tz" in v:
        value = value.replace(tzinfo=ZoneInfo(v["tz"]))
    return value.replace(fold=1) if v.get("fold") == 1 else value


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {type(v).__name__}")
    return v


def _decode_float(v: Any) -> float:
    if v not in ("nan", "inf", "-inf"):
        raise ValueError("expected 'nan', 'inf' or '-inf'")
    return float(v)


def _decode_timedelta(v: Any) -> timedelta:
    if not (isinstance(v, list) and len(v) == 3 and all(type(x) is int for x in v)):
        raise ValueError("expected [days, seconds, microseconds]")
    return timedelta(*v)


#: The closed registry of extra scalar types, by exact type: (tag, encoder of ``v``).
SCALARS: dict[type, tuple[str, Callable[[Any], JSONValue]]] = {
    datetime: ("datetime", _encode_clock),
    time: ("time", _encode_clock),
    date: ("date", date.isoformat),
    timedelta: ("timedelta", lambda td: [td.days, td.seconds, td.microseconds]),
    uuid.UUID: ("uuid", str),
    Decimal: ("decimal", str),
    bytes: ("bytes", lambda b: base64.b64encode(b).decode("ascii")),
}

SCALAR_DECODERS: dict[str, Callable[[Any], object]] = {
    "float": _decode_float,  # NaN and infinities: JSON has none, PostgreSQL's jsonb refuses them
    "datetime": lambda v: _decode_clock(v, datetime),
    "time": lambda v: _decode_clock(v, time),
    "date": lambda v: date.fromisoformat(_text(v)),
    "timedelta": _decode_timedelta,
    "uuid": lambda v: uuid.UUID(_text(v)),
    "decimal": lambda v: Decimal(_text(v)),
    "bytes": lambda v: base64.b64decode(_text(v), validate=True),
}
