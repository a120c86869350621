"""Jobs and runs as stored data: the row encoding shared by every persistent store.

A job's *definition* (callable reference, trigger, arguments, options) becomes one JSON
document, sealed by a :class:`~aioscheduler._serialization.PayloadCodec` so that a row edited
without the key is refused. The document also names the job id, so a sealed payload cannot be
moved to another row. A job's *state* (paused, next time) lives in plain columns beside it.

A finished run becomes a small sealed JSON record. Its exception cannot be stored as an object
(that would mean constructing a class named by stored data), so it comes back as a
:class:`RecordedError` holding the original type's name and message.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from .._clock import to_datetime
from .._serialization import (
    JSONValue,
    PayloadCodec,
    _lookup,  # the same guarded import walk, for exception classes in retry_on
    callable_ref,
    class_ref,
    decode_value,
    encode_value,
    resolve_ref,
    safe_repr_value,
)
from .._values import Backoff, JobOptions, JobSpec, Outcome, Run
from ..errors import SchedulerError, SerializationError
from ..triggers import Trigger

__all__ = (
    "RecordedError",
    "decode_run",
    "decode_spec",
    "encode_run",
    "encode_spec",
)

#: Version of the job document; a newer one is reported as a broken job, never deleted.
SPEC_VERSION = 1
RUN_VERSION = 1


class RecordedError(Exception):
    """The exception of a run read back from a persistent store.

    Only the original exception's type name (``module.qualname``) and message are kept.

    Attributes:
        type_name: ``module.qualname`` of the original exception type.
        message: ``str()`` of the original exception.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _class_ref(cls: type[BaseException]) -> str:
    ref, problem = class_ref(cls)
    if problem == "unimportable":
        raise SerializationError(
            f"retry_on class {cls.__qualname__} is defined in {cls.__module__} or inside a "
            "function, so it cannot be imported again; move it into an importable module"
        )
    if problem is not None:
        raise SerializationError(
            f"retry_on class {cls.__qualname__} cannot be found again as {ref!r}; define it at "
            "module level"
        )
    return ref


def _exception_class(ref: object) -> type[BaseException]:
    if not isinstance(ref, str):
        raise SerializationError(f"stored retry_on entry {ref!r} is not a reference")
    cls = _lookup(ref, None)
    # Only looked up for isinstance() checks: never called, never constructed.
    if not (inspect.isclass(cls) and issubclass(cls, BaseException)):
        raise SerializationError(f"stored retry_on entry {ref!r} is not an exception class")
    return cls


def _encode_options(options: JobOptions) -> dict[str, JSONValue]:
    backoff = options.backoff
    return {
        "overlap": options.overlap,
        "max_instances": options.max_instances,
        "misfire_grace": options.misfire_grace,
        "coalesce": options.coalesce,
        "executor": options.executor,
        "timeout": options.timeout,
        "retries": options.retries,
        "backoff": [backoff.initial, backoff.factor, backoff.max, backoff.jitter],
        "retry_on": [_class_ref(cls) for cls in options.retry_on],
        "pause_after_failures": options.pause_after_failures,
    }


def _decode_options(data: Any) -> JobOptions:
    if not isinstance(data, dict):
        raise SerializationError("stored options are not a mapping")
    fields = dict(data)
    initial, factor, maximum, jitter = fields.pop("backoff")
    retry_on = tuple(_exception_class(ref) for ref in fields.pop("retry_on"))
    return JobOptions(
        **fields, backoff=Backoff(initial, factor, maximum, jitter), retry_on=retry_on
    )


def encode_spec(spec: JobSpec) -> bytes:
    """Encode a job definition as the JSON document a store seals and keeps.

    Raises:
        SerializationError: the callable is not importable by path (lambda, closure,
            ``__main__``...), an argument cannot be stored, or a ``retry_on`` class cannot be
            found again. The message says what to do instead.
    """
    document = {
        "v": SPEC_VERSION,
        "id": spec.id,
        "func": callable_ref(spec.func),
        "trigger": spec.trigger.to_dict(),
        "args": encode_value(list(spec.args), "argument args"),
        "kwargs": encode_value(dict(spec.kwargs), "argument kwargs"),
        "options": _encode_options(spec.options),
    }
    try:
        return _dumps(document)
    except ValueError as exc:  # a trigger whose stored form is not strict JSON
        raise SerializationError(f"job {spec.id!r} cannot be stored: {exc}") from exc


def decode_spec(job_id: str, payload: bytes, codec: PayloadCodec) -> JobSpec:
    """Open and decode a stored job definition.

    Raises:
        SchedulerError: the row cannot be trusted or loaded: the seal fails
            (:class:`~aioscheduler._serialization.PayloadError`), the document is malformed or
            of a newer version, the callable no longer imports, or the trigger is unknown.
            The store reports the job as broken.
    """
    try:
        document = json.loads(codec.open(payload))
    except ValueError as exc:
        raise SerializationError(f"stored job is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SerializationError("stored job is not a JSON object")
    version = document.get("v")
    if version != SPEC_VERSION:
        raise SerializationError(
            f"stored job has version {version!r}; this aioscheduler reads version "
            f"{SPEC_VERSION} (was it written by a newer aioscheduler?)"
        )
    if document.get("id") != job_id:
        raise SerializationError(
            f"stored job names id {document.get('id')!r}, not its row's {job_id!r}: the "
            "payload was moved from another row"
        )
    try:
        args = decode_value(document["args"], where="stored args")
        kwargs = decode_value(document["kwargs"], where="stored kwargs")
        if type(args) is not list or type(kwargs) is not dict:
            raise SerializationError("stored arguments are malformed")
        return JobSpec(
            id=job_id,
            func=resolve_ref(document["func"]),
            trigger=Trigger.from_dict(document["trigger"]),
            args=tuple(args),
            kwargs=kwargs,
            options=_decode_options(document["options"]),
        )
    except SchedulerError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # missing or mistyped fields
        raise SerializationError(f"stored job is malformed: {exc!r}") from exc


def _ts(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def encode_run(run: Run, attempt: int) -> bytes:
    """Encode a finished run as a history record (``attempt`` as the store counts it)."""
    error = run.error
    err: list[str] | None = None
    if error is not None:
        if isinstance(error, RecordedError):
            err = [error.type_name, error.message]
        else:
            kind = type(error)
            err = [f"{kind.__module__}.{kind.__qualname__}", str(error)[:1000]]
    return _dumps(
        {
            "v": RUN_VERSION,
            "s": _ts(run.scheduled_at),
            "st": _ts(run.started_at),
            "f": _ts(run.finished_at),
            "a": attempt,
            "o": None if run.outcome is None else run.outcome.value,
            "r": run.reason,
            "m": run.missed,
            "res": safe_repr_value(run.result),
            "err": err,
            **({"bf": True} if run.backfill else {}),
        }
    )


def decode_run(job_id: str, data: bytes) -> Run:
    """Decode a history record written by :func:`encode_run` (already opened).

    Raises:
        SerializationError: the record is malformed or of a newer version.
    """
    try:
        d = json.loads(data)
        if d["v"] != RUN_VERSION:
            raise SerializationError(f"run record has unknown version {d['v']!r}")
        err = d["err"]
        return Run(
            job_id=job_id,
            scheduled_at=to_datetime(d["s"]),
            started_at=None if d["st"] is None else to_datetime(d["st"]),
            finished_at=None if d["f"] is None else to_datetime(d["f"]),
            attempt=int(d["a"]),
            outcome=None if d["o"] is None else Outcome(d["o"]),
            reason=d["r"],
            missed=int(d["m"]),
            result=decode_value(d["res"], where="stored result"),
            error=None if err is None else RecordedError(str(err[0]), str(err[1])),
            backfill=bool(d.get("bf", False)),
        )
    except SerializationError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SerializationError(f"run record is malformed: {exc!r}") from exc
