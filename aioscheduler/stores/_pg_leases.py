"""The PostgreSQL store's leases and completions: renewal of a node's leases in one
statement, the listing of leased firings, and the release of finished runs fenced by
(owner, attempt), with the history rows and the cluster-wide count of consecutive failures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .._clock import to_datetime
from .._values import Outcome, Run
from ._base import Claim, ReleaseResult
from ._codec import encode_run
from ._pg_node import PgNode

__all__ = ("Lease", "PgLeases")

logger = logging.getLogger("aioscheduler.stores.postgres")

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


class PgLeases(PgNode):
    """Part of the store: lease renewal and fenced releases (see the module docstring)."""

    stale_completions: int

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
        fence: tuple[list[Any], ...] = ([], [], [])
        hist: tuple[list[Any], ...] = ([], [], [], [])
        f_ids, f_slots, f_attempts = fence
        h_ids, h_slots, h_finished, h_records = hist
        leased_at: dict[tuple[str, float, int], int] = {}  # fence key -> index in runs
        finals: list[str] = []
        keep = self._history_limit
        seal = self._codec.seal
        for i, (claim, run) in enumerate(runs):
            job_id = claim.spec.id
            leased = claim.claimed and claim.owner is not None
            if leased:
                f_ids.append(job_id)
                f_slots.append(claim.scheduled_at)
                f_attempts.append(claim.attempt)
                leased_at.setdefault((job_id, claim.scheduled_at, claim.attempt), i)
            if keep:
                h_ids.append(job_id)
                h_slots.append(claim.scheduled_at if leased else None)
                h_finished.append((run.finished_at or run.scheduled_at).timestamp())
                h_records.append(seal(encode_run(run, run.attempt)))
            if claim.final and claim.claimed:
                finals.append(job_id)
        sql = self._sql
        paused: list[tuple[str, int]] = []
        async with self._db.connection(f"recording {len(runs)} finished runs") as conn:
            rows = await conn.fetch(sql.release, self._t(), self._owner(), *fence, *hist)
            accepted = {leased_at[(r[0], r[1], r[2])] for r in rows}
            tally = _failures(runs, leased_at.values(), accepted)
            if tally[0]:
                paused = [(r[0], r[1]) for r in await conn.fetch(sql.failures, *tally) if r[2]]
            if finals:
                await conn.execute(sql.drop_finals, finals)
        refused = tuple(runs[i][0] for i in leased_at.values() if i not in accepted)
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
    runs: Sequence[tuple[Claim, Run]], leased: Iterable[int], accepted: set[int]
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
