"""Jobs and runs as stored data: the row encoding shared by every persistent store.

A job's *definition* (callable reference, trigger, arguments, options) becomes one JSON
document, sealed by a :class:`~aioscheduler._serialization.PayloadCodec` so that a row edited
without the key is refused. The document also names the job id, so a sealed payload cannot be
moved to another row. A job's *state* (paused, next time) lives in plain columns beside it.

A finished run becomes a small sealed JSON record. Its exception cannot be stored as an object
(that would mean constructing a class named by stored data), so it comes back as a
:class:`RecordedError` holding the original type's name and message.

Every name a row holds (the callable, ``retry_on`` classes, enum classes in arguments and
results) passes the scheduler's :class:`~aioscheduler._admission.Admission` before anything is
imported: stores decode rows only with :func:`decode_spec` and :func:`open_run`, passing
``StoreContext.admission``, and so every store refuses the same rows.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

from .._admission import Admission, ref_of
from .._clock import to_datetime
from .._refs import lookup_ref, split_ref
from .._serialization import (
    TAG,
    ClassGate,
    JSONValue,
    PayloadCodec,
    callable_ref,
    class_ref,
    decode_value,
    encode_value,
    resolve_ref,
    safe_repr_value,
)
from .._values import Backoff, JobOptions, JobSpec, Outcome, Run
from ..errors import RefusedReference, SchedulerError, SerializationError
from ..triggers import Trigger

__all__ = (
    "RecordedError",
    "check_names",
    "decode_run",
    "decode_spec",
    "encode_run",
    "encode_spec",
    "open_run",
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


def _exception_class(ref: object, gate: ClassGate) -> type[BaseException]:
    if not isinstance(ref, str):
        raise SerializationError(f"stored retry_on entry {ref!r} is not a reference")
    gate(ref)  # before importing (check_names checked it first, this is a second line)
    cls = lookup_ref(ref, None)  # the guarded import walk, for isinstance() only
    defined = f"{getattr(cls, '__module__', '')}:{getattr(cls, '__qualname__', '')}"
    if defined != ref:
        gate(defined)  # re-exported from elsewhere: where it is defined must be admitted too
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
        "delivery": options.delivery,
    }


def _decode_options(data: Any, gate: ClassGate) -> JobOptions:
    if not isinstance(data, dict):
        raise SerializationError("stored options are not a mapping")
    fields = dict(data)
    initial, factor, maximum, jitter = fields.pop("backoff")
    retry_on = tuple(_exception_class(ref, gate) for ref in fields.pop("retry_on"))
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


def decode_spec(
    job_id: str, payload: bytes, codec: PayloadCodec, admission: Admission | None = None
) -> JobSpec:
    """Open and decode a stored job definition.

    Args:
        job_id: The row's id (the sealed document must name the same).
        payload: The sealed bytes as read.
        codec: The store's codec.
        admission: The scheduler's policy (``StoreContext.admission``). ``None``: the strict
            default, under which an unsigned row may name no callable and no class but
            builtin exception classes.

    Raises:
        RefusedReference: the row names a callable or class that ``admission`` does not admit
            (unsigned, not registered, not under ``allow=``). Nothing was imported.
        SchedulerError: the row cannot be trusted or loaded: the seal fails
            (:class:`~aioscheduler._serialization.PayloadError`), the document is malformed or
            of a newer version, the callable no longer imports, or the trigger is unknown.
            The store reports the job as broken.
    """
    if admission is None:
        admission = _STRICT
    try:
        opened = codec.open(payload)
        signed = codec.authenticated(payload)  # only a key holder can have written it
        document = json.loads(opened)
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
        # Every name the row holds is checked before the first import (the callable's module
        # included); the decoders below check each one again as they reach it.
        check_names(job_id, document, signed=signed, admission=admission, raw=opened)
        ref = document["func"]
        gate = admission.class_gate(signed=signed, what="class")
        options = _decode_options(document["options"], gate)
        args = decode_value(document["args"], where="stored args", gate=gate)
        kwargs = decode_value(document["kwargs"], where="stored kwargs", gate=gate)
        if type(args) is not list or type(kwargs) is not dict:
            raise SerializationError("stored arguments are malformed")
        trigger = Trigger.from_dict(document["trigger"])  # a closed registry: imports nothing
        func = resolve_ref(ref)
        defined = ref_of(func)
        if defined != ref:  # re-exported (``from os import system``): check where it is defined
            admission.check_callable(defined or repr(func), signed=signed, job_id=job_id)
        return JobSpec(
            id=job_id,
            func=func,
            trigger=trigger,
            args=tuple(args),
            kwargs=kwargs,
            options=options,
        )
    except SchedulerError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # missing or mistyped fields
        raise SerializationError(f"stored job is malformed: {exc!r}") from exc


def check_names(
    job_id: str,
    document: dict[str, Any],
    *,
    signed: bool,
    admission: Admission,
    raw: bytes | None = None,
) -> None:
    """Check every name an opened job document holds against ``admission``, importing nothing.

    The callable, each ``retry_on`` class and each enum class tagged anywhere in the arguments.
    :func:`decode_spec` calls it first; a listing that shows rows without loading them (the
    CLI) calls it to mark refused rows as broken.

    Args:
        job_id: For messages.
        document: The JSON document inside the envelope.
        signed: ``codec.authenticated(sealed)`` of the row.
        admission: The policy.
        raw: The JSON text ``document`` was parsed from, if at hand: lets a document without
            any enum tag skip the walk through its arguments.

    Raises:
        RefusedReference: a name is not admitted.
        SerializationError: a name is not a well-formed reference.
    """
    ref = document.get("func")
    if not isinstance(ref, str):
        raise SerializationError(f"stored callable {ref!r} is not a reference")
    split_ref(ref)  # malformed: damage, reported as such
    admission.check_callable(ref, signed=signed, job_id=job_id)
    options = document.get("options")
    retry_on = options.get("retry_on") if isinstance(options, dict) else None
    for cls in retry_on if isinstance(retry_on, list) else ():
        if isinstance(cls, str):
            split_ref(cls)
            admission.check_class(cls, signed=signed, what="retry_on class")
    if raw is not None and b"enum" not in raw and b"\\u" not in raw:
        return  # no enum tag anywhere (nor a JSON escape that could spell one)
    for where in ("args", "kwargs"):
        for cls in _tagged_enums(document.get(where), 0):
            split_ref(cls)
            admission.check_class(cls, signed=signed, what=f"enum class in {where}")


def _tagged_enums(value: Any, depth: int) -> Iterator[str]:
    """The class references of the enum tags inside an encoded value (bounded depth: a
    deeper document is refused as malformed by the decoder anyway)."""
    if depth > 200:
        return
    if isinstance(value, list):
        for item in value:
            yield from _tagged_enums(item, depth + 1)
    elif isinstance(value, dict):
        tag, inner = value.get(TAG), value.get("v")
        if tag == "enum" and isinstance(inner, list) and inner:
            if isinstance(inner[0], str):
                yield inner[0]
            return
        if tag == "dict" and isinstance(inner, dict):
            value = inner  # a user dict holding the tag key: its values, never itself a tag
        for item in value.values():
            yield from _tagged_enums(item, depth + 1)


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
            "n": run.node,
            **({"bf": True} if run.backfill else {}),
        }
    )


def open_run(
    job_id: str, record: bytes, codec: PayloadCodec, admission: Admission | None = None
) -> Run:
    """Open a sealed history record and decode it (what stores call for each record).

    Raises:
        SerializationError: the seal fails, or the record is malformed or of a newer version.
    """
    data = codec.open(record)
    return decode_run(job_id, data, admission=admission, signed=codec.authenticated(record))


def decode_run(
    job_id: str, data: bytes, *, admission: Admission | None = None, signed: bool = False
) -> Run:
    """Decode a history record written by :func:`encode_run` (already opened).

    A result naming an enum class that ``admission`` does not admit (unsigned record, class
    not registered, module outside ``allow=``) is not imported: the run keeps a text in its
    place, ``"<refused: ...>"``.

    Raises:
        SerializationError: the record is malformed or of a newer version.
    """
    gate = (admission or _STRICT).class_gate(signed=signed, what="result enum")
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
            result=_result(d["res"], gate),
            error=None if err is None else RecordedError(str(err[0]), str(err[1])),
            node=d.get("n"),
            backfill=bool(d.get("bf", False)),
        )
    except SerializationError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SerializationError(f"run record is malformed: {exc!r}") from exc


def _result(value: Any, gate: ClassGate) -> Any:
    # A result is only informational: a refused class costs the value, never the run.
    try:
        return decode_value(value, where="stored result", gate=gate)
    except RefusedReference as exc:
        return f"<refused: {exc}>"


#: The policy of a store opened without one: nothing registered, nothing allowed.
_STRICT = Admission()
