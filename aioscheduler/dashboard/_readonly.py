"""A read-only view of a SQLite store's file, for a dashboard next to the scheduler that owns it.

A SQLite store has one writer per file: the running scheduler holds its lock, so the dashboard
never opens the store. It opens the file read-only (``mode=ro``: a mistyped path is an error,
never a new empty database) and builds job snapshots from the rows without importing the jobs'
modules: the callable is shown by its stored import path, the trigger is rebuilt from its
stored data (pure values), the history from the run records.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import anyio.to_thread

from .._admission import Admission
from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import Job, JobOptions, JobSpec, Run
from ..errors import JobNotFound, StoreError
from ..stores import Claim, Store, StoreContext
from ..stores._codec import check_names, decode_run
from ..stores._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION
from ..triggers import Trigger

__all__ = ("SQLiteReader", "StoredCallable")

logger = logging.getLogger("aioscheduler.dashboard")

#: Seconds to wait for the writer's lock while reading (WAL readers rarely wait at all).
READ_TIMEOUT = 5.0


class StoredCallable:
    """Stands for a stored job's callable without importing it: named by its import path."""

    def __init__(self, ref: str) -> None:
        module, _, qualname = ref.partition(":")
        self.__module__ = module
        self.__qualname__ = qualname or ref
        self.ref = ref

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise StoreError(f"{self.ref} is only shown by a read-only view, not run")

    def __repr__(self) -> str:
        return f"<stored callable {self.ref}>"


class SQLiteReader(Store):
    """Reads the jobs of the SQLite store file at ``path``; every write raises StoreError.

    ``codec`` opens signed or encrypted rows (without it only unprotected rows are read).
    With ``admission``, rows naming code it does not admit are listed as broken rather than
    shown (nothing is imported either way). Unreadable rows are in :meth:`broken_jobs`.
    """

    persistent = True

    def __init__(
        self, path: str, codec: PayloadCodec | None = None, admission: Admission | None = None
    ) -> None:
        self.path = path
        self._codec = codec or PayloadCodec()
        self._admission = admission
        self._history_limit = 10
        self._broken: dict[str, str] = {}

    def broken_jobs(self) -> list[tuple[str, str]]:
        """The rows of the last full read that cannot be shown, as ``(id, reason)``: damaged,
        sealed with a key this reader lacks, or (with an ``admission``) naming code it refuses."""
        return sorted(self._broken.items())

    @classmethod
    def from_url(cls, url: str, admission: Admission | None = None) -> SQLiteReader:
        """The reader of a ``sqlite:///...`` URL (the same paths as the SQLite store's)."""
        from ..stores.sqlite import SQLiteStore

        return cls(SQLiteStore.from_url(url).path, admission=admission)

    def __repr__(self) -> str:
        return f"SQLiteReader({self.path!r})"

    # -- reading -------------------------------------------------------------------------------

    async def open(self, context: StoreContext) -> None:
        self._history_limit = context.history_limit
        await anyio.to_thread.run_sync(self._check)

    def _check(self) -> None:
        file = Path(self.path)
        if self.path == ":memory:" or not file.is_file():
            raise StoreError(f"no SQLite store at {self.path!r}: the file does not exist")
        self._connect().close()

    def _connect(self) -> sqlite3.Connection:
        uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=READ_TIMEOUT)
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the SQLite store {self.path!r}: {exc}") from exc
        if app_id != APPLICATION_ID or version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{self.path!r} is not an aioscheduler SQLite store this version can read "
                f"(application id {app_id:#x}, schema version {version})"
            )
        return conn

    def _read(self, job_id: str | None) -> list[Job]:
        conn = self._connect()
        try:
            where, params = ("WHERE id = ?", (job_id,)) if job_id is not None else ("", ())
            rows = conn.execute(
                f"SELECT id, func, payload, paused, run_at FROM jobs {where}", params
            ).fetchall()
            history: dict[str, list[Run]] = {}
            if self._history_limit:
                where = "WHERE job_id = ?" if job_id is not None else ""
                records = conn.execute(
                    "SELECT job_id, record FROM (SELECT job_id, record, seq, row_number() "
                    f"OVER (PARTITION BY job_id ORDER BY seq DESC) AS n FROM runs {where}) "
                    "WHERE n <= ? ORDER BY seq",
                    (*params, self._history_limit),
                ).fetchall()
                for run_job, record in records:
                    try:
                        run = decode_run(run_job, self._codec.open(bytes(record)))
                    except Exception as exc:  # one damaged record hides itself, not the job
                        logger.warning("skipping unreadable run record of %r: %s", run_job, exc)
                        continue
                    history.setdefault(run_job, []).append(run)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the SQLite store {self.path!r}: {exc}") from exc
        finally:
            conn.close()
        jobs = []
        broken: dict[str, str] = {}
        for row_id, func, payload, paused, run_at in rows:
            try:
                sealed = bytes(payload)
                document = json.loads(self._codec.open(sealed))
                if self._admission is not None:
                    signed = self._codec.authenticated(sealed)
                    check_names(row_id, document, signed=signed, admission=self._admission)
                trigger = Trigger.from_dict(document["trigger"])
            except Exception as exc:  # damaged, sealed with another key, refused, unknown kind
                broken[row_id] = f"{type(exc).__name__}: {exc}"
                continue
            # Arguments and options are not shown, and decoding them could import classes.
            spec = JobSpec(row_id, StoredCallable(str(func)), trigger, (), {}, JobOptions())
            nxt = None if paused or run_at is None else to_datetime(run_at)
            jobs.append(
                Job.of(
                    spec,
                    next_run_at=nxt,
                    paused=bool(paused),
                    history=tuple(history.get(row_id, ())),
                )
            )
        if job_id is None:
            self._broken = broken
        jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return jobs

    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        jobs = await anyio.to_thread.run_sync(self._read, None)
        if history:
            return jobs
        return [dataclasses.replace(job, history=(), last_run=None) for job in jobs]

    async def get_job(self, job_id: str) -> Job:
        jobs = await anyio.to_thread.run_sync(self._read, job_id)
        if not jobs:
            raise JobNotFound(job_id)
        return jobs[0]

    # -- writing: refused ----------------------------------------------------------------------

    def _refuse(self) -> NoReturn:
        raise StoreError(f"{self!r} is read-only: change jobs through the scheduler that runs them")

    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        self._refuse()

    async def remove_job(self, job_id: str) -> None:
        self._refuse()

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        self._refuse()

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        return []

    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> None:
        return None

    def next_due(self) -> float | None:
        return None
