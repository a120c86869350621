"""Tests for aioscheduler._serialization and aioscheduler._crypto: refs, arguments, envelopes."""

from __future__ import annotations

import enum
import functools
import inspect
import json
import math
import random
import re
import sys
import types
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioscheduler._crypto import MIN_SECRET_LEN, _hkdf
from aioscheduler._serialization import (
    TAG,
    PayloadCodec,
    PayloadError,
    callable_ref,
    decode_args,
    decode_value,
    encode_args,
    encode_value,
    resolve_ref,
    safe_repr_value,
)
from aioscheduler.errors import SerializationError
from tests import serialization_support as support

MOD = support.__name__
KEY = "a-secret-key-of-32-characters-ok"
OLD_KEY = b"an older secret, since rotated"
deterministic = settings(derandomize=True, database=None, deadline=None, max_examples=200)


def _same_callable(a: object, b: object) -> bool:
    return a == b if isinstance(a, (types.MethodType, types.BuiltinMethodType)) else a is b


# -- callable_ref / resolve_ref: what is accepted -----------------------------------------------


@pytest.mark.parametrize(
    ("func", "ref"),
    [
        pytest.param(support.plain_job, f"{MOD}:plain_job", id="function"),
        pytest.param(support.async_job, f"{MOD}:async_job", id="async function"),
        pytest.param(support.Tools.helper, f"{MOD}:Tools.helper", id="staticmethod"),
        pytest.param(support.Tools.make, f"{MOD}:Tools.make", id="classmethod"),
        pytest.param(support.Tools.Inner.deep, f"{MOD}:Tools.Inner.deep", id="nested class"),
        pytest.param(support.Tools.method, f"{MOD}:Tools.method", id="method via its class"),
        pytest.param(support.decorated, f"{MOD}:decorated", id="decorated with wraps"),
        pytest.param(len, "builtins:len", id="builtin"),
        pytest.param(math.sqrt, "math:sqrt", id="builtin of a module"),
        pytest.param(dict.fromkeys, "builtins:dict.fromkeys", id="builtin classmethod"),
    ],
)
def test_callable_ref_names_a_function_that_resolves_back(func: Any, ref: str) -> None:
    assert callable_ref(func) == ref
    assert _same_callable(resolve_ref(ref), func)


# -- callable_ref: what is refused, and the message says what to do ----------------------------


def _main_function() -> Any:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec("def job():\n    return 1\n", namespace)
    return namespace["job"]


def _moduleless_function() -> Any:
    return types.FunctionType(support.plain_job.__code__, {})


@pytest.mark.parametrize(
    ("func", "message"),
    [
        pytest.param(lambda: 1, "is a lambda", id="lambda"),
        pytest.param(support.make_closure(), "move it to module level", id="closure"),
        pytest.param(_main_function(), "move it into an importable module", id="__main__"),
        pytest.param(support.Tools().method, "bound to a Tools instance", id="bound method"),
        pytest.param(random.randint, "bound to a Random instance", id="module-level bound"),
        pytest.param([].append, "built-in method bound to a list", id="bound builtin"),
        pytest.param(support.greeter, r"Greeter instance\) is not a function", id="instance"),
        pytest.param(support.Target, "is a class", id="class"),
        pytest.param(functools.partial(support.plain_job, 1), "pass the function", id="partial"),
        pytest.param(support.first_replaced, "imports another object", id="shadowed"),
        pytest.param(inspect.unwrap(support.decorated), "imports another object", id="undecorated"),
        pytest.param(support.SubTools.make, "imports another object", id="inherited classmethod"),
        pytest.param(_moduleless_function(), "has no __module__", id="no module"),
    ],
)
def test_callable_ref_refuses_what_cannot_be_imported_back(func: Any, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        callable_ref(func)


# -- resolve_ref: validation before import, functions only --------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "os:system; rm",
        "a..b:c",
        "os.system",
        "",
        ":system",
        "os:",
        "os:sys:tem",
        " os:system",
        "os:system\n",
        "os:system()",
        "os/path:join",
    ],
)
def test_resolve_ref_refuses_a_malformed_reference(ref: str) -> None:
    with pytest.raises(SerializationError, match="malformed reference"):
        resolve_ref(ref)


def test_resolve_ref_refuses_to_walk_dunder_attributes() -> None:
    with pytest.raises(SerializationError, match="dunder"):
        resolve_ref(f"{MOD}:plain_job.__globals__")


@pytest.mark.parametrize("ref", ["collections:OrderedDict", f"{MOD}:Target", "subprocess:Popen"])
def test_resolve_ref_refuses_a_class(ref: str) -> None:
    with pytest.raises(SerializationError, match="names a class"):
        resolve_ref(ref)


@pytest.mark.parametrize(
    ("ref", "kind"),
    [(f"{MOD}:NOT_A_FUNCTION", "int"), (f"{MOD}:greeter", "Greeter"), ("os:path", "module")],
)
def test_resolve_ref_refuses_what_is_not_a_function(ref: str, kind: str) -> None:
    with pytest.raises(SerializationError, match=f"names a {kind} object, not a function"):
        resolve_ref(ref)


def test_resolve_ref_reports_a_missing_module_with_the_import_error_as_cause() -> None:
    with pytest.raises(SerializationError, match="cannot import 'no_such_module_xyz'") as info:
        resolve_ref("no_such_module_xyz:job")
    assert isinstance(info.value.__cause__, ImportError)


def test_resolve_ref_reports_a_module_that_fails_while_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SerializationError, match=r"cannot import.*boom") as info:
        resolve_ref("explodes_on_import:job")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_resolve_ref_walks_through_classes_only() -> None:
    with pytest.raises(SerializationError, match="'greeter' is a Greeter, not a class"):
        resolve_ref(f"{MOD}:greeter.method")


def test_resolve_ref_reports_a_missing_attribute() -> None:
    with pytest.raises(SerializationError, match=r"has no attribute path 'Tools\.missing'"):
        resolve_ref(f"{MOD}:Tools.missing")


@pytest.mark.parametrize(
    ("ref", "allowed"),
    [
        pytest.param(f"{MOD}:plain_job", [MOD], id="the module itself"),
        pytest.param("os.path:join", ["os"], id="a submodule of an allowed package"),
        pytest.param("os.path:join", ["json", "os.path"], id="one of several"),
    ],
)
def test_resolve_ref_accepts_modules_inside_the_allow_list(ref: str, allowed: list[str]) -> None:
    assert callable(resolve_ref(ref, allowed_modules=allowed))


@pytest.mark.parametrize(
    ("ref", "allowed"),
    [
        pytest.param(f"{MOD}:plain_job", ["serialization"], id="a name prefix is no package"),
        pytest.param("os:system", ["os.path"], id="the parent of an allowed package"),
        pytest.param("os:system", [], id="an empty list allows nothing"),
        pytest.param("never_imported_pkg.jobs:run", ["myapp"], id="checked before importing"),
    ],
)
def test_resolve_ref_refuses_modules_outside_the_allow_list(ref: str, allowed: list[str]) -> None:
    with pytest.raises(SerializationError, match="outside the allowed modules"):
        resolve_ref(ref, allowed_modules=allowed)


# -- arguments: exact round trips -----------------------------------------------------------------


def assert_same(a: Any, b: Any) -> None:
    """Equal values of the very same types, all the way down (NaN and -0.0 included)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, float):
        assert repr(a) == repr(b)
    elif isinstance(a, Decimal):
        assert str(a) == str(b)
    elif isinstance(a, (datetime, time)):
        assert a.replace(tzinfo=None) == b.replace(tzinfo=None)
        assert (a.fold, _zone(a.tzinfo)) == (b.fold, _zone(b.tzinfo))
    elif isinstance(a, enum.Enum):
        assert a is b
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (set, frozenset)):
        assert len(a) == len(b)
        for x in a:
            assert_same(x, next(y for y in b if y == x))
    else:
        assert a == b


def _zone(tz: tzinfo | None) -> object:
    if isinstance(tz, ZoneInfo):
        return tz.key
    return None if tz is None else tz.utcoffset(None)


fixed_offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
zones = st.none() | st.just(UTC) | fixed_offsets | st.timezones()
folds = st.sampled_from([0, 1])
datetimes = st.builds(
    lambda d, fold: d.replace(fold=fold), st.datetimes(timezones=zones, allow_imaginary=True), folds
)
times = st.builds(lambda t, fold: t.replace(fold=fold), st.times(timezones=zones), folds)
members = st.sampled_from(
    [
        *support.Color,
        *support.Priority,
        *support.Mode,
        *support.Perm,
        support.Outer.Nested.A,
        support.Perm.R | support.Perm.X,
        support.Perm.RW | support.Perm.X,
    ]
)
hashable_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    datetimes,
    times,
    st.dates(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False),
    members,
)
scalars = hashable_scalars | st.floats() | st.decimals()
hashables = st.recursive(
    hashable_scalars,
    lambda inner: st.lists(inner, max_size=3).map(tuple) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
keys = st.text() | st.sampled_from([TAG, "v", ""])
values = st.recursive(
    scalars | hashables,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=16,
)


def _refuse_constant(token: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {token}")


@deterministic
@given(args=st.lists(values, max_size=4).map(tuple), kwargs=st.dictionaries(keys, values))
def test_arguments_round_trip_exactly_as_strict_json(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    data = encode_args(args, kwargs)
    json.loads(data, parse_constant=_refuse_constant)  # strict JSON: no NaN/Infinity tokens
    decoded_args, decoded_kwargs = decode_args(data)
    assert_same(decoded_args, args)
    assert_same(decoded_kwargs, kwargs)


@deterministic
@given(value=values)
def test_a_value_round_trips_through_encode_value(value: Any) -> None:
    assert_same(decode_value(json.loads(json.dumps(encode_value(value)))), value)


def test_the_argument_document_format_is_stable() -> None:
    # Pins the stored format: changing it needs a new version and a reader for the old one.
    data = encode_args(
        (1, "x", (2, 3.5), b"\x00"),
        {"when": datetime(2024, 3, 31, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")), "p": None},
    )
    assert data == (
        b'{"v":1,"a":[1,"x",{"__aiosched__":"tuple","v":[2,3.5]},'
        b'{"__aiosched__":"bytes","v":"AA=="}],'
        b'"k":{"when":{"__aiosched__":"datetime",'
        b'"v":{"t":"2024-03-31T02:30:00","tz":"Europe/Berlin"}},"p":null}}'
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime(2024, 3, 31, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")), id="gap"),
        pytest.param(
            datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")), id="fold"
        ),
        pytest.param(datetime(2024, 1, 1, tzinfo=UTC), id="utc"),
        pytest.param(
            datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=7))),
            id="odd offset",
        ),
        pytest.param(datetime(2024, 1, 1, 12), id="naive"),
        pytest.param(time(9, 30, tzinfo=ZoneInfo("America/New_York")), id="time in a zone"),
        pytest.param(support.Color.CRIMSON, id="enum alias"),
        pytest.param(support.Perm.R | support.Perm.X, id="flag composite"),
        pytest.param(support.Perm.R | support.Perm.W, id="flag alias"),
        pytest.param(support.Perm.NONE, id="named empty flag"),
        pytest.param(support.Priority.HIGH, id="IntEnum"),
        pytest.param(Decimal("-0.00"), id="decimal keeps its exponent"),
        pytest.param(-0.0, id="negative zero"),
        pytest.param({TAG: "x"}, id="user dict holding the tag key"),
        pytest.param([(), set(), frozenset(), {}, []], id="empty containers"),
    ],
)
def test_edge_values_round_trip_exactly(value: Any) -> None:
    assert_same(decode_args(encode_args((value,), {}))[0][0], value)


def test_datetime_in_a_zone_keeps_the_zone_key() -> None:
    when = datetime(2024, 6, 1, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    decoded = decode_value(encode_value(when))
    assert decoded.tzinfo is ZoneInfo("Europe/Berlin")


def test_tuple_and_list_stay_apart() -> None:
    (args, _) = decode_args(encode_args(([1, 2], (1, 2)), {}))
    assert type(args[0]) is list
    assert type(args[1]) is tuple


def test_sets_store_the_same_bytes_whatever_their_order() -> None:
    assert encode_value({"b", "a", "c"}) == encode_value({"c", "a", "b"})


@pytest.mark.parametrize(
    ("value", "stored"),
    [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")],
)
def test_non_finite_floats_are_tagged_not_written_as_json_constants(
    value: float, stored: str
) -> None:
    assert encode_value(value) == {TAG: "float", "v": stored}
    decoded = decode_value(encode_value(value))
    assert repr(decoded) == repr(value)


def test_a_forged_tag_in_user_data_is_escaped_and_never_interpreted() -> None:
    forged = {TAG: "enum", "v": ["never_imported_pkg.evil:Payload", "X"]}
    data = encode_args((forged,), {TAG: forged})
    assert b'{"__aiosched__":"dict","v":{"__aiosched__":"enum"' in data
    assert decode_args(data) == ((forged,), {TAG: forged})
    assert "never_imported_pkg" not in sys.modules


# -- arguments: what is refused, with the position named ------------------------------------------


@dataclass
class Connection:
    dsn: str


class OddZone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "ODD"


class MyStr(str):
    pass


def _cyclic() -> list[Any]:
    items: list[Any] = [1]
    items.append({"again": items})
    return items


def _nested(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        pytest.param(
            (),
            {"conn": Connection("db")},
            re.escape(
                "argument kwargs['conn'] of type Connection cannot be stored; "
                "store an id and look it up in the job"
            ),
            id="dataclass",
        ),
        pytest.param((object(),), {}, r"argument args\[0\] of type object", id="object"),
        pytest.param(
            (1, support.plain_job), {}, r"argument args\[1\] of type function", id="function"
        ),
        pytest.param(
            (),
            {"opts": {"items": [1, Connection("x")]}},
            r"argument kwargs\['opts'\]\['items'\]\[1\] of type Connection",
            id="nested position",
        ),
        pytest.param(
            ({1: "a"},), {}, "has a key 1 of type int; only str keys", id="non-str dict key"
        ),
        pytest.param(
            (__import__("collections").OrderedDict(a=1),),
            {},
            "of type OrderedDict cannot be stored; convert it to a plain dict",
            id="dict subclass",
        ),
        pytest.param((MyStr("x"),), {}, "convert it to a plain str", id="str subclass"),
        pytest.param((bytearray(b"x"),), {}, "of type bytearray", id="bytearray"),
        pytest.param(
            (datetime(2024, 1, 1, tzinfo=OddZone()),),
            {},
            "time zone of type OddZone.*use zoneinfo.ZoneInfo or datetime.timezone",
            id="foreign tzinfo",
        ),
        pytest.param((_cyclic(),), {}, "contains itself", id="cycle"),
        pytest.param((_nested(5000),), {}, "nested too deeply", id="too deep"),
        pytest.param((), {1: "x"}, "argument kwargs has a key 1 of type int", id="kwarg name"),
    ],
)
def test_unstorable_arguments_are_refused_naming_type_and_position(
    args: tuple[Any, ...], kwargs: dict[Any, Any], message: str
) -> None:
    with pytest.raises(SerializationError, match=message):
        encode_args(args, kwargs)


def test_an_enum_defined_in_a_function_is_refused() -> None:
    class Local(enum.Enum):
        A = 1

    with pytest.raises(SerializationError, match="move the enum into an importable module"):
        encode_value(Local.A, "args[0]")


def test_an_enum_defined_in_main_is_refused() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec("import enum\nclass E(enum.Enum):\n    A = 1\n", namespace)
    with pytest.raises(SerializationError, match="defined in __main__"):
        encode_value(namespace["E"].A)


def test_an_enum_that_does_not_import_back_is_refused() -> None:
    class Hidden(enum.Enum):
        A = 1

    Hidden.__qualname__ = "Hidden"  # claims to live in the support module, but does not
    Hidden.__module__ = MOD
    with pytest.raises(SerializationError, match="cannot be found again"):
        encode_value(Hidden.A)


def test_an_empty_flag_is_refused() -> None:
    with pytest.raises(SerializationError, match="empty Bits flag"):
        encode_value(support.Bits(0))


# -- decoding stored data that was not written by encode_args -------------------------------------


def _doc(*args: Any) -> bytes:
    return json.dumps({"v": 1, "a": list(args), "k": {}}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"not json", "not valid JSON", id="not json"),
        pytest.param(b"[1, 2]", "malformed", id="not an object"),
        pytest.param(b'{"v": 1, "a": []}', "malformed", id="missing key"),
        pytest.param(b'{"v": 2, "a": [], "k": {}}', "version 2", id="newer version"),
        pytest.param(b'{"v": 1, "a": {}, "k": {}}', "'a' must be a list", id="bad args"),
        pytest.param(_doc({TAG: "pickle", "v": "gASV"}), "unknown or malformed tag", id="tag"),
        pytest.param(_doc({TAG: "tuple", "v": [], "x": 1}), "malformed tagged", id="extra key"),
        pytest.param(_doc({TAG: "tuple", "v": "ab"}), "unknown or malformed", id="tuple of str"),
        pytest.param(_doc({TAG: "set", "v": [[1]]}), "invalid", id="unhashable set member"),
        pytest.param(_doc({TAG: "float", "v": "1.5"}), "invalid", id="finite tagged float"),
        pytest.param(_doc({TAG: "bytes", "v": "!!"}), "invalid", id="bad base64"),
        pytest.param(_doc({TAG: "bytes", "v": 5}), "expected a string", id="bytes of int"),
        pytest.param(_doc({TAG: "decimal", "v": "abc"}), "invalid", id="bad decimal"),
        pytest.param(_doc({TAG: "uuid", "v": "abc"}), "invalid", id="bad uuid"),
        pytest.param(_doc({TAG: "timedelta", "v": [1, 2]}), "invalid", id="bad timedelta"),
        pytest.param(_doc({TAG: "datetime", "v": "2024"}), "invalid", id="datetime not dict"),
        pytest.param(
            _doc({TAG: "datetime", "v": {"t": "2024-01-01T00:00:00", "tz": "Mars/Olympus"}}),
            "invalid",
            id="unknown zone",
        ),
        pytest.param(
            _doc({TAG: "datetime", "v": {"t": "2024-01-01T00:00:00", "tz": "../../etc/passwd"}}),
            "invalid",
            id="zone path traversal",
        ),
        pytest.param(
            _doc({TAG: "enum", "v": ["collections:OrderedDict", "x"]}),
            "not an Enum class",
            id="enum naming another class",
        ),
        pytest.param(
            _doc({TAG: "enum", "v": ["os:system", "x"]}), "not an Enum class", id="enum function"
        ),
        pytest.param(
            _doc({TAG: "enum", "v": [f"{MOD}:Color", "BLUE"]}), "invalid", id="unknown member"
        ),
        pytest.param(_doc({TAG: "enum", "v": [f"{MOD}:Color"]}), "invalid", id="no member"),
        pytest.param(
            b'{"v":1,"a":[' + b"[" * 5000 + b"]" * 5000 + b'],"k":{}}',
            "nested too deeply",
            id="too deep for JSON",
        ),
        pytest.param(
            b'{"v":1,"a":[' + b"[" * 700 + b"]" * 700 + b'],"k":{}}',
            "nested too deeply",
            id="too deep to decode",
        ),
    ],
)
def test_damaged_or_forged_stored_arguments_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        decode_args(data)


def test_decoding_an_enum_outside_the_allowed_modules_is_refused_before_import() -> None:
    data = _doc({TAG: "enum", "v": ["never_imported_pkg.enums:Color", "RED"]})
    with pytest.raises(SerializationError, match="outside the allowed modules"):
        decode_args(data, allowed_modules=["myapp"])
    assert "never_imported_pkg" not in sys.modules


def test_decoding_an_enum_inside_the_allowed_modules_works() -> None:
    data = encode_args((support.Color.RED,), {})
    assert decode_args(data, allowed_modules=[MOD]) == ((support.Color.RED,), {})


def test_decode_value_reports_excessive_nesting() -> None:
    with pytest.raises(SerializationError, match="nested too deeply"):
        decode_value(_nested(5000))


# -- safe_repr_value ------------------------------------------------------------------------------


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"rows": 3}, {"rows": 3}, id="encodable"),
        pytest.param((1, 2), {TAG: "tuple", "v": [1, 2]}, id="tagged"),
        pytest.param(Connection("db"), "Connection(dsn='db')", id="repr of the unstorable"),
        pytest.param(BrokenRepr(), "<BrokenRepr object (repr failed)>", id="broken repr"),
    ],
)
def test_safe_repr_value_encodes_or_falls_back_to_repr(value: object, expected: object) -> None:
    assert safe_repr_value(value) == expected


def test_safe_repr_value_truncates_long_values_to_the_limit() -> None:
    text = safe_repr_value(list(range(1000)), limit=50)
    assert isinstance(text, str)
    assert len(text) == 50
    assert text.startswith("[0, 1, 2")
    assert text.endswith("…")


# -- PayloadCodec: envelopes ----------------------------------------------------------------------


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_without_a_key_payloads_are_wrapped_in_a_plain_versioned_envelope() -> None:
    codec = PayloadCodec()
    assert codec.seal(b"{}") == b"p1:{}"
    assert codec.open(b"p1:{}") == b"{}"
    assert codec.key_id is None
    assert not codec.needs_reseal(b"p1:{}")


def test_without_a_key_a_signed_row_cannot_be_opened() -> None:
    sealed = PayloadCodec(KEY).seal(b"{}")
    with pytest.raises(PayloadError, match="no secret_key"):
        PayloadCodec().open(sealed)


def test_the_signed_envelope_format_is_stable() -> None:
    codec = PayloadCodec(KEY)
    assert codec.key_id == "c7668afa"
    assert codec.seal(b'{"v":1}') == (
        b's1:c7668afa:84be2b9b0f0a1b7c02df40471aa7abbb1ec33211f080cfc6d58e701595bc439d:{"v":1}'
    )


def test_a_signed_payload_opens_with_its_key() -> None:
    codec = PayloadCodec(KEY)
    assert codec.open(codec.seal(b"payload")) == b"payload"


def test_changing_any_byte_of_a_signed_row_is_detected() -> None:
    codec = PayloadCodec(KEY)
    sealed = codec.seal(b'{"v":1,"a":[],"k":{}}')
    for index in range(len(sealed)):
        with pytest.raises(PayloadError):
            codec.open(_flip(sealed, index))


@pytest.mark.parametrize("cut", [0, 2, 5, 12, 40, 76])
def test_a_truncated_signed_row_is_refused(cut: int) -> None:
    codec = PayloadCodec(KEY)
    with pytest.raises(PayloadError):
        codec.open(codec.seal(b"payload")[:cut])


def test_a_changed_payload_fails_the_signature_check() -> None:
    codec = PayloadCodec(KEY)
    sealed = codec.seal(b'{"job":"a"}')
    with pytest.raises(PayloadError, match="signature check failed: the row was modified"):
        codec.open(sealed.replace(b'"a"', b'"b"'))


def test_a_row_sealed_with_another_key_is_refused() -> None:
    sealed = PayloadCodec(OLD_KEY).seal(b"payload")
    with pytest.raises(PayloadError, match=r"unknown key.*pass that secret in old_keys"):
        PayloadCodec(KEY).open(sealed)


def test_an_unknown_envelope_is_refused() -> None:
    with pytest.raises(PayloadError, match="unknown envelope"):
        PayloadCodec(KEY).open(b'{"v":1}')


def test_rows_sealed_with_an_old_key_still_open_and_need_resealing() -> None:
    old_row = PayloadCodec(OLD_KEY).seal(b"payload")
    codec = PayloadCodec(KEY, old_keys=[OLD_KEY])
    assert codec.open(old_row) == b"payload"
    assert codec.needs_reseal(old_row)
    resealed = codec.seal(codec.open(old_row))
    assert not codec.needs_reseal(resealed)
    assert resealed.startswith(f"s1:{codec.key_id}:".encode())


def test_an_unsigned_row_is_refused_when_a_key_is_configured() -> None:
    with pytest.raises(PayloadError, match="not signed but a secret_key is configured"):
        PayloadCodec(KEY).open(b"p1:payload")


def test_accept_unsigned_lets_a_store_migrate_plain_rows() -> None:
    codec = PayloadCodec(KEY, accept_unsigned=True)
    assert codec.open(b"p1:payload") == b"payload"
    assert codec.needs_reseal(b"p1:payload")


def test_needs_reseal_refuses_an_unknown_envelope() -> None:
    with pytest.raises(PayloadError, match="unknown envelope"):
        PayloadCodec().needs_reseal(b"x9:payload")


def test_a_signed_row_needs_resealing_under_a_codec_without_key() -> None:
    assert PayloadCodec().needs_reseal(PayloadCodec(KEY).seal(b"payload"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"secret_key": "x" * 15}, "secret_key is too weak: 15 bytes", id="short"),
        pytest.param({"secret_key": "é" * 8}, None, id="16 bytes of UTF-8 are enough"),
        pytest.param(
            {"secret_key": KEY, "old_keys": [OLD_KEY, b"short"]},
            r"old_keys\[1\] is too weak",
            id="short old key",
        ),
        pytest.param({"secret_key": 12345}, "must be str or bytes, not int", id="not a secret"),
        pytest.param({"secret_key": KEY, "old_keys": OLD_KEY}, "sequence of secrets", id="lone"),
        pytest.param({"encrypt": True}, "encrypt=True needs a secret_key", id="encrypt, no key"),
        pytest.param({"old_keys": [OLD_KEY]}, "old_keys needs a secret_key", id="old, no key"),
    ],
)
def test_codec_options_are_checked_at_construction(
    kwargs: dict[str, Any], message: str | None
) -> None:
    if message is None:
        PayloadCodec(**kwargs)
        return
    with pytest.raises(SerializationError, match=message) as info:
        PayloadCodec(**kwargs)
    assert "xxxxxxxxxxxxxxx" not in str(info.value)


def test_the_minimum_secret_length_is_sixteen_bytes() -> None:
    assert MIN_SECRET_LEN == 16
    PayloadCodec(b"k" * 16)


def test_the_repr_names_the_mode_and_key_id_but_never_the_secret() -> None:
    codec = PayloadCodec(KEY, old_keys=[OLD_KEY])
    assert repr(codec) == "PayloadCodec(mode='signed', key_id='c7668afa', old_keys=1)"


def test_key_derivation_is_rfc5869_hkdf() -> None:
    hkdf = pytest.importorskip("cryptography.hazmat.primitives.kdf.hkdf")
    hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
    expected = hkdf.HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"aioscheduler payload codec", info=b"label"
    ).derive(KEY.encode())
    assert _hkdf(KEY.encode(), b"label") == expected


# -- PayloadCodec: encryption ---------------------------------------------------------------------


@pytest.fixture
def cryptography_installed() -> None:
    pytest.importorskip("cryptography")


@pytest.mark.usefixtures("cryptography_installed")
class TestEncryption:
    def test_an_encrypted_payload_opens_and_does_not_show_the_plaintext(self) -> None:
        codec = PayloadCodec(KEY, encrypt=True)
        sealed = codec.seal(b"secret payload")
        assert sealed.startswith(f"e1:{codec.key_id}:".encode())
        assert b"secret payload" not in sealed
        assert codec.open(sealed) == b"secret payload"
        assert not codec.needs_reseal(sealed)
        assert "mode='encrypted'" in repr(codec)

    def test_changing_any_byte_of_an_encrypted_row_is_detected(self) -> None:
        codec = PayloadCodec(KEY, encrypt=True)
        sealed = codec.seal(b"payload")
        for index in range(len(sealed)):
            with pytest.raises(PayloadError):
                codec.open(_flip(sealed, index))

    def test_a_tampered_ciphertext_fails_decryption(self) -> None:
        codec = PayloadCodec(KEY, encrypt=True)
        sealed = codec.seal(b"payload")
        with pytest.raises(PayloadError, match="decryption failed: the row was modified"):
            codec.open(_flip(sealed, len(sealed) - 1))

    def test_a_truncated_encrypted_row_is_refused(self) -> None:
        codec = PayloadCodec(KEY, encrypt=True)
        with pytest.raises(PayloadError, match="decryption failed"):
            codec.open(codec.seal(b"payload")[:30])

    def test_an_encrypted_row_of_another_key_is_refused(self) -> None:
        sealed = PayloadCodec(OLD_KEY, encrypt=True).seal(b"payload")
        with pytest.raises(PayloadError, match="unknown key"):
            PayloadCodec(KEY, encrypt=True).open(sealed)

    def test_rows_encrypted_with_an_old_key_still_open(self) -> None:
        sealed = PayloadCodec(OLD_KEY, encrypt=True).seal(b"payload")
        codec = PayloadCodec(KEY, old_keys=[OLD_KEY], encrypt=True)
        assert codec.open(sealed) == b"payload"
        assert codec.needs_reseal(sealed)

    def test_switching_between_signing_and_encryption_keeps_rows_readable(self) -> None:
        signed = PayloadCodec(KEY).seal(b"payload")
        encrypted = PayloadCodec(KEY, encrypt=True).seal(b"payload")
        assert PayloadCodec(KEY, encrypt=True).open(signed) == b"payload"
        assert PayloadCodec(KEY).open(encrypted) == b"payload"
        assert PayloadCodec(KEY, encrypt=True).needs_reseal(signed)
        assert PayloadCodec(KEY).needs_reseal(encrypted)


def _hide_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)


def test_encryption_without_cryptography_fails_at_construction_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide_cryptography(monkeypatch)
    with pytest.raises(SerializationError, match=r"pip install 'aioscheduler\[crypto\]'") as info:
        PayloadCodec(KEY, encrypt=True)
    assert isinstance(info.value.__cause__, ImportError)
    assert not isinstance(info.value, PayloadError)


def test_an_encrypted_row_without_cryptography_is_a_payload_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide_cryptography(monkeypatch)
    codec = PayloadCodec(KEY)
    row = f"e1:{codec.key_id}:".encode() + bytes(40)
    with pytest.raises(PayloadError, match=r"pip install 'aioscheduler\[crypto\]'"):
        codec.open(row)


@pytest.mark.parametrize("sign", [1, -1])
def test_a_fixed_offset_with_microseconds_round_trips(sign: int) -> None:
    # CPython 3.11's fromisoformat drops them; found by the round-trip property above
    zone = timezone(sign * timedelta(hours=5, seconds=7, microseconds=2269))
    for value in (time(1, 2, tzinfo=zone), datetime(2026, 3, 2, 1, 2, tzinfo=zone)):
        assert_same(decode_value(json.loads(json.dumps(encode_value(value)))), value)
