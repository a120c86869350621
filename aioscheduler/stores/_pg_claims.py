"""The PostgreSQL store's hot path: claim (with advance), lease renewal, fenced release.

A mixin of :class:`~aioscheduler.stores.postgres.PostgresStore`; see that module for the
protocol. One claim is one transaction: ``claim_select`` locks the due jobs and the firings
whose lease expired (``SKIP LOCKED``: nodes never wait for each other) and reads the server's
clock; Python plans the firings; ``claim_write`` advances the jobs, inserts one row per
``(job id, slot)`` (a slot that exists already is never claimed again), takes over the expired
leases and revokes leases for ``overlap="replace"``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import JobSpec, Outcome, Run
from ._base import Claim, ReleaseResult, StoreContext
from ._codec import decode_spec, encode_run
from ._pg_conn import Database
from ._pg_options import Options
from ._pg_sql import Statements
from ._pg_state import NodeState
from ._planning import MAX_BACKLOG_PER_ACQUIRE, jitter_offset, plan

__all__ = ("Lease", "PgClaims")

logger = logging.getLogger("aioscheduler.stores.postgres")

#: A job of ``overlap="queue"`` running on another node is looked at again after this long.
QUEUE_RETRY = 0.5
#: Seconds between two cleanups of finished firings past their retention.
HOUSEKEEPING_EVERY = 60.0
_FAILED = (Outcome.ERROR, Outcome.TIMEOUT)
_NOT_COUNTED = (Outcome.SKIPPED, Outcome.MISSED, Outcome.CANCELLED)


class Lease(NamedTuple):
    """A leased firing as ``aioscheduler jobs`` shows it."""

    job_id: str
    scheduled_at: float
    node: str
    owner: str
    attempt: int
    expires_in: float


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
        for column, value in zip(self.new, (job_id, slot, run_at, missed, run, fin), strict=True):
            column.append(value)


def _run_at(spec: JobSpec, nominal: float | None) -> float | None:
    if nominal is None:
        return None
    return nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)


class PgClaims:
    """Mixin: claims, leases and releases of the PostgreSQL store (see the module docstring)."""

    _db: Database
    _sql: Statements
    _opts: Options
    _codec: PayloadCodec
    _state: NodeState
    _context: StoreContext | None
    _history_limit: int
    stale_completions: int

    # -- time and identity ---------------------------------------------------------------------

    def _t(self, hint: float | None = None) -> float | None:
        """The ``$1`` of a statement: ``None`` (the server's clock) unless in node-clock mode."""
        if self._opts.clock == "server":
            return None
        if hint is not None:
            return hint
        return self._context.time() if self._context is not None else None

    def _server_now(self, hint: float) -> float:
        """Best estimate of the server's clock now (for a first firing)."""
        if self._opts.clock == "node":
            return hint
        node = self._context.time() if self._context is not None else hint
        return node + self._state.offset

    def _owner(self) -> str:
        return self._context.node_id if self._context is not None else ""

    def _wake(self, server_due: float) -> None:
        state = self._state
        if state.next_due is None or server_due < state.next_due:
            state.next_due = server_due
        if self._context is not None:
            self._context.wakeup(server_due - state.offset)

    def next_due(self) -> float | None:
        state = self._state
        due = state.next_due
        if state.deferred:
            soonest = min(state.deferred.values())
            due = soonest if due is None else min(due, soonest)
        return None if due is None else due - state.offset

    def _spec(self, job_id: str, version: int, payload: bytes) -> JobSpec | None:
        """The decoded definition of a row (cached by version); ``None`` for a broken one."""
        specs = self._state.specs
        spec = specs.get((job_id, version))
        if spec is not None:
            return spec
        try:
            admission = self._context.admission if self._context is not None else None
            spec = decode_spec(job_id, bytes(payload), self._codec, admission)
        except Exception as exc:  # tampered, unimportable, malformed: report, skip, keep the row
            self._broken(job_id, version, f"{type(exc).__name__}: {exc}")
            return None
        if len(specs) > 50_000:
            specs.clear()
        specs[(job_id, version)] = spec
        self._state.broken.pop(job_id, None)
        self._state.reasons.pop(job_id, None)
        self._state.reported.pop(job_id, None)
        return spec

    def _broken(self, job_id: str, version: int, reason: str) -> None:
        """Skip a row that cannot be loaded; report each broken version once."""
        state = self._state
        state.broken[job_id] = version
        if state.reported.get(job_id) != version:
            state.reported[job_id] = version
            state.reasons[job_id] = reason
            logger.error("stored job %r is broken and skipped: %s", job_id, reason)
            if self._context is not None:
                self._context.on_broken(job_id, reason)

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

    # -- leases --------------------------------------------------------------------------------

    async def extend_leases(self, claims: Sequence[Claim]) -> list[Claim]:
        mine = [c for c in claims if c.owner is not None]
        if not mine:
            return []
        async with self._db.connection("renewing leases") as conn:
            rows = await conn.fetch(
                self._sql.extend,
                self._t(),
                self._owner(),
                self._opts.lease,
                [c.spec.id for c in mine],
                [c.scheduled_at for c in mine],
                [c.attempt for c in mine],
            )
        kept = {(r[0], r[1], r[2]) for r in rows}
        return [c for c in mine if (c.spec.id, c.scheduled_at, c.attempt) not in kept]

    async def leases(self) -> list[Lease]:
        """The firings leased right now, by job: node, attempt, seconds to expiry."""
        async with self._db.connection("listing leases") as conn:
            rows = await conn.fetch(self._sql.leases, self._t())
        return [Lease(r[0], r[1], r[2], r[3], r[4], r[5] - r[6]) for r in rows]

    # -- release -------------------------------------------------------------------------------

    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> ReleaseResult | None:
        if not runs:
            return None
        fence: tuple[list[Any], ...] = ([], [], [], [])
        hist: tuple[list[Any], ...] = ([], [], [], [])
        finals: list[str] = []
        keep = self._history_limit
        for i, (claim, run) in enumerate(runs):
            job_id = claim.spec.id
            leased = claim.claimed and claim.owner is not None
            if leased:
                for column, value in zip(
                    fence, (job_id, claim.scheduled_at, claim.attempt, i), strict=True
                ):
                    column.append(value)
            if keep:
                finished = (run.finished_at or run.scheduled_at).timestamp()
                record = self._codec.seal(encode_run(run, run.attempt))
                for column, value in zip(
                    hist, (job_id, finished, record, i if leased else -1), strict=True
                ):
                    column.append(value)
            if claim.final and claim.claimed:
                finals.append(job_id)
        sql = self._sql
        paused: list[tuple[str, int]] = []
        async with self._db.connection(f"recording {len(runs)} finished runs") as conn:
            accepted = {
                r[0] for r in await conn.fetch(sql.release, self._t(), self._owner(), *fence, *hist)
            }
            tally = _failures(runs, fence[3], accepted)
            if tally[0]:
                paused = [(r[0], r[1]) for r in await conn.fetch(sql.failures, *tally) if r[2]]
            if finals:
                await conn.execute(sql.drop_finals, finals)
        refused = tuple(runs[i][0] for i in fence[3] if i not in accepted)
        if refused:
            self.stale_completions += len(refused)
            for claim in refused:
                logger.warning(
                    "refused the completion of job %r firing %s attempt %d: its lease was "
                    "taken over by another node",
                    claim.spec.id,
                    to_datetime(claim.scheduled_at),
                    claim.attempt,
                )
        if refused or paused:
            return ReleaseResult(refused, tuple(paused))
        return None


def _failures(
    runs: Sequence[tuple[Claim, Run]], leased: list[int], accepted: set[int]
) -> tuple[list[str], list[bool], list[int], list[int]]:
    """Consecutive-failure updates for jobs with ``pause_after_failures``: per job, whether a
    success resets the count, and the failures after the last success."""
    leased_set = set(leased)
    per_job: dict[str, list[Any]] = {}
    for i, (claim, run) in enumerate(runs):
        options = claim.spec.options
        k = options.pause_after_failures
        if k is None or run.outcome in _NOT_COUNTED or run.outcome is None:
            continue
        if i in leased_set and i not in accepted:
            continue  # refused: not this node's run to count
        entry = per_job.setdefault(claim.spec.id, [False, 0, k])
        if run.outcome in _FAILED:
            retried = run.attempt <= options.retries and isinstance(run.error, options.retry_on)
            if not retried:
                entry[1] += 1
        else:
            entry[0], entry[1] = True, 0
    ids = list(per_job)
    return (
        ids,
        [per_job[i][0] for i in ids],
        [per_job[i][1] for i in ids],
        [per_job[i][2] for i in ids],
    )
