"""The SQLite store's statements: synchronous, run only on the store's worker thread.

:class:`SQLiteFile` owns the connection and the one-writer lock. Each method is one
transaction; the asynchronous :class:`~aioscheduler.stores.sqlite.SQLiteStore` calls them
through its thread and keeps its in-memory view in step with what they wrote.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from .._admission import Admission
from .._serialization import PayloadCodec
from .._values import JobSpec
from ..errors import RefusedReference
from ._codec import decode_spec, encode_spec
from ._sqlite_rows import DamagedRow, check_firing, check_state
from ._sqlite_schema import FileLock, connect
from ._sqlite_seals import Seals
from ._sqlite_tags import RowState, firing_message

__all__ = ("FREEZE_EVERY", "Firing", "Loaded", "LoadedJob", "RefusedRow", "SQLiteFile", "gc_paused")

logger = logging.getLogger("aioscheduler.stores.sqlite")


class Firing(NamedTuple):
    """A row of ``firings``: a firing claimed and not yet released."""

    job_id: str
    slot: float
    run_at: float
    missed: int
    run: bool
    final: bool
    owner: str
    lease_until: float
    attempt: int


class LoadedJob(NamedTuple):
    spec: JobSpec
    paused: bool
    nominal: float | None
    run_at: float | None


class RefusedRow(NamedTuple):
    """A job row the admission policy refused: kept to be tried again once its names are
    registered (by an ``add()`` after the store opened)."""

    job_id: str
    payload: bytes
    paused: bool
    nominal: float | None
    run_at: float | None


class Loaded(NamedTuple):
    """What :meth:`SQLiteFile.open` read: loadable jobs, broken ones, orphaned firings."""

    jobs: list[LoadedJob]
    broken: list[tuple[str, str]]
    firings: dict[tuple[str, float], Firing]
    refused: list[RefusedRow]


#: Loading a large store freezes the objects made so far every this many jobs
#: (:func:`gc.freeze`): the loaded definitions live as long as the store, and a full garbage
#: collection over a million of them would hold the GIL, stalling the event loop, for hundreds
#: of milliseconds (issue 10 item 4). Frozen objects are still freed by reference counting.
FREEZE_EVERY = 5000


@contextmanager
def gc_paused(objects: int) -> Iterator[None]:
    """No cyclic garbage collection while building ``objects`` short-lived objects (snapshots
    of a large store): a full collection over them would stall the event loop, and they are
    freed by reference counting. Does nothing for fewer than :data:`FREEZE_EVERY`."""
    was = gc.isenabled() and objects >= FREEZE_EVERY
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_STATE = "UPDATE jobs SET paused = ?, nominal = ?, run_at = ?, version = ? WHERE id = ?"
_CLAIM = "INSERT OR REPLACE INTO firings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


class SQLiteFile:
    """The database file of one store (see the module docstring)."""

    def __init__(self, path: str, codec: PayloadCodec, *, accept_unsigned: bool = False) -> None:
        self._path = path
        self._codec = codec
        self._accept = accept_unsigned
        self._seals = Seals(codec, path)
        self._lock = FileLock(path) if path != ":memory:" else None
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "the store is not open"
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if self._lock is not None:
            self._lock.check()  # the path still leads to the file we locked
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        self._seals.begin()
        try:
            yield conn
            self._seals.flush(conn)  # the tags of what changed, and the anchor
            conn.execute("COMMIT")
        except BaseException:
            self._seals.abort()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._seals.commit()

    # -- open and close ------------------------------------------------------------------------

    def open(self, node_id: str, admission: Admission) -> Loaded:
        if self._lock is not None:
            self._lock.acquire(node_id)
        self._seals = Seals(self._codec, self._path)
        try:
            self._conn = connect(self._path)
            return self._load(admission)
        except BaseException:
            self.abandon()
            raise

    def _load(self, admission: Admission) -> Loaded:
        jobs: list[LoadedJob] = []
        broken: list[tuple[str, str]] = []
        refused: list[RefusedRow] = []
        reseal: list[tuple[bytes, str]] = []
        with self._transaction() as conn:
            # The file lock proves every claim in the file belongs to a scheduler that is gone:
            # each one can be claimed again at once.
            conn.execute("DELETE FROM firings WHERE job_id NOT IN (SELECT id FROM jobs)")
            conn.execute("UPDATE firings SET lease_until = 0")
            firings: dict[tuple[str, float], Firing] = {}
            for row in conn.execute("SELECT * FROM firings").fetchall():
                try:
                    firing = Firing(*check_firing(row))
                except DamagedRow as exc:  # the job it names becomes broken, nothing else
                    damaged = str(row[0]) if row else "?"
                    logger.error("damaged firings row of job %r: %s", damaged, exc)
                    broken.append((damaged, f"DamagedRow: {exc}"))
                    continue
                firings[(firing.job_id, firing.slot)] = firing
            rows = conn.execute(
                "SELECT id, payload, paused, nominal, run_at, version FROM jobs ORDER BY id"
            ).fetchall()
            loaded: dict[str, tuple[RowState, JobSpec | None]] = {}
            freeze = len(rows) >= FREEZE_EVERY  # a large store: see FREEZE_EVERY
            for i, (job_id, value, paused, nominal, run_at, version) in enumerate(rows):
                if freeze and i % FREEZE_EVERY == 0:
                    gc.freeze()
                job_id = str(job_id)
                row_state: RowState | None = None
                try:
                    # every plain column is checked before use (see _sqlite_rows)
                    state = check_state(paused, nominal, run_at)
                    if not isinstance(value, str | bytes):
                        raise DamagedRow(f"payload = {value!r} is not a blob")
                    if type(version) is not int:
                        raise DamagedRow(f"version = {version!r} is not an integer")
                    # A row edited by hand may hold TEXT where a BLOB was written.
                    payload = value.encode() if isinstance(value, str) else bytes(value)
                    row_state = RowState(job_id, payload, *state, version)
                    spec = decode_spec(job_id, payload, self._codec, admission)
                except Exception as exc:  # tampered, unimportable, malformed: report, keep the row
                    broken.append((job_id, f"{type(exc).__name__}: {exc}"))
                    if isinstance(exc, RefusedReference) and row_state is not None:
                        loaded[job_id] = (row_state, None)  # may be admitted later
                    continue
                loaded[job_id] = (row_state, spec)
            # With a key, each job's state and claims must match its seal (_sqlite_seals).
            sealed = self._seals.load(
                conn,
                [row for row, _ in loaded.values()],
                [(f.job_id, f.slot, firing_message(*f[1:6], f.attempt)) for f in firings.values()],
                {str(row[0]) for row in rows},
                self._accept,
            )
            for job_id, reason in sealed:
                broken.append((job_id, f"StateSealError: {reason}"))
            unsealed = {job_id for job_id, _ in sealed}
            for job_id, (row, decoded) in loaded.items():
                if job_id in unsealed:
                    continue
                if decoded is None:
                    refused.append(RefusedRow(job_id, row.payload, *row[2:5]))
                    continue
                jobs.append(LoadedJob(decoded, row.paused, row.nominal, row.run_at))
                if self._codec.needs_reseal(row.payload):  # key rotation, mode change
                    payload = self._codec.seal(encode_spec(decoded))
                    self._seals.resealed(job_id, payload)
                    reseal.append((payload, job_id))
            conn.executemany("UPDATE jobs SET payload = ? WHERE id = ?", reseal)
        first: dict[str, str] = {}
        for job_id, reason in broken:  # one report per job: its first fault
            first.setdefault(job_id, reason)
        broken, bad = list(first.items()), set(first)
        if bad:
            jobs = [job for job in jobs if job.spec.id not in bad]
            firings = {key: f for key, f in firings.items() if key[0] not in bad}
        if reseal:
            logger.info("re-sealed %d stored jobs with the current key", len(reseal))
        if len(rows) >= FREEZE_EVERY:
            gc.freeze()
        return Loaded(jobs, broken, firings, refused)

    def close(self) -> None:
        # Claims this node still holds were never released: leave them claimable at once.
        conn = self._conn
        if conn is not None:
            conn.execute("UPDATE firings SET lease_until = 0")
        self.abandon()

    def abandon(self) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    # -- jobs ----------------------------------------------------------------------------------

    def put_job(
        self,
        spec: JobSpec,
        paused: bool,
        nominal: float | None,
        run_at: float | None,
        replacing: bool,
    ) -> list[bytes]:
        """Insert or replace a job; return its kept history records when replacing."""
        payload = self._codec.seal(encode_spec(spec))
        func = payload_func(spec)
        with self._transaction() as conn:
            self._seals.put(spec.id, payload, paused, nominal, run_at, fresh=not replacing)
            conn.execute(
                "INSERT OR REPLACE INTO jobs (id, func, payload, paused, nominal, run_at, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (spec.id, func, payload, int(paused), nominal, run_at, self._seals.version()),
            )
            if not replacing:  # a new job (or one over a broken row) starts afresh
                conn.execute("DELETE FROM runs WHERE job_id = ?", (spec.id,))
                conn.execute("DELETE FROM firings WHERE job_id = ?", (spec.id,))
                return []
            rows = conn.execute("SELECT record FROM runs WHERE job_id = ? ORDER BY seq", (spec.id,))
            return [bytes(r[0]) for r in rows]

    def delete_jobs(self, job_ids: Sequence[str]) -> None:
        with self._transaction() as conn:
            params = [(i,) for i in job_ids]
            for job_id in job_ids:
                self._seals.delete(job_id)
            conn.executemany("DELETE FROM jobs WHERE id = ?", params)
            conn.executemany("DELETE FROM runs WHERE job_id = ?", params)
            conn.executemany("DELETE FROM firings WHERE job_id = ?", params)

    def set_state(self, rows: Sequence[tuple[str, bool, float | None, float | None]]) -> None:
        with self._transaction() as conn:
            conn.executemany(_STATE, self._states(rows))

    def _states(
        self, rows: Sequence[tuple[str, bool, float | None, float | None]]
    ) -> list[tuple[int, float | None, float | None, int, str]]:
        seals = self._seals
        for job_id, paused, nominal, run_at in rows:
            seals.state(job_id, paused, nominal, run_at)
        version = seals.version()
        return [(int(p), n, r, version, i) for i, p, n, r in rows]

    def history(self, job_ids: Sequence[str] | None) -> list[tuple[str, bytes]]:
        conn = self.conn
        if job_ids is None:
            rows = conn.execute("SELECT job_id, record FROM runs ORDER BY job_id, seq").fetchall()
        else:
            rows = []
            for job_id in job_ids:
                rows += conn.execute(
                    "SELECT job_id, record FROM runs WHERE job_id = ? ORDER BY seq", (job_id,)
                ).fetchall()
        return [(job_id, bytes(record)) for job_id, record in rows]

    # -- claims --------------------------------------------------------------------------------

    def claim(
        self,
        jobs: Sequence[tuple[str, bool, float | None, float | None]],
        firings: Sequence[Firing],
    ) -> None:
        """Advance the jobs' next times and record the claimed firings, in one transaction."""
        with self._transaction() as conn:
            conn.executemany(_STATE, self._states(jobs))
            conn.executemany(_CLAIM, [(*f[:4], int(f.run), int(f.final), *f[6:]) for f in firings])
            if self._seals.enabled:
                for f in firings:
                    message = firing_message(f.slot, f.run_at, f.missed, f.run, f.final, f.attempt)
                    self._seals.claimed(f.job_id, f.slot, message)

    def release(
        self,
        done: Sequence[tuple[str, float]],
        records: Sequence[tuple[str, float, bytes]],
        keep: int,
        cutoff: float | None,
        finals: Sequence[str],
    ) -> None:
        """Free finished claims, append history (pruned by count and age), drop ended jobs."""
        seals = self._seals
        with self._transaction() as conn:
            if seals.enabled:
                for job_id, slot in done:
                    seals.released(job_id, slot)
                for job_id in finals:
                    if seals.ended(job_id):  # deleted below: ``nominal IS NULL``
                        seals.delete(job_id)
            conn.executemany("DELETE FROM firings WHERE job_id = ? AND slot = ?", done)
            conn.executemany(
                "INSERT INTO runs (job_id, finished_at, record) VALUES (?, ?, ?)", records
            )
            conn.executemany(
                "DELETE FROM runs WHERE job_id = ?1 AND seq <= "
                "(SELECT seq FROM runs WHERE job_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                [(job_id, keep) for job_id in {r[0] for r in records}],
            )
            if cutoff is not None:
                conn.execute("DELETE FROM runs WHERE finished_at < ?", (cutoff,))
            params = [(i,) for i in finals]
            conn.executemany("DELETE FROM jobs WHERE id = ? AND nominal IS NULL", params)
            conn.executemany(
                "DELETE FROM runs WHERE job_id = ?1 AND NOT EXISTS "
                "(SELECT 1 FROM jobs WHERE id = ?1)",
                params,
            )


def payload_func(spec: JobSpec) -> str:
    """The display form of a job's callable (the sealed payload holds the real reference)."""
    module = getattr(spec.func, "__module__", None) or "?"
    return f"{module}:{getattr(spec.func, '__qualname__', '?')}"
