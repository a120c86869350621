"""What ``aioscheduler jobs --store URL`` shows of a shared store, read without importing the
jobs' modules: callables stay import paths, triggers come from the closed trigger registry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from .._admission import Admission
from .._clock import to_datetime
from .._serialization import PayloadCodec
from ..triggers import Trigger
from ._codec import check_names

__all__ = ("Lease", "LeaseInfo", "StoredJob", "by_job", "describe_document", "last_outcome")


class Lease(NamedTuple):
    """A leased firing as ``aioscheduler jobs`` shows it."""

    job_id: str
    scheduled_at: float
    node: str
    owner: str
    attempt: int
    expires_in: float


class LeaseInfo(NamedTuple):
    """A running firing of a job: which node holds it, and for how long yet."""

    scheduled_at: datetime
    node: str
    owner: str
    attempt: int
    expires_in: float


class StoredJob(NamedTuple):
    """One stored job as listed by the CLI (no callable is imported)."""

    id: str
    func: str
    trigger: str
    next_run_at: datetime | None
    paused: bool
    last_outcome: str | None
    leases: tuple[LeaseInfo, ...]
    problem: str | None = None
    """Why this node would not load the job (refused by the admission policy, unreadable)."""


def by_job(leases: Iterable[Lease]) -> dict[str, tuple[LeaseInfo, ...]]:
    """The leased firings of each job, for :class:`StoredJob`."""
    out: dict[str, list[LeaseInfo]] = {}
    for lease in leases:
        info = LeaseInfo(
            to_datetime(lease.scheduled_at), lease.node, lease.owner, lease.attempt,
            lease.expires_in,
        )  # fmt: skip
        out.setdefault(lease.job_id, []).append(info)
    return {job_id: tuple(infos) for job_id, infos in out.items()}


def describe_document(
    job_id: str, payload: bytes, codec: PayloadCodec, admission: Admission | None
) -> tuple[str, str, str | None]:
    """``(callable path, trigger description, problem)`` of a sealed job definition, importing
    nothing; ``problem`` says why the row would not load (refused by ``admission``, a key is
    needed, damaged)."""
    try:
        document: Any = json.loads(codec.open(payload))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except Exception as exc:
        return "?", "?", f"unreadable: {type(exc).__name__}: {exc}"
    func = str(document.get("func", "?"))
    try:
        trigger = Trigger.from_dict(document["trigger"]).describe()
    except Exception as exc:
        return func, "?", f"unreadable trigger: {type(exc).__name__}: {exc}"
    problem = None
    try:
        signed = codec.authenticated(payload)
        check_names(job_id, document, signed=signed, admission=admission or Admission())
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    return func, trigger, problem


def last_outcome(record: bytes | None, codec: PayloadCodec) -> str | None:
    """The outcome of a sealed run record (``None`` if there is none or it cannot be read)."""
    if record is None:
        return None
    try:
        outcome = json.loads(codec.open(record)).get("o")
    except Exception:
        return None
    return None if outcome is None else str(outcome)


def timestamp(value: float | None) -> datetime | None:
    return None if value is None else to_datetime(value)
