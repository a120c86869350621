"""Turning jobs into data a persistent store can keep, and back, without trusting that data.

Three things leave the process when a job is stored, and each has its own rule:

* **The callable** becomes an import path, ``"package.module:qualname"``, of a *function*
  (:func:`callable_ref`, in ``_refs.py``). Loading it (:func:`resolve_ref`) imports the module,
  walks the qualname and accepts only a function or a method of a class: never a class, because
  calling a class named by stored data is constructing arbitrary objects from that data
  (APScheduler 4's CVE-2026-31072). Before any of that, the scheduler's admission policy
  (``_admission.py``) decides whether a stored reference may be followed at all.
* **The arguments** become JSON (:func:`encode_args`). Besides JSON's own types, a closed
  registry of value types (``_tagged.py``) is written as tagged objects
  ``{"__aiosched__": tag, "v": ...}``.
  The only class ever looked up from stored data is an :class:`~enum.Enum`, and its member is
  found by name: no constructor ever sees stored data.
* **The bytes** are sealed by :class:`PayloadCodec` (signed, optionally encrypted; see
  ``_crypto.py``) so that rows written by anyone without the key are refused.

Nothing here is asynchronous or touches a store: stores call these functions around their I/O.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Collection, Iterable
from typing import Any, cast

from ._crypto import PayloadCodec as PayloadCodec
from ._crypto import PayloadError as PayloadError

# The callable-reference half lives in _refs.py, the tagged scalar types in _tagged.py; these
# names stay importable from here.
from ._refs import callable_ref as callable_ref
from ._refs import class_ref as class_ref
from ._refs import module_allowed, split_ref
from ._refs import resolve_ref as resolve_ref
from ._tagged import SCALAR_DECODERS, SCALARS, Unstorable, decode_enum, encode_enum
from ._tagged import ClassGate as ClassGate
from ._tagged import JSONValue as JSONValue
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


#: The key that marks a tagged object. A user dict holding this key is itself wrapped in a
#: ``"dict"`` tag, so stored user data can never be read back as a tag.
TAG = "__aiosched__"


#: Version of the argument document written by :func:`encode_args`.
_ARGS_VERSION = 1

# -- values -------------------------------------------------------------------------------------


def _each_item(values: Iterable[Any], convert: Callable[[Any], Any]) -> list[Any]:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(convert(value))
        except Unstorable as problem:
            problem.path.append(f"[{i}]")
            raise
    return out


def _each_value(mapping: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    out = {}
    for key, value in mapping.items():
        try:
            out[key] = convert(value)
        except Unstorable as problem:
            problem.path.append(f"[{key!r}]")
            raise
    return out


def _modules_gate(allowed_modules: Collection[str]) -> ClassGate:
    """The gate of an ``allowed_modules`` list (the older, module-only form of a policy)."""

    def gate(ref: str) -> None:
        module, _ = split_ref(ref)
        if not module_allowed(module, allowed_modules):
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


_COLLECTIONS: dict[type, str] = {tuple: "tuple", set: "set", frozenset: "frozenset"}
_COLLECTION_TYPES: dict[str, Callable[[list[Any]], object]] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
}
_CONTAINERS = (list, dict, *_COLLECTIONS)
_ID_HINT = "store an id and look it up in the job"


def _type_problem(obj: object) -> Unstorable:
    hint = _ID_HINT
    for base in (str, int, float, list, dict, bytes):  # a subclass would come back as its base
        if isinstance(obj, base):
            hint = f"convert it to a plain {base.__name__} first"
            break
    return Unstorable(f"of type {type(obj).__qualname__} cannot be stored; {hint}")


def _encode(obj: object, seen: set[int]) -> JSONValue:
    kind = type(obj)  # exact types, so that decoding gives back the same types
    if obj is None or kind is bool or kind is int or kind is str:
        return cast("JSONValue", obj)
    if isinstance(obj, float) and kind is float:
        return obj if math.isfinite(obj) else {TAG: "float", "v": repr(obj)}
    if kind in SCALARS:
        tag, encode = SCALARS[kind]
        return {TAG: tag, "v": encode(obj)}
    if isinstance(obj, enum.Enum):  # before the containers: IntEnum is an int, StrEnum a str
        return {TAG: "enum", "v": encode_enum(obj)}
    if not isinstance(obj, (list, dict, tuple, set, frozenset)) or kind not in _CONTAINERS:
        raise _type_problem(obj)
    if id(obj) in seen:
        raise Unstorable("contains itself; a cycle cannot be stored")
    seen.add(id(obj))
    try:
        if isinstance(obj, dict):
            for key in obj:
                if type(key) is not str:
                    raise Unstorable(
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
        raise Unstorable("is a malformed tagged object")
    try:
        if tag == "dict" and isinstance(v, dict):
            return _each_value(v, lambda x: _decode(x, gate))
        if tag in _COLLECTION_TYPES and isinstance(v, list):
            return _COLLECTION_TYPES[tag](_each_item(v, lambda x: _decode(x, gate)))
        if tag == "enum":
            return decode_enum(v, gate)
        if tag in SCALAR_DECODERS:
            return SCALAR_DECODERS[tag](v)
    except RefusedReference as exc:  # a policy refusal, kept apart from damage
        raise Unstorable(f"(tag {tag!r}) is refused: {exc}", RefusedReference) from exc
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:  # forged or damaged
        raise Unstorable(f"(tag {tag!r}) is invalid: {exc}") from exc
    raise Unstorable(
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
    except Unstorable as problem:
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
    except Unstorable as problem:
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
