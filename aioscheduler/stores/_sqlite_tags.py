"""What the SQLite store's state tags cover: the records and the exact bytes each MAC is over.

See ``_sqlite_seals.py`` for how tags are kept and checked. Every message starts with its kind
and length-prefixes the ids, so no two different states give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import NamedTuple

__all__ = (
    "JobState",
    "RowState",
    "anchor_message",
    "firing_message",
    "id_message",
    "job_message",
    "new_store_id",
    "payload_hash",
)


class JobState(NamedTuple):
    """What a job's tag covers besides its firings."""

    version: int
    payload: str  # sha256 of the sealed payload, hex
    paused: bool
    nominal: float | None
    run_at: float | None


class RowState(NamedTuple):
    """A job row as read at open (its plain columns already checked)."""

    job_id: str
    payload: bytes
    paused: bool
    nominal: float | None
    run_at: float | None
    version: int


def firing_message(
    slot: float, run_at: float, missed: int, run: bool, final: bool, attempt: int
) -> str:
    """The sealed fields of a ``firings`` row (``owner`` and ``lease_until`` are not)."""
    return f"{slot!r},{run_at!r},{missed},{int(run)},{int(final)},{attempt}"


def new_store_id() -> str:
    """A random store id (128 bits, hex), made when the database is created."""
    return os.urandom(16).hex()


def payload_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def job_message(store_id: str, job_id: str, state: JobState, firings: dict[float, str]) -> bytes:
    """The bytes a job's tag covers: length-prefixed ids, then fixed-form fields."""
    fired = (
        hashlib.sha256("\n".join(sorted(firings.values())).encode()).hexdigest() if firings else ""
    )
    version, payload, paused, nominal, run_at = state
    return (
        f"job|{len(store_id)}:{store_id}|{len(job_id)}:{job_id}|{version}|{payload}|"
        f"{int(paused)}|{nominal!r}|{run_at!r}|{fired}"
    ).encode()


def id_message(store_id: str) -> bytes:
    return json.dumps(["store", store_id]).encode()


def anchor_message(store_id: str, seq: int, digest: int) -> bytes:
    return json.dumps(["anchor", store_id, seq, f"{digest:064x}"]).encode()
