"""The local view a single-writer store keeps of its jobs: definitions, due heap, claims.

A store that is the only writer of its data (SQLite) knows every change, so it answers
``next_due()``, ``get_job()`` and claims from memory and writes each change through to its file.
:class:`LocalJobs` is that memory: the loaded jobs, a heap of their due times (stale items are
skipped lazily), and the claimed firings not yet released.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Iterable

from .._clock import to_datetime
from .._values import Job, JobSpec, Run
from ..errors import JobNotFound
from ._base import StoreContext
from ._planning import jitter_offset
from ._sqlite_db import Firing, LoadedJob

__all__ = ("Entry", "LocalJobs", "listing_order")

logger = logging.getLogger("aioscheduler.stores.sqlite")


class Entry:
    """One loaded job: its definition and state, mirrored from its row."""

    __slots__ = ("nominal", "paused", "pending", "run_at", "spec", "version")

    def __init__(
        self, spec: JobSpec, nominal: float | None, run_at: float | None, paused: bool
    ) -> None:
        self.spec = spec
        self.nominal = nominal
        self.run_at = run_at
        self.paused = paused
        self.pending = 0  # claims handed out by this store and not yet released
        self.version = 0  # heap items carrying an older version are stale


def listing_order(entry: Entry) -> tuple[bool, float, str]:
    """The order of a listing: by next run time (paused and ended jobs last), then id."""
    due = None if entry.paused else entry.run_at
    return (due is None, due or 0.0, entry.spec.id)


class LocalJobs:
    """Mixin: the in-memory view of a single-writer store (see the module docstring)."""

    _context: StoreContext | None
    _history_limit: int

    def _reset(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._broken: dict[str, str] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()
        self._firings: dict[tuple[str, float], Firing] = {}

    def _get(self, job_id: str) -> Entry:
        try:
            return self._entries[job_id]
        except KeyError:
            raise JobNotFound(job_id) from None

    def _schedule(self, entry: Entry, nominal: float | None, run_at: float | None) -> None:
        entry.nominal, entry.run_at = nominal, run_at
        entry.version += 1
        if run_at is not None and not entry.paused:
            heapq.heappush(self._heap, (run_at, next(self._seq), entry.spec.id, entry.version))
            if self._context is not None:
                self._context.wakeup(run_at)
        if len(self._heap) > 2 * len(self._entries) + 64:  # mostly stale: rebuild
            self._heap = [item for item in self._heap if self._live(item)]
            heapq.heapify(self._heap)

    def _index(self, jobs: Iterable[LoadedJob]) -> None:
        """Fill the view with loaded jobs (no wake-ups: the caller sends one)."""
        entries, heap, seq = self._entries, self._heap, self._seq
        for job in jobs:
            entry = entries[job.spec.id] = Entry(job.spec, job.nominal, job.run_at, job.paused)
            entry.version = 1
            if job.run_at is not None and not job.paused:
                heap.append((job.run_at, next(seq), job.spec.id, 1))
        heapq.heapify(heap)

    def _poisoned(self, entry: Entry, exc: Exception) -> None:
        """Make a loaded job broken: planning its firing failed on its stored data."""
        job_id = entry.spec.id
        reason = f"planning its next firing failed: {type(exc).__name__}: {exc}"
        logger.error("job %r is broken and skipped: %s", job_id, reason, extra={"job_id": job_id})
        self._entries.pop(job_id, None)
        self._broken[job_id] = reason
        if self._context is not None:
            self._context.on_broken(job_id, reason)

    def _live(self, item: tuple[float, int, str, int]) -> bool:
        entry = self._entries.get(item[2])
        return entry is not None and entry.version == item[3] and not entry.paused

    def _run_at(self, spec: JobSpec, nominal: float | None) -> float | None:
        if nominal is None:
            return None
        return nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)

    def _orphans(self, now: float) -> list[tuple[tuple[str, float], Firing]]:
        """Firings claimed by a scheduler that is gone, ready to be claimed again."""
        ready = []
        node = self._context.node_id if self._context is not None else ""
        for key, firing in self._firings.items():
            entry = self._entries.get(key[0])
            if (
                firing.owner != node
                and firing.lease_until <= now
                and entry is not None
                and not entry.paused
            ):
                ready.append((key, firing))
        ready.sort(key=lambda kv: kv[1].run_at)
        return ready

    def _snapshot(self, entry: Entry, history: Iterable[Run]) -> Job:
        runs = tuple(history)[-self._history_limit :] if self._history_limit else ()
        run_at = None if entry.paused or entry.run_at is None else to_datetime(entry.run_at)
        return Job.of(entry.spec, next_run_at=run_at, paused=entry.paused, history=runs)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        due = heap[0][0] if heap else None
        if self._firings:
            node = self._context.node_id if self._context is not None else ""
            for (job_id, _), firing in self._firings.items():
                entry = self._entries.get(job_id)
                if firing.owner != node and entry is not None and not entry.paused:
                    due = firing.lease_until if due is None else min(due, firing.lease_until)
        return due
