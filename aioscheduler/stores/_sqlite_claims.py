"""The SQLite store's claims: handing out due firings and taking back finished runs.

A mixin of :class:`~aioscheduler.stores.sqlite.SQLiteStore`: the in-memory view
(:class:`~aioscheduler.stores._local.LocalJobs`) decides what is due, the file
(:class:`~aioscheduler.stores._sqlite_db.SQLiteFile`) records it in one transaction per call.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .._crypto import PayloadCodec
from .._values import Run
from ._base import Claim
from ._codec import encode_run
from ._local import Entry, LocalJobs
from ._planning import MAX_BACKLOG_PER_ACQUIRE, plan
from ._sqlite_db import Firing, SQLiteFile

__all__ = ("SQLiteClaims",)

T = TypeVar("T")


class SQLiteClaims(LocalJobs):
    """Mixin: ``acquire_due()`` and ``release()`` of the SQLite store."""

    _lock: asyncio.Lock
    _lease: float
    _history_max_age: float | None
    _codec: PayloadCodec
    _file: SQLiteFile

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        async with self._lock:
            assert self._context is not None
            node, lease_until = self._context.node_id, now + self._lease
            claims: list[Claim] = []
            rows: list[Firing] = []
            # Healthy due jobs first: firings a crash interrupted (a job that may kill the
            # process again) are handed out only by a call that found nothing else due.
            heap = self._heap
            while heap and not self._live(heap[0]):
                heapq.heappop(heap)
            orphans = [] if heap and heap[0][0] <= now else self._orphans(now)[:limit]
            for (job_id, slot), old in orphans:
                spec = self._entries[job_id].spec
                run, missed = old.run, old.missed
                grace = spec.options.misfire_grace
                if run and grace is not None and now - old.run_at > grace:
                    run, missed = False, missed + 1  # recovered too late: report it missed
                claims.append(
                    Claim(spec, slot, old.run_at, missed, run, old.final, attempt=old.attempt + 1)
                )
                rows.append(
                    old._replace(owner=node, lease_until=lease_until, attempt=old.attempt + 1)
                )
            updates: list[tuple[Entry, float | None, float | None, int]] = []
            budget = limit - len(claims)  # like the memory store: ``limit`` jobs per call
            while self._heap and len(updates) < budget and self._heap[0][0] <= now:
                item = heapq.heappop(self._heap)
                if not self._live(item):
                    continue
                entry = self._entries[item[2]]
                spec, options = entry.spec, entry.spec.options
                nominal, run_at, count = entry.nominal, entry.run_at, 0
                for _ in range(MAX_BACKLOG_PER_ACQUIRE):
                    assert nominal is not None
                    jitter = run_at - nominal if run_at is not None else 0.0
                    try:
                        p = plan(
                            spec.trigger, nominal, now, options.misfire_grace, options.coalesce,
                            jitter,
                        )  # fmt: skip
                    except Exception as exc:  # a trigger that fails on its data: that job only
                        self._poisoned(entry, exc)
                        break
                    nominal = p.next_nominal
                    claim_at = run_at if run_at is not None else p.scheduled_at
                    claims.append(
                        Claim(spec, p.scheduled_at, claim_at, p.missed, p.run, nominal is None)
                    )
                    rows.append(
                        Firing(spec.id, p.scheduled_at, claim_at, p.missed, p.run,
                               nominal is None, node, lease_until, 1)
                    )  # fmt: skip
                    count += 1
                    run_at = self._run_at(spec, nominal)
                    if run_at is None or run_at > now:
                        break
                if count:
                    updates.append((entry, nominal, run_at, count))
            if not claims:
                return claims
            try:
                await self._call(
                    self._file.claim,
                    [(e.spec.id, e.paused, n, r) for e, n, r, _ in updates],
                    rows,
                )
            except BaseException:
                for entry, *_ in updates:  # put them back: nothing was claimed
                    self._schedule(entry, entry.nominal, entry.run_at)
                raise
            for entry, nominal, run_at, count in updates:
                entry.pending += count
                self._schedule(entry, nominal, run_at)
            for row in rows:
                self._firings[(row.job_id, row.slot)] = row
                if row.attempt > 1:
                    self._entries[row.job_id].pending += 1
            return claims

    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> None:
        async with self._lock:
            done: list[tuple[str, float]] = []
            records: list[tuple[str, float, bytes]] = []
            pending: dict[str, int] = {}
            finals: list[str] = []
            latest = 0.0
            for claim, run in runs:
                # the run's attempt already counts a recovered claim (Claim.attempt)
                job_id, attempt = claim.spec.id, run.attempt
                if claim.claimed:
                    key = (job_id, claim.scheduled_at)
                    if key in self._firings:
                        done.append(key)
                entry = self._entries.get(job_id)
                if entry is None:
                    continue  # removed meanwhile: its history went with it
                finished = (run.finished_at or run.scheduled_at).timestamp()
                latest = max(latest, finished)
                if self._history_limit:
                    records.append((job_id, finished, self._codec.seal(encode_run(run, attempt))))
                if entry.spec is claim.spec:
                    left = pending.get(job_id, entry.pending) - claim.claimed
                    pending[job_id] = left
                    if claim.final and left <= 0 and entry.nominal is None:
                        finals.append(job_id)
            max_age = self._history_max_age
            await self._call(
                self._file.release,
                done,
                records,
                self._history_limit,
                None if max_age is None or not latest else latest - max_age,
                finals,
            )
            for key in done:
                self._firings.pop(key, None)
            for job_id, left in pending.items():
                self._entries[job_id].pending = max(0, left)
            for job_id in finals:
                self._entries.pop(job_id, None)
