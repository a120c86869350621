"""The PostgreSQL store's claim path: claim due firings (with advance) and expired leases.

A part of :class:`~aioscheduler.stores.postgres.PostgresStore`; see that module for the
protocol. One claim is one transaction: ``claim_select`` locks the due jobs and the firings
whose lease expired (``SKIP LOCKED``: nodes never wait for each other) and reads the server's
clock; Python plans the firings; ``claim_write`` advances the jobs, inserts one row per
``(job id, slot)`` (a slot that exists already is never claimed again), takes over the expired
leases and revokes leases for ``overlap="replace"``.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from .._values import JobSpec
from ._base import Claim
from ._pg_node import PgNode
from ._planning import MAX_BACKLOG_PER_ACQUIRE, jitter_offset, plan

__all__ = ("PgClaims",)

logger = logging.getLogger("aioscheduler.stores.postgres")

#: A job of ``overlap="queue"`` running on another node is looked at again after this long.
QUEUE_RETRY = 0.5
#: Seconds between two cleanups of finished firings past their retention.
HOUSEKEEPING_EVERY = 60.0


class _Writes:
    """The rows one claim transaction writes (column arrays for ``unnest``)."""

    def __init__(self) -> None:
        self.adv: tuple[list[str], list[float | None], list[float | None]] = ([], [], [])
        self.new: tuple[list[Any], ...] = ([], [], [], [], [], [])
        self.again: tuple[list[str], list[float], list[bool]] = ([], [], [])
        self.revoke: list[str] = []
        self.pause: list[str] = []

    def firing(
        self, job_id: str, slot: float, run_at: float, missed: int, run: bool, fin: bool
    ) -> None:
        ids, slots, run_ats, misseds, runs, finals = self.new
        ids.append(job_id)
        slots.append(slot)
        run_ats.append(run_at)
        misseds.append(missed)
        runs.append(run)
        finals.append(fin)


def _run_at(spec: JobSpec, nominal: float | None) -> float | None:
    if nominal is None:
        return None
    return nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)


class PgClaims(PgNode):
    """Part of the store: claims of due firings and expired leases (see the module docstring)."""

    # -- claim ---------------------------------------------------------------------------------

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        assert self._context is not None, "the store is not open"
        context, state, sql = self._context, self._state, self._sql
        me = context.node_id
        sent = context.time()
        horizon = sent + state.offset
        for job_id, until in list(state.deferred.items()):
            if until <= horizon:
                del state.deferred[job_id]
        skip = [*state.broken, *state.deferred]
        claims: list[Claim] = []
        w = _Writes()
        async with self._db.connection("claiming due jobs") as conn, conn.transaction():
            rows = await conn.fetch(sql.claim_select, self._t(now), limit, me, skip, limit)
            server_now = rows[-1]["now"]  # the peek row is always there
            due_rows = orphan_rows = 0
            for row in rows:
                kind = row["kind"]
                if kind == 0:
                    due_rows += 1
                    mark = len(claims), len(w.new[0])
                    try:
                        self._plan_due(row, server_now, claims, w)
                    except Exception as exc:  # a trigger that raises: pause the job, go on
                        del claims[mark[0] :]
                        for column in w.new:
                            del column[mark[1] :]
                        self._poisoned(row["id"], exc, w)
                elif kind == 1:
                    orphan_rows += 1
                    self._plan_orphan(row, server_now, claims, w)
            inserted: set[tuple[str, float]] = set()
            if w.adv[0] or w.again[0] or w.new[0] or w.pause:
                got = await conn.fetch(
                    sql.claim_write,
                    server_now,
                    me,
                    context.node_name or me,
                    self._opts.lease,
                    *w.adv,
                    *w.new,
                    *w.again,
                    w.revoke,
                    w.pause,
                )
                inserted = {(r[0], r[1]) for r in got}
        if self._opts.clock == "server":
            state.offset = server_now - (sent + context.time()) / 2
        peek = rows[-1]
        soon = [peek["run_at"], peek["slot"], *w.adv[2]]
        if due_rows >= limit or orphan_rows >= limit:
            soon.append(server_now)  # more is due than one batch took
        state.next_due = min((t for t in soon if t is not None), default=None)
        if server_now >= state.housekeeping_at:
            await self._housekeep(server_now)
        # a slot already in the table (claimed before, by anyone) is never handed out again
        return [c for c in claims if c.attempt > 1 or (c.spec.id, c.scheduled_at) in inserted]

    def _plan_due(self, row: Any, now: float, claims: list[Claim], w: _Writes) -> None:
        job_id = row["id"]
        spec = self._spec(job_id, row["version"], row["payload"])
        if spec is None:
            return
        options = spec.options
        running = row["running"]
        if running and options.overlap == "queue":
            # one waits: the firing stays due until the other node's run ends
            self._state.deferred[job_id] = now + QUEUE_RETRY
            return
        me = self._owner()
        nominal, run_at = row["nominal"], row["run_at"]
        for _ in range(MAX_BACKLOG_PER_ACQUIRE):
            jitter = run_at - nominal if run_at is not None else 0.0
            p = plan(spec.trigger, nominal, now, options.misfire_grace, options.coalesce, jitter)
            nominal = p.next_nominal
            claim_at = run_at if run_at is not None else p.scheduled_at
            final = nominal is None
            claims.append(
                Claim(
                    spec, p.scheduled_at, claim_at, p.missed, p.run, final,
                    owner=me if p.run else None, running=running,
                )
            )  # fmt: skip
            w.firing(job_id, p.scheduled_at, claim_at, p.missed, p.run, final)
            run_at = _run_at(spec, nominal)
            if run_at is None or run_at > now:
                break
        w.adv[0].append(job_id)
        w.adv[1].append(nominal)
        w.adv[2].append(run_at)
        if running and options.overlap == "replace":
            w.revoke.append(job_id)

    def _poisoned(self, job_id: str, exc: Exception, w: _Writes) -> None:
        reason = f"its trigger failed, job paused: {type(exc).__name__}: {exc}"
        logger.error("job %r: %s", job_id, reason, exc_info=exc)
        w.pause.append(job_id)
        if self._context is not None:
            self._context.on_broken(job_id, reason)

    def _plan_orphan(self, row: Any, now: float, claims: list[Claim], w: _Writes) -> None:
        job_id = row["id"]
        spec = self._spec(job_id, row["version"], row["payload"])
        if spec is None:
            return
        attempt, slot, run_at = row["attempt"] + 1, row["slot"], row["run_at"]
        missed, final = row["missed"], row["final"]
        if spec.options.delivery == "at-most-once":
            claims.append(
                Claim(spec, slot, run_at, max(1, missed), False, final, attempt=attempt, lost=True)
            )
            done = True
        else:
            grace = spec.options.misfire_grace
            run = not (grace is not None and now - run_at > grace)  # recovered too late: missed
            claims.append(
                Claim(
                    spec, slot, run_at, missed + (not run), run, final, attempt=attempt,
                    owner=self._owner() if run else None,
                )
            )  # fmt: skip
            done = not run
        w.again[0].append(job_id)
        w.again[1].append(slot)
        w.again[2].append(done)

    async def _housekeep(self, now: float) -> None:
        self._state.housekeeping_at = now + HOUSEKEEPING_EVERY * random.uniform(0.8, 1.2)
        self._state.broken.clear()  # look at broken rows again (they may have been replaced)
        async with self._db.connection("cleaning up old firings", self._opts.timeout * 6) as conn:
            await conn.fetchval(self._sql.housekeep, self._t(), self._opts.retention)
            await conn.execute(self._sql.trim_runs, self._history_limit)
