"""Stored job definitions and run records that were damaged or tampered with are refused.

Each case starts from a genuine document written by `encode_spec`/`encode_run`, changes one
thing the way a damaged disk or someone with write access to the database would, and checks
the typed error and the message `decode_spec`/`decode_run` give (the store then reports the job
broken). The admission policy admits the suite's module, so the refusals below come from the
document itself, not from the allow-list.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from aioscheduler import Outcome
from aioscheduler._admission import Admission
from aioscheduler._clock import to_datetime
from aioscheduler._crypto import PayloadCodec
from aioscheduler._values import JobOptions, Run
from aioscheduler.errors import InvalidTrigger, RefusedReference, SerializationError
from aioscheduler.stores._codec import decode_run, decode_spec, encode_run, encode_spec, open_run
from aioscheduler.testing.conformance import T0, spec

ADMIT = Admission(allow=["aioscheduler.testing.conformance", "tests"])
PLAIN = PayloadCodec()


class Size(enum.Enum):
    """An enum a run's result may hold."""

    BIG = "big"


def genuine() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode_spec(spec("job")))
    return document


def sealed(document: object) -> bytes:
    return PLAIN.seal(json.dumps(document).encode())


def edited(change: Callable[[dict[str, Any]], object]) -> bytes:
    document = genuine()
    change(document)
    return sealed(document)


def test_a_genuine_document_decodes_to_the_job() -> None:
    job = decode_spec("job", sealed(genuine()), PLAIN, ADMIT)
    assert job == spec("job")


TAMPERED = [
    pytest.param(PLAIN.seal(b"{not json"), "not valid JSON", id="not-json"),
    pytest.param(sealed(["a", "list"]), "not a JSON object", id="not-an-object"),
    pytest.param(
        edited(lambda d: d.update(v=2)),
        "version 2; this aioscheduler reads version 1",
        id="newer-version",
    ),
    pytest.param(edited(lambda d: d.pop("v")), "version None", id="no-version"),
    pytest.param(edited(lambda d: d.update(id="other")), "moved from another row", id="moved-row"),
    pytest.param(
        edited(lambda d: d.update(func=5)),
        "stored callable 5 is not a reference",
        id="func-not-str",
    ),
    pytest.param(
        edited(lambda d: d.update(options=[])), "options are not a mapping", id="options-list"
    ),
    pytest.param(
        edited(lambda d: d["options"].update(retry_on=[7])),
        "stored retry_on entry 7 is not a reference",
        id="retry-on-int",
    ),
    pytest.param(
        edited(lambda d: d["options"].update(retry_on=["aioscheduler.testing.conformance:spec"])),
        "is not an exception class",
        id="retry-on-a-function",
    ),
    pytest.param(edited(lambda d: d.update(args={})), "arguments are malformed", id="args-dict"),
    pytest.param(
        edited(lambda d: d.update(kwargs=[])), "arguments are malformed", id="kwargs-list"
    ),
    pytest.param(
        edited(lambda d: d.pop("trigger")), "malformed: KeyError('trigger')", id="no-trigger"
    ),
    pytest.param(edited(lambda d: d["options"].pop("backoff")), "malformed", id="no-backoff"),
    pytest.param(
        edited(lambda d: d["options"].update(backoff=[1, 2])), "malformed", id="short-backoff"
    ),
]


@pytest.mark.parametrize(("payload", "message"), TAMPERED)
def test_a_tampered_job_document_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(SerializationError) as caught:
        decode_spec("job", payload, PLAIN, ADMIT)
    assert message in str(caught.value)


def test_an_unknown_trigger_kind_is_refused_without_importing() -> None:
    payload = edited(lambda d: d.update(trigger={"kind": "os:system", "version": 1}))
    with pytest.raises(InvalidTrigger, match="unknown stored trigger kind 'os:system'"):
        decode_spec("job", payload, PLAIN, ADMIT)


def test_a_callable_outside_the_policy_is_refused_before_import() -> None:
    payload = edited(lambda d: d.update(func="os:system"))
    with pytest.raises(RefusedReference, match="os:system"):
        decode_spec("job", payload, PLAIN, ADMIT)


def test_a_signed_row_changed_by_one_byte_fails_its_seal() -> None:
    codec = PayloadCodec(secret_key="k" * 32)
    payload = bytearray(codec.seal(encode_spec(spec("job"))))
    payload[-2] ^= 1
    with pytest.raises(SerializationError):
        decode_spec("job", bytes(payload), codec, ADMIT)


# --- writing: what cannot be stored is refused with advice -------------------------------------


def test_a_retry_on_class_defined_in_a_function_cannot_be_stored() -> None:
    class Local(Exception):
        pass

    job = dataclasses.replace(spec("job"), options=JobOptions(retries=1, retry_on=(Local,)))
    with pytest.raises(SerializationError, match="cannot be imported again"):
        encode_spec(job)


# --- run records -------------------------------------------------------------------------------


def run(**changes: Any) -> Run:
    base = Run(
        job_id="job",
        scheduled_at=to_datetime(T0),
        started_at=to_datetime(T0 + 1),
        finished_at=to_datetime(T0 + 2),
        attempt=1,
        outcome=Outcome.SUCCESS,
    )
    return base._replace(**changes)


def test_a_run_record_round_trips() -> None:
    record = PLAIN.seal(encode_run(run(result=3), 1))
    decoded = open_run("job", record, PLAIN, ADMIT)
    assert decoded.result == 3
    assert decoded.finished_at is not None
    assert decoded.finished_at - decoded.scheduled_at == timedelta(seconds=2)


def record_edited(change: Callable[[dict[str, Any]], object]) -> bytes:
    data: dict[str, Any] = json.loads(encode_run(run(), 1))
    change(data)
    return json.dumps(data).encode()


RUNS = [
    pytest.param(record_edited(lambda d: d.update(v=9)), "unknown version 9", id="newer-version"),
    pytest.param(
        record_edited(lambda d: d.pop("s")), "malformed: KeyError('s')", id="no-scheduled"
    ),
    pytest.param(record_edited(lambda d: d.update(o="exploded")), "malformed", id="bad-outcome"),
    pytest.param(
        record_edited(lambda d: d.update(err=["only-type"])), "malformed", id="short-error"
    ),
    pytest.param(b"[1, 2]", "malformed", id="a-list"),
]


@pytest.mark.parametrize(("data", "message"), RUNS)
def test_a_tampered_run_record_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(SerializationError) as caught:
        decode_run("job", data, admission=ADMIT)
    assert message in str(caught.value)


def test_an_unsigned_result_naming_an_unadmitted_enum_keeps_the_run_with_a_note() -> None:
    data = encode_run(run(result=Size.BIG), 1)
    decoded = decode_run("job", data, admission=Admission(), signed=False)
    assert isinstance(decoded.result, str) and decoded.result.startswith("<refused: ")
    assert decoded.outcome is Outcome.SUCCESS


def test_a_signed_result_naming_an_admitted_enum_decodes() -> None:
    data = encode_run(run(result=Size.BIG), 1)
    assert decode_run("job", data, admission=ADMIT, signed=True).result is Size.BIG


def test_an_error_that_is_not_a_recorded_error_is_stored_as_type_and_text() -> None:
    data: dict[str, Any] = json.loads(encode_run(run(error=KeyError("x" * 2000)), 1))
    assert data["err"][0] == "builtins.KeyError" and len(data["err"][1]) == 1000
