"""The admission policy: which names a stored row may make this process import (issue 9 §1)."""

from __future__ import annotations

import enum
import json
import sys
from os import getcwd  # noqa: F401 - re-exported on purpose: a row may name it through us
from pathlib import Path

import pytest

from aioscheduler import Every, Outcome, Scheduler  # noqa: F401 - Outcome: see the last test
from aioscheduler._admission import Admission, ref_of
from aioscheduler._crypto import PayloadCodec
from aioscheduler._serialization import decode_value, encode_value
from aioscheduler.errors import RefusedReference, SerializationError
from aioscheduler.stores._codec import decode_run, decode_spec, encode_spec
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import conformance_job, spec

from . import serialization_support as support

NEVER = "never_imported_pkg_9.jobs"


class Local(enum.Enum):
    A = 1


def document(**changes: object) -> bytes:
    d = json.loads(encode_spec(spec("j")))
    d.update(changes)
    return PayloadCodec().seal(json.dumps(d).encode())


@pytest.mark.parametrize(
    ("allow", "ref", "admitted"),
    [
        (["myapp"], "myapp:f", True),
        (["myapp"], "myapp.jobs.daily:f", True),
        (["myapp"], "myapp_evil:f", False),
        (["myapp.jobs"], "myapp:f", False),
        ([], "myapp:f", False),
        (["os.path"], "os:system", False),
    ],
)
def test_allow_admits_a_module_and_the_packages_under_it(
    allow: list[str], ref: str, admitted: bool
) -> None:
    policy = Admission(allow)
    if admitted:
        policy.check_callable(ref, signed=False)
        policy.check_class(ref, signed=False)
    else:
        with pytest.raises(RefusedReference, match="refused before importing"):
            policy.check_callable(ref, signed=False)
        with pytest.raises(RefusedReference):
            policy.check_class(ref, signed=False)


def test_a_signed_row_is_admitted_whatever_it_names() -> None:
    Admission().check_callable("anything.at.all:f", signed=True)
    Admission().check_class("anything:Cls", signed=True)


def test_builtin_classes_are_admitted_but_builtin_functions_never() -> None:
    policy = Admission()
    policy.check_class("builtins:ValueError", signed=False)
    for name in ("exec", "eval", "__import__", "open"):
        with pytest.raises(RefusedReference):
            policy.check_callable(f"builtins:{name}", signed=False)


def test_registering_a_job_admits_its_callable_retry_on_and_enum_classes() -> None:
    policy = Admission()
    policy.register(
        conformance_job,
        args=([{"x": (support.Color.RED,)}],),
        kwargs={"deep": {"set": frozenset({Local.A})}},
        retry_on=(KeyError, support.Color),
    )
    policy.check_callable(ref_of(conformance_job) or "", signed=False)
    for cls in (support.Color, Local, KeyError):
        policy.check_class(ref_of(cls) or "", signed=False)
    with pytest.raises(RefusedReference):
        policy.check_callable(ref_of(support.plain_job) or "", signed=False)
    with pytest.raises(RefusedReference):  # a registered class is no registered callable
        policy.check_callable(ref_of(Local) or "", signed=False)


@pytest.mark.parametrize("bad", ["myapp", ["my-app"], [""], [3], ["a..b"], ["builtins"]])
def test_bad_allow_entries_fail_at_construction_naming_the_value(bad: object) -> None:
    with pytest.raises(SerializationError, match="allow"):
        Admission(bad)  # type: ignore[arg-type]


def test_decode_spec_without_a_policy_is_strict() -> None:
    with pytest.raises(RefusedReference, match="conformance_job"):
        decode_spec("j", document(), PayloadCodec())
    allowed = Admission(["aioscheduler.testing"])
    assert decode_spec("j", document(), PayloadCodec(), allowed).func is conformance_job


@pytest.mark.parametrize(
    "changes",
    [
        {"func": f"{NEVER}:run"},
        {"args": [{"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}]},
        {"kwargs": {"k": {"__aiosched__": "dict", "v": {
            "x": {"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}}}}},
        {"options": {**json.loads(encode_spec(spec("j")))["options"],
                     "retry_on": [f"{NEVER}:Oops"]}},
    ],
    ids=["callable", "enum argument", "enum in a tagged dict", "retry_on"],
)  # fmt: skip
def test_every_name_in_a_row_is_checked_before_any_import(changes: dict[str, object]) -> None:
    policy = Admission(["aioscheduler.testing"])
    with pytest.raises(RefusedReference, match=NEVER):
        decode_spec("j", document(**changes), PayloadCodec(), policy)
    assert NEVER.split(".")[0] not in sys.modules


def test_a_malformed_reference_is_damage_not_a_policy_refusal() -> None:
    with pytest.raises(SerializationError, match="malformed reference") as info:
        decode_spec("j", document(func="os;system"), PayloadCodec(), Admission())
    assert not isinstance(info.value, RefusedReference)


def test_a_refused_enum_keeps_its_type_and_position_in_the_message() -> None:
    gate = Admission().class_gate(signed=False, what="enum")
    value = {"a": [1, {"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}]}
    with pytest.raises(RefusedReference, match=r"stored value\['a'\]\[1\] \(tag 'enum'\)"):
        decode_value(value, gate=gate)


def test_a_refused_result_enum_costs_the_value_not_the_run() -> None:
    record = json.dumps({
        "v": 1, "s": 0.0, "st": 0.0, "f": 1.0, "a": 1, "o": "success", "r": None, "m": 0,
        "res": {"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}, "err": None,
    }).encode()  # fmt: skip
    run = decode_run("j", record)
    assert isinstance(run.result, str) and run.result.startswith("<refused") and NEVER in run.result
    assert decode_run("j", record, signed=False, admission=Admission()).outcome == "success"
    assert NEVER.split(".")[0] not in sys.modules


async def test_the_memory_store_is_unaffected() -> None:
    scheduler = Scheduler()
    job = await scheduler.add(lambda: None, Every(seconds=1), id="live")
    assert job.id == "live" and scheduler.admission.registered == 0


def test_allow_does_not_reach_what_an_allowed_module_merely_imports() -> None:
    """``from os import getcwd`` in an allowed module does not admit ``os`` functions."""
    policy = Admission([__name__, "aioscheduler.testing"])
    with pytest.raises(RefusedReference, match="'posix:getcwd'"):
        decode_spec("j", document(func=f"{__name__}:getcwd"), PayloadCodec(), policy)
    reexported = [{"__aiosched__": "enum", "v": [f"{__name__}:Outcome", "SUCCESS"]}]
    with pytest.raises(RefusedReference, match="Outcome"):
        decode_spec("j", document(args=reexported), PayloadCodec(), policy)
    defined_here = [{"__aiosched__": "enum", "v": [f"{__name__}:Local", "A"]}]
    assert decode_spec("j", document(args=defined_here), PayloadCodec(), policy).args == (Local.A,)


def test_an_enum_tag_spelled_with_json_escapes_is_still_checked() -> None:
    d = json.loads(encode_spec(spec("j")))
    d["args"] = [{"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}]
    text = (
        json.dumps(d)
        .replace('"enum"', '"\\u0065num"')
        .replace("__aiosched__", "__aiosch\\u0065d__")
    )
    assert "enum" not in text.replace(NEVER, "")
    payload = PayloadCodec().seal(text.encode())
    with pytest.raises(RefusedReference, match=NEVER):
        decode_spec("j", payload, PayloadCodec(), Admission(["aioscheduler.testing"]))
    assert NEVER.split(".")[0] not in sys.modules


class _Thing:
    def method(self) -> None: ...


def test_only_storable_callables_are_registered() -> None:
    policy = Admission()
    for func in (_Thing().method, lambda: None, _Thing):
        policy.register_callable(func)
    assert policy._callables == set()
    policy.register_callable(conformance_job)
    assert policy._callables == {"aioscheduler.testing.conformance:conformance_job"}


async def test_a_refused_add_registers_nothing(tmp_path: Path) -> None:
    scheduler = Scheduler(store=SQLiteStore(tmp_path / "jobs.db"))
    with pytest.raises(SerializationError):
        await scheduler.add(support.plain_job, Every(seconds=1), args=(object(),))
    assert scheduler.admission.registered == 0


def test_a_user_dict_that_looks_like_an_enum_tag_is_data_not_a_name() -> None:
    lookalike = {"__aiosched__": "enum", "v": [f"{NEVER}:Color", "RED"]}
    data = json.loads(encode_spec(spec("j")))
    data["args"] = [encode_value(lookalike)]  # stored escaped: {"__aiosched__": "dict", ...}
    payload = PayloadCodec().seal(json.dumps(data).encode())
    job = decode_spec("j", payload, PayloadCodec(), Admission(["aioscheduler.testing"]))
    assert job.args == (lookalike,)


def test_a_store_keeping_a_keyed_codec_signs_payloads(tmp_path: Path) -> None:
    assert SQLiteStore(tmp_path / "a.db", secret_key="k" * 20).signs_payloads
    assert not SQLiteStore(tmp_path / "b.db").signs_payloads
    assert not Scheduler().store.signs_payloads
