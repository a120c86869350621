"""Turning jobs into data a persistent store can keep, and back, without trusting that data.

Three things leave the process when a job is stored, and each has its own rule:

* **The callable** becomes an import path, ``"package.module:qualname"``, of a *function*
  (:func:`callable_ref`). Loading it (:func:`resolve_ref`) imports the module, walks the qualname
  and accepts only a function or a method of a class: never a class, because calling a class
  named by stored data is constructing arbitrary objects from that data (APScheduler 4's
  CVE-2026-31072).
* **The arguments** become JSON (:func:`encode_args`). Besides JSON's own types, a closed
  registry of value types is written as tagged objects ``{"__aiosched__": tag, "v": ...}``.
  The only class ever looked up from stored data is an :class:`~enum.Enum`, and its member is
  found by name: no constructor ever sees stored data.
* **The bytes** are sealed by :class:`PayloadCodec` (signed, optionally encrypted; see
  ``_crypto.py``) so that rows written by anyone without the key are refused.

Nothing here is asynchronous or touches a store: stores call these functions around their I/O.
"""

from __future__ import annotations

import base64
import enum
import importlib
import inspect
import json
import math
import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import partial
from types import ModuleType
from typing import Any, TypeAlias, cast
from zoneinfo import ZoneInfo

from ._crypto import PayloadCodec as PayloadCodec
from ._crypto import PayloadError as PayloadError
from .errors import RefusedReference, SerializationError

__all__ = (
    "TAG",
    "ClassGate",
    "JSONValue",
    "PayloadCodec",
    "PayloadError",
    "callable_ref",
    "decode_args",
    "decode_value",
    "encode_args",
    "encode_value",
    "resolve_ref",
    "safe_repr_value",
)

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

#: The key that marks a tagged object. A user dict holding this key is itself wrapped in a
#: ``"dict"`` tag, so stored user data can never be read back as a tag.
TAG = "__aiosched__"

#: Called with each class reference stored data names, before anything is imported; raises
#: :class:`~aioscheduler.errors.RefusedReference` to refuse it (see ``_admission.py``).
ClassGate: TypeAlias = "Callable[[str], None]"

#: Version of the argument document written by :func:`encode_args`.
_ARGS_VERSION = 1

# -- callable references ------------------------------------------------------------------------


def _split_ref(ref: str) -> tuple[str, list[str]]:
    """Validate ``"module:qualname"`` and return the module name and the qualname's parts."""
    module, sep, qualname = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    parts = qualname.split(".")
    if (
        not sep
        or not all(p.isidentifier() for p in module.split("."))
        or not all(p.isidentifier() for p in parts)
    ):
        raise SerializationError(
            f"malformed reference {ref!r}: expected 'package.module:qualname' made of "
            "dotted identifiers"
        )
    if any(p.startswith("__") for p in parts):
        # Walking dunders (__class__, __globals__, __init__...) reaches objects that are not
        # module-level functions; a reference never needs them.
        raise SerializationError(
            f"reference {ref!r} walks a dunder attribute; refer to a module-level function instead"
        )
    return module, parts


def _module_allowed(module: str, allowed_modules: Collection[str] | None) -> bool:
    return allowed_modules is None or any(
        module == allowed or module.startswith(allowed + ".") for allowed in allowed_modules
    )


def _lookup(ref: str, allowed_modules: Collection[str] | None) -> object:
    """Import the module of ``ref`` (if allowed) and walk its qualname with ``getattr``."""
    module_name, parts = _split_ref(ref)
    if not _module_allowed(module_name, allowed_modules):
        # Checked before importing: importing a module runs its code.
        raise SerializationError(
            f"reference {ref!r} is outside the allowed modules "
            f"{sorted(allowed_modules or ())}; add its package to allowed_modules"
        )
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as exc:  # importing runs user code, which may raise anything
        raise SerializationError(f"cannot import {module_name!r} for {ref!r}: {exc}") from exc
    for i, part in enumerate(parts):
        if i and not inspect.isclass(obj):
            # A qualname nests through classes only; walking into other objects would run
            # their properties and reach bound methods of arbitrary instances.
            raise SerializationError(
                f"cannot resolve {ref!r}: {'.'.join(parts[:i])!r} is a {type(obj).__name__}, "
                "not a class"
            )
        try:
            obj = getattr(obj, part)
        except Exception as exc:  # AttributeError, or whatever a module __getattr__ raises
            raise SerializationError(
                f"cannot resolve {ref!r}: {module_name!r} has no attribute path {'.'.join(parts)!r}"
            ) from exc
    return obj


def _is_storable_function(obj: object) -> bool:
    """Whether ``obj`` is a kind of callable that references may name (never a class)."""
    if inspect.isfunction(obj):
        return True
    if inspect.ismethod(obj):  # a classmethod, bound to its class
        return inspect.isclass(obj.__self__)
    if inspect.isbuiltin(obj):  # C function; its __self__ is its module (or a class)
        owner = obj.__self__
        return owner is None or isinstance(owner, ModuleType) or inspect.isclass(owner)
    return False


def _same_callable(a: object, b: object) -> bool:
    if inspect.ismethod(a) or inspect.isbuiltin(a):
        # Class methods bind anew on each attribute access; bound methods compare equal when
        # their __self__ is the same object and their function the same.
        return type(a) is type(b) and a == b
    return a is b


def _describe(func: object) -> str:
    """``module.qualname`` of a function or class for messages; ``repr()`` for the rest."""
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        return repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def callable_ref(func: Callable[..., Any]) -> str:
    """Return the import path ``"package.module:qualname"`` under which a store keeps ``func``.

    Accepted: module-level functions (sync or async), built-in functions of a module, and static
    and class methods reachable through their class's qualname. The reference is checked by
    importing it back: it must give the very same object.

    Args:
        func: The callable a persistent job will run.

    Returns:
        The reference; :func:`resolve_ref` turns it back into ``func``.

    Raises:
        SerializationError: ``func`` cannot be found again by import path: a lambda, a nested
            function or closure, a function of ``__main__``, a method bound to an instance, a
            ``functools.partial``, a class, a callable instance, or a name that now refers to
            another object (a decorator without ``functools.wraps``, a redefinition). The
            message says what to do instead.

    Example:
        >>> import math
        >>> callable_ref(math.sqrt)
        'math:sqrt'
    """
    name = _describe(func)
    if isinstance(func, partial):
        raise SerializationError(
            f"{name} is a functools.partial, which cannot be stored; pass the function and "
            "its arguments separately: add(func, trigger, args=..., kwargs=...)"
        )
    if inspect.isclass(func):
        raise SerializationError(
            f"{name} is a class; a stored job never constructs a class named by stored data. "
            "Wrap the construction in a module-level function and store that"
        )
    owner = getattr(func, "__self__", None)
    if inspect.ismethod(func) and not inspect.isclass(owner):
        raise SerializationError(
            f"{name} is a method bound to a {type(owner).__name__} instance, which cannot be "
            f"stored; use a module-level function and pass what it needs as arguments "
            "(store an id and look it up in the job)"
        )
    if inspect.isbuiltin(func) and not _is_storable_function(func):
        raise SerializationError(
            f"{name} is a built-in method bound to a {type(owner).__name__} object, which "
            "cannot be stored; wrap the call in a module-level function"
        )
    if not _is_storable_function(func):
        raise SerializationError(
            f"{name} (a {type(func).__name__} instance) is not a function; store a "
            "module-level function that creates or looks up the object and calls it"
        )
    # A C class method (dict.fromkeys) has no __module__ of its own: its class has.
    module = getattr(func, "__module__", None) or getattr(owner, "__module__", None)
    qualname: str = getattr(func, "__qualname__", "")
    if "<lambda>" in qualname:
        raise SerializationError(
            f"{name} is a lambda, which cannot be stored; define a module-level function instead"
        )
    if "<locals>" in qualname:
        raise SerializationError(
            f"{name} is defined inside another function, which cannot be stored; move it to "
            "module level and pass what it closed over as arguments"
        )
    if not module:
        raise SerializationError(
            f"{name} has no __module__, so no import path; wrap it in a module-level function"
        )
    if module == "__main__":
        raise SerializationError(
            f"{name} is defined in __main__, which another process cannot import; "
            "move it into an importable module"
        )
    ref = f"{module}:{qualname}"
    if not _same_callable(_lookup(ref, None), func):
        raise SerializationError(
            f"{ref!r} imports another object than the {name} given: was it decorated without "
            "functools.wraps, or redefined? Pass the object the module exposes under that name"
        )
    return ref


def resolve_ref(ref: str, allowed_modules: Collection[str] | None = None) -> Callable[..., Any]:
    """Import the function named by a stored reference.

    The reference is validated (``module:qualname``, dotted identifiers, no dunder attributes)
    before anything is imported, and what the walk finds must be a function, a built-in
    function or a class method. A class is refused: calling it would construct an object of a
    type chosen by the stored data.

    Args:
        ref: A reference made by :func:`callable_ref`.
        allowed_modules: If given, only modules equal to one of these names or inside one of
            these packages may be imported (``"myapp"`` allows ``"myapp.jobs"`` but not
            ``"myapp_evil"``). Checked before importing.

    Returns:
        The function.

    Raises:
        SerializationError: The reference is malformed, outside ``allowed_modules``, cannot be
            imported (the import error is the ``__cause__``), or names something that is not
            a function.
    """
    obj = _lookup(ref, allowed_modules)
    if inspect.isclass(obj):
        raise SerializationError(
            f"{ref!r} names a class; stored references may only name functions, never classes "
            "to construct"
        )
    if not _is_storable_function(obj):
        raise SerializationError(
            f"{ref!r} names a {type(obj).__name__} object, not a function; stored references "
            "may only name functions"
        )
    return cast("Callable[..., Any]", obj)


# -- values -------------------------------------------------------------------------------------


class _Unstorable(Exception):
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


def _each_item(values: Iterable[Any], convert: Callable[[Any], Any]) -> list[Any]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(convert(value))
        except _Unstorable as problem:
            problem.path.append(f"[{i}]")
            raise
    return out


def _each_value(mapping: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    out = {}
    for key, value in mapping.items():
        try:
            out[key] = convert(value)
        except _Unstorable as problem:
            problem.path.append(f"[{key!r}]")
            raise
    return out


def class_ref(cls: type) -> tuple[str, str | None]:
    """``("module:Qualname", problem)`` for a class that stored data may name.

    ``problem`` is ``None`` when the reference resolves back to the very same class,
    ``"unimportable"`` for a class in ``__main__`` or inside a function, and ``"not found"``
    when importing the reference gives something else. Callers word the error.
    """
    ref = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return ref, "unimportable"
    try:
        found = _lookup(ref, None)
    except SerializationError:
        found = None
    return ref, None if found is cls else "not found"


def _encode_enum(member: enum.Enum) -> JSONValue:
    cls = type(member)
    ref, problem = class_ref(cls)
    if problem == "unimportable":
        raise _Unstorable(
            f"is a member of enum {cls.__qualname__} defined in {cls.__module__}, which cannot "
            "be imported again; move the enum into an importable module"
        )
    if problem is not None:
        raise _Unstorable(
            f"is a member of enum {cls.__qualname__}, which cannot be found again as {ref!r}; "
            "define it at module level"
        )
    if member.name is None:
        raise _Unstorable(
            f"is an empty {cls.__qualname__} flag without a name; store None or a named member"
        )
    names: list[JSONValue] = [member.name]
    if member.name not in cls.__members__:
        # A Flag composite (R|W) is no member of its own: keep the names of its parts.
        names = [m.name for m in cast("enum.Flag", member)]
    return [ref, *names]


def _modules_gate(allowed_modules: Collection[str]) -> ClassGate:
    """The gate of an ``allowed_modules`` list (the older, module-only form of a policy)."""

    def gate(ref: str) -> None:
        module, _ = _split_ref(ref)
        if not _module_allowed(module, allowed_modules):
            raise RefusedReference(
                f"reference {ref!r} is outside the allowed modules "
                f"{sorted(allowed_modules)}; add its package to allowed_modules"
            )

    return gate


def _both(first: ClassGate, second: ClassGate | None) -> ClassGate:
    if second is None:
        return first

    def gate(ref: str) -> None:
        first(ref)
        second(ref)

    return gate


def _decode_enum(v: Any, gate: ClassGate | None) -> enum.Enum:
    if not (isinstance(v, list) and len(v) >= 2 and all(isinstance(x, str) for x in v)):
        raise ValueError("expected [enum reference, member name, ...]")
    if gate is not None:
        _split_ref(v[0])  # a malformed reference is damage, not a policy question
        gate(v[0])  # before importing: importing a module runs its code
    cls = _lookup(v[0], None)
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
        raise _Unstorable(
            f"has a time zone of type {type(tz).__name__} that cannot be stored; use "
            "zoneinfo.ZoneInfo or datetime.timezone"
        )
    out: dict[str, JSONValue] = {"t": (obj.replace(tzinfo=None) if key else obj).isoformat()}
    if key:
        out["tz"] = key
    if obj.fold:
        out["fold"] = 1
    return out


def _decode_clock(v: Any, cls: type[datetime] | type[time]) -> datetime | time:
    if not (isinstance(v, dict) and isinstance(v.get("t"), str)):
        raise ValueError("expected {'t': isoformat, ...}")
    value = cls.fromisoformat(v["t"])
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
_SCALARS: dict[type, tuple[str, Callable[[Any], JSONValue]]] = {
    datetime: ("datetime", _encode_clock),
    time: ("time", _encode_clock),
    date: ("date", date.isoformat),
    timedelta: ("timedelta", lambda td: [td.days, td.seconds, td.microseconds]),
    uuid.UUID: ("uuid", str),
    Decimal: ("decimal", str),
    bytes: ("bytes", lambda b: base64.b64encode(b).decode("ascii")),
}

_SCALAR_DECODERS: dict[str, Callable[[Any], object]] = {
    "float": _decode_float,  # NaN and infinities: JSON has none, PostgreSQL's jsonb refuses them
    "datetime": lambda v: _decode_clock(v, datetime),
    "time": lambda v: _decode_clock(v, time),
    "date": lambda v: date.fromisoformat(_text(v)),
    "timedelta": _decode_timedelta,
    "uuid": lambda v: uuid.UUID(_text(v)),
    "decimal": lambda v: Decimal(_text(v)),
    "bytes": lambda v: base64.b64decode(_text(v), validate=True),
}

_COLLECTIONS: dict[type, str] = {tuple: "tuple", set: "set", frozenset: "frozenset"}
_COLLECTION_TYPES: dict[str, Callable[[list[Any]], object]] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
}
_CONTAINERS = (list, dict, *_COLLECTIONS)
_ID_HINT = "store an id and look it up in the job"


def _type_problem(obj: object) -> _Unstorable:
    hint = _ID_HINT
    for base in (str, int, float, list, dict, bytes):  # a subclass would come back as its base
        if isinstance(obj, base):
            hint = f"convert it to a plain {base.__name__} first"
            break
    return _Unstorable(f"of type {type(obj).__qualname__} cannot be stored; {hint}")


def _encode(obj: object, seen: set[int]) -> JSONValue:
    kind = type(obj)  # exact types, so that decoding gives back the same types
    if obj is None or kind is bool or kind is int or kind is str:
        return cast("JSONValue", obj)
    if isinstance(obj, float) and kind is float:
        return obj if math.isfinite(obj) else {TAG: "float", "v": repr(obj)}
    if kind in _SCALARS:
        tag, encode = _SCALARS[kind]
        return {TAG: tag, "v": encode(obj)}
    if isinstance(obj, enum.Enum):  # before the containers: IntEnum is an int, StrEnum a str
        return {TAG: "enum", "v": _encode_enum(obj)}
    if not isinstance(obj, (list, dict, tuple, set, frozenset)) or kind not in _CONTAINERS:
        raise _type_problem(obj)
    if id(obj) in seen:
        raise _Unstorable("contains itself; a cycle cannot be stored")
    seen.add(id(obj))
    try:
        if isinstance(obj, dict):
            for key in obj:
                if type(key) is not str:
                    raise _Unstorable(
                        f"has a key {key!r} of type {type(key).__qualname__}; only str keys can "
                        "be stored (convert the keys to str)"
                    )
            items = _each_value(obj, lambda x: _encode(x, seen))
            return {TAG: "dict", "v": items} if TAG in items else items  # escape a forged tag
        values = _each_item(obj, lambda x: _encode(x, seen))
        if kind is list:
            return values
        if kind is not tuple:  # sets: a stable order, so equal sets store equal bytes
            values.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return {TAG: _COLLECTIONS[kind], "v": values}
    finally:
        seen.discard(id(obj))


def _decode(obj: Any, gate: ClassGate | None) -> Any:
    if isinstance(obj, list):
        return _each_item(obj, lambda x: _decode(x, gate))
    if not isinstance(obj, dict):
        return obj
    if TAG not in obj:
        return _each_value(obj, lambda x: _decode(x, gate))
    tag, v = obj[TAG], obj.get("v")
    if obj.keys() != {TAG, "v"}:
        raise _Unstorable("is a malformed tagged object")
    try:
        if tag == "dict" and isinstance(v, dict):
            return _each_value(v, lambda x: _decode(x, gate))
        if tag in _COLLECTION_TYPES and isinstance(v, list):
            return _COLLECTION_TYPES[tag](_each_item(v, lambda x: _decode(x, gate)))
        if tag == "enum":
            return _decode_enum(v, gate)
        if tag in _SCALAR_DECODERS:
            return _SCALAR_DECODERS[tag](v)
    except RefusedReference as exc:  # a policy refusal, kept apart from damage
        raise _Unstorable(f"(tag {tag!r}) is refused: {exc}", RefusedReference) from exc
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:  # forged or damaged
        raise _Unstorable(f"(tag {tag!r}) is invalid: {exc}") from exc
    raise _Unstorable(
        f"has an unknown or malformed tag {tag!r}; was it written by a newer aioscheduler?"
    )


def encode_value(obj: object, where: str = "value") -> JSONValue:
    """Encode a value as a JSON-compatible tree, tagging the registry's extra types.

    Plain JSON values (``None``, ``bool``, ``int``, finite ``float``, ``str``, ``list``, and
    ``dict`` with ``str`` keys) pass through. These become tagged objects
    ``{"__aiosched__": tag, "v": ...}``: ``datetime`` and ``time`` (naive, with a fixed offset,
    or with a ``ZoneInfo``, whose key is kept), ``date``, ``timedelta``, ``UUID``, ``Decimal``,
    ``bytes``, ``tuple``, ``set``, ``frozenset``, members of module-level ``Enum`` classes,
    NaN and infinities, and any dict holding the tag key. Types are matched exactly, so decoding
    gives back the same types: a subclass (``OrderedDict``, a ``str`` subclass) is refused.

    Args:
        obj: The value.
        where: How error messages name the value, e.g. ``"argument kwargs"``.

    Returns:
        A tree that :func:`json.dumps` writes with ``allow_nan=False``.

    Raises:
        SerializationError: A value at any depth cannot be stored; the message names its type
            and position, e.g. ``argument kwargs['conn'] of type Connection cannot be stored;
            store an id and look it up in the job``.
    """
    try:
        return _encode(obj, set())
    except _Unstorable as problem:
        raise problem.at(where) from None
    except RecursionError:
        raise SerializationError(f"{where} is nested too deeply to be stored") from None


def decode_value(
    obj: Any,
    *,
    allowed_modules: Collection[str] | None = None,
    where: str = "stored value",
    gate: ClassGate | None = None,
) -> Any:
    """Decode a tree made by :func:`encode_value`.

    Args:
        obj: The JSON-compatible tree.
        allowed_modules: If given, the modules an ``Enum`` class may be imported from (as in
            :func:`resolve_ref`).
        where: How error messages name the value.
        gate: Called with each ``Enum`` class reference before it is imported; raises
            :class:`~aioscheduler.errors.RefusedReference` to refuse it. Stores pass
            :meth:`Admission.class_gate <aioscheduler._admission.Admission.class_gate>`.

    Raises:
        RefusedReference: ``gate`` or ``allowed_modules`` refused a class (nothing imported).
        SerializationError: The tree holds an unknown or malformed tag, or is nested too deeply.
    """
    if allowed_modules is not None:
        gate = _both(_modules_gate(allowed_modules), gate)
    try:
        return _decode(obj, gate)
    except _Unstorable as problem:
        raise problem.at(where) from problem.__cause__
    except RecursionError:
        raise SerializationError(f"{where} is nested too deeply") from None


def encode_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """Encode a job's positional and keyword arguments as compact UTF-8 JSON.

    The document is ``{"v": 1, "a": [...], "k": {...}}``, the arguments encoded by
    :func:`encode_value`, so ``decode_args(encode_args(a, k)) == (a, k)`` with the same types.

    Raises:
        SerializationError: An argument cannot be stored.
    """
    document = {
        "v": _ARGS_VERSION,
        "a": encode_value(list(args), "argument args"),
        "k": encode_value(kwargs, "argument kwargs"),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def decode_args(
    data: bytes, *, allowed_modules: Collection[str] | None = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Decode arguments written by :func:`encode_args`.

    Args:
        data: The bytes (opened by :meth:`PayloadCodec.open` first if they were sealed).
        allowed_modules: If given, the modules an ``Enum`` class may be imported from.

    Returns:
        ``(args, kwargs)``.

    Raises:
        SerializationError: The bytes are not an argument document, have an unknown version,
            or hold an invalid value.
    """
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise SerializationError(f"stored arguments are not valid JSON: {exc}") from exc
    except RecursionError:
        raise SerializationError("stored arguments are nested too deeply") from None
    if not (isinstance(document, dict) and document.keys() == {"v", "a", "k"}):
        raise SerializationError("stored arguments are malformed: expected {'v', 'a', 'k'}")
    if document["v"] != _ARGS_VERSION:
        raise SerializationError(
            f"stored arguments have version {document['v']!r}, this aioscheduler reads version "
            f"{_ARGS_VERSION}; was the job written by a newer aioscheduler?"
        )
    args = decode_value(document["a"], allowed_modules=allowed_modules, where="stored args")
    kwargs = decode_value(document["k"], allowed_modules=allowed_modules, where="stored kwargs")
    if type(args) is not list or type(kwargs) is not dict:
        raise SerializationError("stored arguments are malformed: 'a' must be a list, 'k' a dict")
    return tuple(args), kwargs


def safe_repr_value(value: object, limit: int = 1000) -> JSONValue:
    """Encode a run's return value for the record, or fall back to a truncated ``repr``.

    Return values are informational only: nothing is refused. A value that cannot be encoded,
    or whose JSON is longer than ``limit`` characters, is stored as its ``repr()`` cut to
    ``limit`` characters.
    """
    try:
        encoded = encode_value(value)
        if len(json.dumps(encoded, ensure_ascii=False, allow_nan=False)) <= limit:
            return encoded
    except SerializationError:
        pass
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not fail the run's record
        text = f"<{type(value).__qualname__} object (repr failed)>"
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
