"""The PostgreSQL store's job operations: add, declare, update, pause, remove, read.

Each change is one transaction on the job's row; a change that makes a job due earlier sends a
``NOTIFY`` hint in the same transaction, so that the other nodes wake up for it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from .._clock import to_datetime
from .._values import Job, JobSpec, Run
from ..errors import JobExists, JobNotFound
from ._base import DeclareResult
from ._codec import encode_spec, open_run
from ._pg_node import PgNode
from ._planning import jitter_offset

__all__ = ("PgJobs",)

logger = logging.getLogger("aioscheduler.stores.postgres")


class PgJobs(PgNode):
    """Part of the store: the job operations (see the module docstring)."""

    def _row(self, spec: JobSpec, now: float) -> tuple[Any, ...]:
        first = spec.trigger.first_fire(to_datetime(self._server_now(now)))
        nominal = None if first is None else first.timestamp()
        run_at = (
            None
            if nominal is None
            else nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)
        )
        document = encode_spec(spec)
        module = getattr(spec.func, "__module__", None) or "?"
        func = f"{module}:{getattr(spec.func, '__qualname__', '?')}"
        digest = hashlib.sha256(document).hexdigest()
        return (spec.id, func, self._codec.seal(document), digest, nominal, run_at)

    async def _history(self, conn: Any, job_id: str) -> tuple[Run, ...]:
        if not self._history_limit:
            return ()
        rows = await conn.fetch(self._sql.history, job_id, self._history_limit)
        return tuple(r for r in (self._run(job_id, row[0]) for row in rows) if r is not None)

    def _run(self, job_id: str, record: bytes) -> Run | None:
        try:
            admission = self._context.admission if self._context is not None else None
            return open_run(job_id, bytes(record), self._codec, admission)
        except Exception as exc:  # a damaged record hides one run, never the job
            logger.warning("skipping unreadable run record of job %r: %s", job_id, exc)
            return None

    def _snapshot(self, spec: JobSpec, paused: bool, run_at: float | None, history: Any) -> Job:
        next_run = None if paused or run_at is None else to_datetime(run_at)
        return Job.of(spec, next_run_at=next_run, paused=paused, history=tuple(history))

    async def _write_job(self, statement: str, spec: JobSpec, now: float, paused: bool) -> Any:
        row = self._row(spec, now)
        async with (
            self._db.connection(f"writing job {spec.id!r}") as conn,
            conn.transaction(),
        ):
            result = await conn.fetchrow(statement, *row[:4], paused, *row[4:])
            if result is not None and row[5] is not None and not paused:
                await conn.execute("SELECT pg_notify($1, $2)", self._opts.channel, repr(row[5]))
            history = await self._history(conn, spec.id) if result is not None else ()
        if result is not None and row[5] is not None and not paused:
            self._wake(row[5])
        return result, row[5], history

    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        statement = self._sql.replace_job if replace else self._sql.insert_job
        result, run_at, history = await self._write_job(statement, spec, now, paused)
        if result is None:
            raise JobExists(spec.id)
        for known in (self._state.broken, self._state.reasons, self._state.reported):
            known.pop(spec.id, None)
        return self._snapshot(spec, paused, run_at, history)

    async def declare_job(
        self, spec: JobSpec, *, now: float, paused: bool
    ) -> tuple[Job, DeclareResult]:
        result, run_at, history = await self._write_job(self._sql.declare_job, spec, now, paused)
        if result is None:
            return await self.get_job(spec.id), "unchanged"
        was_paused = bool(result["paused"])
        what: DeclareResult = "added" if result["inserted"] else "replaced"
        return self._snapshot(spec, was_paused, run_at, history), what

    async def remove_job(self, job_id: str) -> None:
        async with (
            self._db.connection(f"removing job {job_id!r}") as conn,
            conn.transaction(),
        ):
            row = await conn.fetchrow(self._sql.get_job, job_id)
            if row is None:
                raise JobNotFound(job_id)
            await conn.fetchval(self._sql.delete_job, job_id)
        spec = self._spec(job_id, row["version"], row["payload"])
        await self._refresh_next_due()
        if spec is None:  # a broken row is no job (as for get_job), though it is gone now
            raise JobNotFound(job_id)

    async def get_job(self, job_id: str) -> Job:
        async with self._db.connection(f"reading job {job_id!r}") as conn:
            row = await conn.fetchrow(self._sql.get_job, job_id)
            if row is None:
                raise JobNotFound(job_id)
            history = await self._history(conn, job_id)
        spec = self._spec(job_id, row["version"], row["payload"])
        if spec is None:
            raise JobNotFound(job_id)
        return self._snapshot(spec, row["paused"], row["run_at"], history)

    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        async with self._db.connection("listing jobs") as conn:
            rows = await conn.fetch(self._sql.all_jobs)
            records = (
                await conn.fetch(self._sql.all_history, self._history_limit) if history else []
            )
        histories: dict[str, list[Run]] = {}
        for job_id, record in records:
            run = self._run(job_id, record)
            if run is not None:
                histories.setdefault(job_id, []).append(run)
        jobs = []
        for row in rows:
            spec = self._spec(row["id"], row["version"], row["payload"])
            if spec is not None:
                runs = histories.get(row["id"], ())
                jobs.append(self._snapshot(spec, row["paused"], row["run_at"], runs))
        jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return jobs

    async def update_job(
        self,
        job_id: str,
        update: Callable[[JobSpec], JobSpec],
        *,
        now: float,
        reschedule: bool,
    ) -> Job:
        """Change a job's definition atomically (row locked while ``update`` runs).

        Keeps the paused state and the history; ``reschedule`` recomputes the next time from
        ``now`` (the server's clock), otherwise the next time stays. If ``update`` raises,
        nothing changes.

        Raises:
            JobNotFound: no job has this id.
        """
        async with (
            self._db.connection(f"updating job {job_id!r}") as conn,
            conn.transaction(),
        ):
            row = await conn.fetchrow(self._sql.lock_job, job_id)
            spec = None if row is None else self._spec(job_id, row["version"], row["payload"])
            if row is None or spec is None:
                raise JobNotFound(job_id)
            new = update(spec)
            values = self._row(new, now)
            nominal, run_at = values[4], values[5]
            if not reschedule:
                nominal, run_at = row["nominal"], row["run_at"]
            await conn.execute(self._sql.update_job, job_id, *values[1:4], nominal, run_at)
            if reschedule and run_at is not None and not row["paused"]:
                await conn.execute("SELECT pg_notify($1, $2)", self._opts.channel, repr(run_at))
            history = await self._history(conn, job_id)
        if reschedule and run_at is not None and not row["paused"]:
            self._wake(run_at)
        return self._snapshot(new, row["paused"], run_at, history)

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        async with (
            self._db.connection(f"pausing job {job_id!r}") as conn,
            conn.transaction(),
        ):
            row = await conn.fetchrow(self._sql.lock_job, job_id)
            if row is None:
                raise JobNotFound(job_id)
            spec = self._spec(job_id, row["version"], row["payload"])
            if spec is None:
                raise JobNotFound(job_id)
            nominal, run_at = row["nominal"], row["run_at"]
            if paused != row["paused"]:
                t = self._server_now(now)
                if not paused and nominal is not None and run_at is not None and run_at <= t:
                    # firings inside the pause are not caught up: continue after now
                    nxt = spec.trigger.next_after(to_datetime(nominal), to_datetime(t))
                    nominal = None if nxt is None else nxt.timestamp()
                    run_at = (
                        None
                        if nominal is None
                        else nominal + jitter_offset(job_id, nominal, spec.trigger.jitter)
                    )
                await conn.execute(self._sql.set_state, job_id, paused, nominal, run_at)
                if not paused and run_at is not None:
                    await conn.execute("SELECT pg_notify($1, $2)", self._opts.channel, repr(run_at))
            history = await self._history(conn, job_id)
        if paused:
            await self._refresh_next_due()
        elif run_at is not None:
            self._wake(run_at)
        return self._snapshot(spec, paused, run_at, history)
