"""Read an SQLite store's jobs for ``aioscheduler jobs``: read-only, next to a running scheduler.

The running scheduler holds the file's one-writer lock, so the listing never opens the store:
it opens the database file read-only (``mode=ro``: a mistyped path is an error, never a new
empty database), reads the job rows and each job's last run, and decodes only what a table
shows. No callable is resolved, so no module of the jobs is imported, whatever the current
directory. Every problem with the file is one :class:`~aioscheduler.cli._target.UsageError`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from .._admission import Admission
from .._clock import to_datetime
from .._crypto import PayloadCodec, PayloadError
from ..errors import RefusedReference
from ..stores._codec import check_names
from ..stores._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION
from ..triggers import Trigger
from ._target import UsageError

__all__ = ("Listed", "read_sqlite")

#: Milliseconds to wait for a writer's lock while reading (WAL readers rarely wait at all).
READ_TIMEOUT_MS = 5000


class Listed(NamedTuple):
    """One job as the table shows it."""

    id: str
    trigger: str
    next_run_at: datetime | None
    paused: bool
    last_outcome: str | None


def _check_path(path: str) -> None:
    if path == ":memory:":
        raise UsageError("a ':memory:' SQLite store keeps nothing to list")
    file = Path(path)
    if not file.parent.is_dir():
        raise UsageError(
            f"no SQLite store at {path!r}: directory {str(file.parent)!r} does not exist"
        )
    if not file.exists():
        raise UsageError(f"no SQLite store at {path!r}: the file does not exist")
    if not file.is_file():
        raise UsageError(f"no SQLite store at {path!r}: not a file")
    if not os.access(file, os.R_OK):
        raise UsageError(f"cannot read the SQLite store {path!r}: permission denied", exit_code=1)


def _connect(path: str) -> sqlite3.Connection:
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=READ_TIMEOUT_MS / 1000)
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path!r} is not an SQLite database ({exc})", exit_code=1) from None
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read the SQLite store {path!r}: {exc}", exit_code=1) from None
    if app_id != APPLICATION_ID:
        conn.close()
        raise UsageError(f"{path!r} is an SQLite database but not an aioscheduler store", 1)
    if version > SCHEMA_VERSION:
        conn.close()
        raise UsageError(
            f"{path!r} has schema version {version}, written by a newer aioscheduler; this one "
            f"reads up to {SCHEMA_VERSION}",
            exit_code=1,
        )
    return conn


def _open(codec: PayloadCodec, value: Any) -> dict[str, Any]:
    sealed = value.encode() if isinstance(value, str) else bytes(value)
    document = json.loads(codec.open(sealed))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def read_sqlite(
    path: str,
    codec: PayloadCodec | None = None,
    admission: Admission | None = None,
    refused_hint: str = "",
) -> tuple[list[Listed], list[tuple[str, str]]]:
    """The jobs of the SQLite store at ``path`` and the rows that cannot be read or are
    refused, as ``(jobs by next run, [(id, reason)])``.

    ``codec`` opens signed or encrypted rows (the scheduler's own, when listing a
    ``module:attr`` target); without it only unprotected rows can be read. ``admission`` is
    the policy a scheduler would load the rows under (``None``: the strict default): a row
    naming code it would refuse is listed as broken, exactly as the scheduler would report
    it (``refused_hint`` is appended to such a reason). Nothing is imported either way.

    Raises:
        UsageError: the file or its directory is missing, it is not an aioscheduler SQLite
            database, or reading it fails.
    """
    _check_path(path)
    codec = codec or PayloadCodec()
    admission = admission or Admission()
    conn = _connect(path)
    try:
        rows = conn.execute("SELECT id, payload, paused, run_at FROM jobs ORDER BY id").fetchall()
        last = dict(
            conn.execute(
                "SELECT job_id, record FROM runs WHERE seq IN "
                "(SELECT max(seq) FROM runs GROUP BY job_id)"
            ).fetchall()
        )
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read the SQLite store {path!r}: {exc}", exit_code=1) from None
    finally:
        conn.close()
    jobs: list[Listed] = []
    broken: list[tuple[str, str]] = []
    for job_id, payload, paused, run_at in rows:
        sealed = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            document = _open(codec, sealed)
            check_names(job_id, document, signed=codec.authenticated(sealed), admission=admission)
            trigger = Trigger.from_dict(document["trigger"]).describe()
        except PayloadError as exc:
            broken.append((job_id, f"cannot be read: {exc}"))
            continue
        except RefusedReference as exc:
            broken.append((job_id, f"{type(exc).__name__}: {exc}{refused_hint}"))
            continue
        except Exception as exc:  # malformed JSON, unknown trigger kind or version
            broken.append((job_id, f"{type(exc).__name__}: {exc}"))
            continue
        outcome = None
        if job_id in last:
            try:
                outcome = str(_open(codec, last[job_id])["o"] or "") or None
            except Exception:  # a damaged history record hides the outcome, never the job
                outcome = "?"
        nxt = None if paused or run_at is None else to_datetime(run_at)
        jobs.append(Listed(job_id, trigger, nxt, bool(paused), outcome))
    jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
    return jobs, broken
