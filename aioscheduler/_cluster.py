"""The engine side of shared stores: node identity, leases, self-fencing, store outages.

A shared store (PostgreSQL, Redis) leases each claimed firing to this node. :class:`Leases`
keeps those leases alive with one :meth:`~aioscheduler.stores.Store.extend_leases` call every
``lease / 3`` and, when it cannot renew them in time, cancels the runs itself (self-fencing)
*before* the lease can expire on the server, timed on the monotonic clock: a node cut off from
the store never keeps running work that another node is about to run again. Runs whose lease
was lost are cancelled and their completion is not sent (the store would refuse it anyway); the
firing is run again elsewhere with its attempt counted up.

:class:`Outage` turns store errors into one log line and one event per outage, a backoff for
the callers, and one "recovered" line and event when the store answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any, Protocol

from ._clock import Clock, to_datetime
from ._events import EventHub
from ._values import Job, JobSpec, Outcome
from .errors import StoreError
from .events import (
    Event,
    JobAdded,
    JobPausedAfterFailures,
    JobUpdated,
    LeaseLost,
    StoreRecovered,
    StoreUnavailable,
)
from .stores._base import Claim, ReleaseResult, Store

__all__ = ("Cluster", "ClusterHost", "Outage", "default_node_name", "incarnation_id")

logger = logging.getLogger("aioscheduler.cluster")

#: Backoff after a store error: first wait, doubling up to the max.
RETRY_INITIAL = 0.25
RETRY_MAX = 5.0
#: Leased firings this node holds (claimed, not yet released) before it stops claiming more:
#: a node takes no more work than it can run, so its leases stay renewable under load.
MAX_HELD = 1024
#: Self-fencing happens this long before the lease would expire on the server (at most a
#: quarter of the lease), covering the round trip of the last renewal and clock-rate error.
FENCE_MARGIN_MAX = 2.0

Key = tuple[str, float, int]


def default_node_name() -> str:
    """The default node name: ``host-pid``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def incarnation_id(node_name: str) -> str:
    """A fresh lease-owner id for one opening of the store by ``node_name``."""
    return f"{node_name}#{uuid.uuid4().hex[:10]}"


class ClusterHost(Protocol):
    """What the cluster side needs of the engine."""

    @property
    def node_name(self) -> str:
        """This process's name among the nodes."""

    @property
    def stopping(self) -> bool:
        """Whether the scheduler is stopping."""

    def emit(self, event: Event) -> None:
        """Log and publish a lifecycle event."""

    def spawn_service(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a long-lived internal task of the scheduler (its owner ends it)."""

    def claim_again(self) -> None:
        """Room for more leased work: wake the dispatcher so that it claims again."""

    def cancel_claim(self, claim: Claim, reason: str) -> bool:
        """Cancel the run of ``claim``; False if it does not run here."""

    def job_changed(self, spec: JobSpec, paused: bool) -> None:
        """A job was added, replaced, paused or resumed elsewhere (keep local state in step)."""

    def job_paused(self, job_id: str) -> None:
        """The store paused a job."""


def claim_key(claim: Claim) -> Key:
    return (claim.spec.id, claim.scheduled_at, claim.attempt)


class Outage:
    """Store availability as the engine sees it (see the module docstring)."""

    def __init__(self, clock: Clock, host: ClusterHost) -> None:
        self._clock = clock
        self._host = host
        self._down_since: float | None = None
        self._retry = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException, doing: str) -> float:
        """Note a failed store call; return how long to wait before the next try."""
        clock = self._clock
        self._retry = min(RETRY_MAX, (self._retry * 2) or RETRY_INITIAL)
        if self._down_since is None:
            self._down_since = clock.monotonic()
            logger.error(
                "store unavailable while %s: %s; node %s keeps running and retries with backoff",
                doing,
                str(exc) or type(exc).__name__,
                self._host.node_name,
                extra={"node": self._host.node_name},
            )
            self._host.emit(StoreUnavailable(at=clock.now(), error=str(exc)))
        else:
            logger.debug("store still unavailable while %s: %s", doing, exc)
        return self._retry

    def ok(self) -> None:
        """Note a successful store call (ends an outage)."""
        self._retry = 0.0
        if self._down_since is None:
            return
        clock = self._clock
        downtime = max(0.0, clock.monotonic() - self._down_since)
        self._down_since = None
        logger.warning(
            "store available again after %.1f s (node %s)",
            downtime,
            self._host.node_name,
            extra={"node": self._host.node_name},
        )
        self._host.emit(StoreRecovered(at=clock.now(), downtime=timedelta(seconds=downtime)))


class _Held:
    __slots__ = ("claim", "valid_until")

    def __init__(self, claim: Claim, valid_until: float) -> None:
        self.claim = claim
        self.valid_until = valid_until


class Cluster:
    """Leases, fencing, outages and declared jobs for one scheduler (see the module docstring).

    With a store without leases every method is a cheap no-op.
    """

    def __init__(self, clock: Clock, store: Store, hub: EventHub, host: ClusterHost) -> None:
        self._clock = clock
        self._store = store
        self._hub = hub
        self._host = host
        self.outage = Outage(clock, host)
        self._held: dict[Key, _Held] = {}
        self._fenced: set[Key] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._next_renew = 0.0
        self._closing = False
        self._throttled = False
        self.lost = 0  # leases lost or fenced, for tests and metrics

    # -- claims --------------------------------------------------------------------------------

    def hold(self, claims: Sequence[Claim], sent: float) -> None:
        """Track the leases of ``claims``, granted by a store call sent at monotonic ``sent``."""
        lease = self._store.lease
        if lease is None:
            return
        valid = sent + lease - min(FENCE_MARGIN_MAX, lease / 4)
        held = self._held
        for claim in claims:
            if claim.owner is not None and claim.run:
                held[claim_key(claim)] = _Held(claim, valid)
        if held and (self._task is None or self._task.done()) and not self._closing:
            if not self._next_renew:
                self._next_renew = sent + lease / 3
            self._wake = asyncio.Event()
            self._task = self._host.spawn_service(self._keep())
        elif self._wake is not None:
            self._wake.set()

    @property
    def throttled(self) -> bool:
        """Whether this node holds as many leased firings as it may (it claims no more until
        a release makes room and wakes the dispatcher)."""
        if len(self._held) >= MAX_HELD:
            self._throttled = True
            return True
        return False

    def room(self, limit: int) -> int:
        """How many firings the dispatcher may claim now (``limit`` unless near MAX_HELD)."""
        if not self._held:
            return limit
        room = MAX_HELD - len(self._held)
        if room <= 0:
            self._throttled = True
            return 0
        return min(limit, room)

    def releasable(self, pending: list[tuple[Claim, Any]]) -> list[tuple[Claim, Any]]:
        """The finished runs to send to the store: without those of fenced leases (the store
        would refuse them) and, on a shared store, without runs cancelled by ``stop()`` (their
        firing is released unfinished by ``close()`` and runs again on another node)."""
        if not self._held and not self._fenced:
            return pending
        send: list[tuple[Claim, Any]] = []
        for claim, run in pending:
            key = claim_key(claim) if claim.claimed and claim.owner is not None else None
            if key is None:
                send.append((claim, run))
            elif key in self._fenced:
                self._fenced.discard(key)
            elif (
                run.outcome is Outcome.CANCELLED
                and run.reason == "scheduler stopped"
                and self._host.stopping
            ):
                self._held.pop(key, None)
            else:
                send.append((claim, run))
        return send

    def released(self, batch: Sequence[tuple[Claim, object]], result: ReleaseResult | None) -> None:
        """The store recorded ``batch``: stop renewing, report refusals and pauses."""
        if batch and self.outage.down:  # an empty batch made no round trip: proves nothing
            self.outage.ok()
        held = self._held
        if held:
            for claim, _ in batch:
                if claim.owner is not None:
                    held.pop(claim_key(claim), None)
            if self._throttled and len(held) < MAX_HELD:
                self._throttled = False
                self._host.claim_again()
        if result is None:
            return
        host = self._host
        for claim in result.refused:
            self.lost += 1
            logger.warning(
                "job %r firing %s attempt %d: completion refused, its lease was taken over "
                "by another node (node %s)",
                claim.spec.id,
                to_datetime(claim.scheduled_at),
                claim.attempt,
                host.node_name,
                extra={"job_id": claim.spec.id, "node": host.node_name},
            )
            self._emit_lost(claim, "completion refused: the lease was taken over")
        for job_id, failures in result.paused:
            host.job_paused(job_id)
            logger.warning(
                "job %r paused after %d consecutive failed runs (counted over every node)",
                job_id,
                failures,
                extra={"job_id": job_id},
            )
            host.emit(
                JobPausedAfterFailures(at=self._clock.now(), job_id=job_id, failures=failures)
            )

    def _emit_lost(self, claim: Claim, reason: str) -> None:
        self._host.emit(
            LeaseLost(
                at=self._clock.now(),
                job_id=claim.spec.id,
                scheduled_at=to_datetime(claim.scheduled_at),
                attempt=claim.attempt,
                reason=reason,
            )
        )

    # -- renewal and fencing -------------------------------------------------------------------

    async def _keep(self) -> None:
        """Renew every ``lease / 3``; fence what could not be renewed in time."""
        store = self._store
        clock = self._clock
        lease = store.lease
        assert lease is not None and self._wake is not None
        period = lease / 3
        while self._held and not self._closing:
            now = clock.monotonic()
            expired = [h for h in self._held.values() if h.valid_until <= now]
            if expired:
                self._fence(expired, "lease could not be renewed in time (self-fenced)")
                continue
            if now >= self._next_renew:
                await self._renew(period, lease)
                continue
            deadline = min(h.valid_until for h in self._held.values())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), max(0.0, min(self._next_renew, deadline) - now)
                )
        self._next_renew = 0.0

    async def _renew(self, period: float, lease: float) -> None:
        clock = self._clock
        claims = [h.claim for h in self._held.values()]
        sent = clock.monotonic()
        try:
            async with asyncio.timeout(period):
                lost = await self._store.extend_leases(claims)
        except (StoreError, TimeoutError) as exc:
            delay = self.outage.failed(exc, f"renewing {len(claims)} leases")
            self._next_renew = clock.monotonic() + min(delay, period / 2)
            return
        self.outage.ok()
        self._next_renew = sent + period
        valid = sent + lease - min(FENCE_MARGIN_MAX, lease / 4)
        gone = {claim_key(c) for c in lost}
        fence = []
        for claim in claims:
            held = self._held.get(claim_key(claim))
            if held is None:
                continue  # released meanwhile
            if claim_key(claim) in gone:
                fence.append(held)
            else:
                held.valid_until = max(held.valid_until, valid)
        if fence:
            self._fence(fence, "lease taken over by another node")

    def _fence(self, held: Sequence[_Held], reason: str) -> None:
        host = self._host
        for h in held:
            claim = h.claim
            key = claim_key(claim)
            self._held.pop(key, None)
            self._fenced.add(key)
            self.lost += 1
            cancelled = host.cancel_claim(claim, reason)
            logger.warning(
                "job %r firing %s attempt %d: %s; %s (node %s)",
                claim.spec.id,
                to_datetime(claim.scheduled_at),
                claim.attempt,
                reason,
                "its run is cancelled" if cancelled else "it is no longer running here",
                host.node_name,
                extra={"job_id": claim.spec.id, "node": host.node_name},
            )
            self._emit_lost(claim, reason)

    async def close(self) -> None:
        """Stop renewing (the store's ``close()`` then releases what is left)."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._held.clear()
        self._fenced.clear()
        self._next_renew = 0.0
        self._closing = False

    # -- declared jobs -------------------------------------------------------------------------

    async def declare(self, spec: JobSpec, paused: bool) -> Job:
        """Declare a job on a shared store: added, replaced once, or left alone, atomically."""
        job, what = await self._store.declare_job(spec, now=self._clock.time(), paused=paused)
        self._host.job_changed(spec, job.paused)
        if what != "unchanged" and self._hub.active:
            event: Any = JobAdded if what == "added" else JobUpdated
            self._host.emit(event(at=self._clock.now(), job_id=spec.id, job=job))
        return job
