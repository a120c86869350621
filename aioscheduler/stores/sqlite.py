"""The SQLite store: jobs, claimed firings and run history in one local file.

One scheduler writes a file at a time (an OS lock enforces it), so this process's view of the
jobs is complete: due times are kept in a local heap (no polling) and every change is written
through to the file before the call returns. The file is the truth after a restart: jobs, their
paused state and next time, the firings that were claimed but never finished (re-run, with the
attempt counted up), and the recent runs of each job.

All SQL runs on one worker thread owned by the store, so the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import Job, JobSpec, Run
from ..errors import InvalidConfiguration, JobExists, JobNotFound, SchedulerStateError, StoreError
from ._base import Store, StoreContext
from ._codec import encode_spec, open_run
from ._local import Entry, listing_order
from ._sqlite_claims import SQLiteClaims
from ._sqlite_db import FREEZE_EVERY, SQLiteFile, gc_paused
from ._sqlite_refused import RefusedRows
from ._sqlite_rows import positive_seconds

__all__ = ("SQLiteStore",)

logger = logging.getLogger("aioscheduler.stores.sqlite")

T = TypeVar("T")
#: Seconds between looks at a store call that its caller cancelled (it runs to its end).
_CANCELLED_POLL = 0.05

#: Default age after which finished runs are dropped from the history.
DEFAULT_HISTORY_MAX_AGE = timedelta(days=7)


class SQLiteStore(SQLiteClaims, RefusedRows, Store):
    """A persistent store in one SQLite file, for one scheduler at a time.

    Jobs must be storable: an importable function and JSON-serializable arguments (checked at
    ``add()``, see ``docs/persistence.md``). Payloads can be signed or encrypted at rest.

    Args:
        path: The database file (created if missing). ``":memory:"`` keeps nothing.
        secret_key: Sign every stored job and run record (HMAC-SHA256); rows changed without
            the key are refused and reported as broken jobs.
        old_keys: Earlier secrets, still accepted for reading (key rotation).
        encrypt: Encrypt payloads as well (AES-256-GCM; ``aioscheduler[crypto]``).
        accept_unsigned: With a key, still read unsigned rows (while migrating a store).
        history_limit: Finished runs kept per job; ``None``: the scheduler's ``history_limit``.
        history_max_age: Finished runs older than this are dropped (seconds or timedelta;
            ``None``: no age limit).
        lease: Seconds a claimed firing stays reserved for this node. A firing left behind by
            a scheduler that died is re-run when the next scheduler opens the file.

    Raises:
        SerializationError: a weak key, or ``encrypt`` without ``cryptography``.

    Example::

        scheduler = Scheduler(store=SQLiteStore("jobs.db", secret_key=os.environ["KEY"]))
    """

    persistent = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        secret_key: str | bytes | None = None,
        old_keys: Sequence[str | bytes] = (),
        encrypt: bool = False,
        accept_unsigned: bool = False,
        history_limit: int | None = None,
        history_max_age: float | timedelta | None = DEFAULT_HISTORY_MAX_AGE,
        lease: float | timedelta = 30.0,
    ) -> None:
        if history_limit is not None and (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or history_limit < 0
        ):
            raise ValueError(f"history_limit must be an int >= 0 or None, got {history_limit!r}")
        self._path = os.fspath(path)
        self._codec = PayloadCodec(
            secret_key, old_keys=old_keys, encrypt=encrypt, accept_unsigned=accept_unsigned
        )
        self._history_limit_option = history_limit
        self._history_limit = 10 if history_limit is None else history_limit
        self._history_max_age = positive_seconds(history_max_age, "history_max_age")
        self._lease = positive_seconds(lease, "lease") or 30.0
        self._file = SQLiteFile(self._path, self._codec, accept_unsigned=accept_unsigned)
        self._thread: ThreadPoolExecutor | None = None
        self._context: StoreContext | None = None
        self._lock = asyncio.Lock()
        self._in_flight = 0  # _call()s waiting on the worker thread (see Store.io_in_flight)
        self._reset()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteStore:
        """Build a store from ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``.

        Keyword options are passed to the constructor (keys do not belong in URLs).

        Raises:
            InvalidConfiguration: the URL is not of that form (a ``ValueError``).
        """
        scheme, sep, rest = url.partition("://")
        if scheme != "sqlite" or not sep or not rest.startswith("/") or len(rest) < 2:
            raise InvalidConfiguration(
                f"SQLite store URL must look like 'sqlite:///relative.db' or "
                f"'sqlite:////absolute/path.db', got {url!r}"
            )
        return cls(rest[1:], **options)

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r}, codec={self._codec!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def codec(self) -> PayloadCodec:
        """The codec sealing this store's payloads (for tools reading the file beside it)."""
        return self._codec

    @property
    def signs_payloads(self) -> bool:
        """Whether rows are signed (or encrypted) with a ``secret_key``."""
        return self._codec.key_id is not None

    @property
    def seals_state(self) -> bool:
        """Whether paused flags, next times and claims are sealed too (with a ``secret_key``)."""
        return self._codec.key_id is not None

    def _open_run(self, job_id: str, record: bytes) -> Run:
        admission = None if self._context is None else self._context.admission
        return open_run(job_id, record, self._codec, admission)

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the store's thread; map driver errors to :class:`StoreError`."""
        if self._thread is None:
            raise StoreError(f"the SQLite store {self._path!r} is not open")
        done = self._thread.submit(fn, *args)
        future = asyncio.wrap_future(done)
        self._in_flight += 1
        try:
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                # The transaction runs to completion anyway. Wait for it and return its result,
                # so that the caller keeps its view in step with the file, and re-request the
                # cancellation for the caller's next await. Waited for on the thread's own
                # future, polled: the loop-side copy of its result is a callback that a second
                # Ctrl-C can cut short, and waiting for that copy hung asyncio.run() forever.
                task = asyncio.current_task()
                while not done.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait({future}, timeout=_CANCELLED_POLL)
                if task is not None:
                    task.uncancel()
                    task.cancel()
                return done.result()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self._path!r} failed: {exc}") from exc
        finally:
            self._in_flight -= 1

    def io_in_flight(self) -> int:
        return self._in_flight

    async def _histories(self, job_ids: list[str] | None) -> dict[str, list[Run]]:
        # read and decoded on the store's thread: the event loop never decodes history
        return await self._call(self._read_histories, job_ids)

    def _read_histories(self, job_ids: list[str] | None) -> dict[str, list[Run]]:
        out: dict[str, list[Run]] = {}
        for job_id, record in self._file.history(job_ids):
            try:
                run = self._open_run(job_id, record)
            except Exception as exc:  # a damaged record hides one run, never the job
                logger.warning("skipping unreadable run record of job %r: %s", job_id, exc)
                continue
            out.setdefault(job_id, []).append(run)
        return out

    async def job_specs(self) -> list[tuple[JobSpec, bool]]:
        """Every job's definition and paused state, from memory (no history is read)."""
        return [(e.spec, e.paused) for e in self._entries.values()]

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, context: StoreContext) -> None:
        if self._context is not None:
            if self._context.node_id != context.node_id:
                raise SchedulerStateError(
                    "this SQLiteStore is already used by another running scheduler"
                )
            return
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="aioscheduler-sqlite")
        try:
            loaded = await self._call(self._file.open, context.node_id, context.admission)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise
        self._reset()
        if self._history_limit_option is None:
            self._history_limit = context.history_limit
        # the in-memory view is built on the store's thread: 100k jobs never block the loop
        await self._call(self._index, loaded.jobs)
        if len(loaded.jobs) >= FREEZE_EVERY:
            gc.freeze()  # the view lives as long as the store (see FREEZE_EVERY)
        self._context = context
        if self._heap:
            context.wakeup(self._heap[0][0])
        self._firings = loaded.firings
        self._refused = {row.job_id: row for row in loaded.refused}
        self._tried = context.admission.generation
        for job_id, reason in loaded.broken:
            self._broken[job_id] = reason
            logger.error(
                "stored job %r is broken and skipped: %s", job_id, reason, extra={"job_id": job_id}
            )
            context.on_broken(job_id, reason)
        if self._firings:
            context.wakeup(0.0)

    async def close(self) -> None:
        if self._thread is None:
            return
        try:
            async with self._lock:
                await self._call(self._file.close)
        finally:
            self._thread.shutdown(wait=False)
            self._thread = None
            self._context = None
            self._reset()

    async def _abandon(self) -> None:
        """Test hook: let go of the file like a killed process (claims stay in the file)."""
        if self._thread is not None:
            await self._call(self._file.abandon)
            self._thread.shutdown(wait=False)
            self._thread = None
        self._context = None
        self._reset()

    # -- jobs ----------------------------------------------------------------------------------

    def check_spec(self, spec: JobSpec) -> None:
        """Refuse, at ``add()``, a job this store could not write or load again.

        Raises:
            SerializationError: the callable has no import path (lambda, closure, bound
                method, ``__main__``) or an argument is not storable; the message says what
                to do.
        """
        encode_spec(spec)

    def broken_jobs(self) -> list[tuple[str, str]]:
        """The stored jobs that could not be loaded at open, as ``(id, reason)``.

        They are not run and not deleted: fix the cause (key, code) and restart, replace them
        with ``add(..., replace=True)``, or delete them with :meth:`remove_broken`.
        """
        return sorted(self._broken.items())

    async def remove_broken(self, job_id: str) -> None:
        """Delete a broken job's row (see :meth:`broken_jobs`).

        Raises:
            JobNotFound: no broken job has this id.
        """
        if job_id not in self._broken:
            raise JobNotFound(job_id)
        async with self._lock:
            await self._call(self._file.delete_jobs, [job_id])
            self._broken.pop(job_id, None)
            self._refused.pop(job_id, None)

    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        first = spec.trigger.first_fire(to_datetime(now))
        nominal = None if first is None else first.timestamp()
        run_at = self._run_at(spec, nominal)
        async with self._lock:
            await self._readmit()  # registering spec.func may admit a refused row (this one)
            old = self._entries.get(spec.id)
            if old is not None and not replace:
                raise JobExists(spec.id)
            history = await self._call(
                self._file.put_job, spec, paused, nominal, run_at, old is not None
            )
            self._refused.pop(spec.id, None)
            if self._broken.pop(spec.id, None) is not None:
                logger.warning("broken stored job %r was replaced by a new definition", spec.id)
            entry = self._entries[spec.id] = Entry(spec, nominal, run_at, paused)
            if old is not None:
                entry.version = old.version
            self._schedule(entry, nominal, run_at)
        runs = await self._decode_history(spec.id, history)
        return self._snapshot(entry, runs)

    async def update_job(
        self,
        job_id: str,
        update: Callable[[JobSpec], JobSpec],
        *,
        now: float,
        reschedule: bool,
    ) -> Job:
        async with self._lock:  # the only writer of the file: the lock makes it atomic
            old = self._get(job_id)
            spec = update(old.spec)
            if spec.id != job_id:
                raise ValueError(f"update_job() must keep the id {job_id!r}, got {spec.id!r}")
            nominal, run_at = old.nominal, old.run_at
            if reschedule:
                first = spec.trigger.first_fire(to_datetime(now))
                nominal = None if first is None else first.timestamp()
                run_at = self._run_at(spec, nominal)
            history = await self._call(self._file.put_job, spec, old.paused, nominal, run_at, True)
            entry = self._entries[job_id] = Entry(spec, nominal, run_at, old.paused)
            entry.version = old.version  # claims of the old definition: see release()
            self._schedule(entry, nominal, run_at)
        runs = await self._decode_history(job_id, history)
        return self._snapshot(entry, runs)

    async def _decode_history(self, job_id: str, records: list[bytes]) -> list[Run]:
        runs = []
        for record in records:
            try:
                runs.append(self._open_run(job_id, record))
            except Exception as exc:
                logger.warning("skipping unreadable run record of job %r: %s", job_id, exc)
        return runs

    async def remove_job(self, job_id: str) -> None:
        async with self._lock:
            self._get(job_id)
            await self._call(self._file.delete_jobs, [job_id])
            del self._entries[job_id]

    async def get_job(self, job_id: str) -> Job:
        if self._may_readmit():
            async with self._lock:
                await self._readmit()
        entry = self._get(job_id)
        histories = await self._histories([job_id])
        return self._snapshot(entry, histories.get(job_id, ()))

    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        """Snapshots of all jobs, by next run time. ``history=False``: without ``Job.history``
        and ``Job.last_run``, from memory (100,000 jobs in about half a second); one job's
        history: :meth:`get_job`."""
        # history read, decoded and snapshots built on the store's thread, not on the loop
        return await self._call(self._list_jobs, list(self._entries.values()), history)

    def _list_jobs(self, entries: list[Entry], history: bool = True) -> list[Job]:
        histories = self._read_histories(None) if history else {}
        entries.sort(key=listing_order)
        with gc_paused(len(entries)):
            return [self._snapshot(e, histories.get(e.spec.id, ())) for e in entries]

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        async with self._lock:
            entry = self._get(job_id)
            if paused != entry.paused:
                nominal, run_at = entry.nominal, entry.run_at
                if not paused and nominal is not None and run_at is not None and run_at <= now:
                    # firings inside the pause are not caught up: continue after now
                    nxt = entry.spec.trigger.next_after(to_datetime(nominal), to_datetime(now))
                    nominal = None if nxt is None else nxt.timestamp()
                    run_at = self._run_at(entry.spec, nominal)
                await self._call(self._file.set_state, [(job_id, paused, nominal, run_at)])
                entry.paused = paused
                self._schedule(entry, nominal, run_at)
        return await self.get_job(job_id)
