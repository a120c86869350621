"""The dispatcher: one coroutine that sleeps until the earliest firing, wakes, and hands every
due firing to the runner.

Two sources feed it: the local heap (timers, retries, ``run_now`` and ``Ticks`` firings: things
that live only in this process) and the store (jobs, claimed in batches). It sleeps on a single
wake-up armed for the earliest of both, re-armed only when something earlier arrives, and it
re-reads the wall clock after every wake-up (a step of the wall clock or a host suspend is
detected by comparing it with the monotonic clock, and reported as ``ClockJumped``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta
from typing import TYPE_CHECKING

from ._clock import WakeHandle, to_datetime
from ._heap import DueHeap, HeapEntry
from ._runner import Firing, Runner
from ._timers import Timer
from .errors import StoreError
from .events import ClockJumped

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("Dispatcher",)

logger = logging.getLogger("aioscheduler.dispatcher")

#: Claim at most this many store firings per round (then go round again at once).
CLAIM_BATCH = 256
#: A difference between wall and monotonic elapsed time above this many seconds is a jump.
JUMP_THRESHOLD = 1.0


class Dispatcher:
    """Owns the local heap and the wake-up; see the module docstring."""

    def __init__(self, scheduler: Scheduler, heap: DueHeap, runner: Runner) -> None:
        self._scheduler = scheduler
        self._clock = scheduler._clock
        self._store = scheduler._store
        self._heap = heap
        self._runner = runner
        self._waiter: asyncio.Future[None] | None = None
        self._armed = math.inf
        self._stopping = False
        self._store_retry = 0.0
        self._store_blocked_until = 0.0
        self.sleeping = False
        self.rounds = 0

    # -- wake-ups ------------------------------------------------------------------------------

    def poke(self, due: float) -> None:
        """Something became due at ``due``: wake now if that is earlier than the armed time."""
        if due < self._armed:
            self.wake()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.sleeping = False
        self._armed = -math.inf  # until the loop re-arms, every poke is redundant but cheap

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    # -- one round -----------------------------------------------------------------------------

    def fire_local(self, now: float) -> int:
        """Hand every local entry due by ``now`` to the runner; return how many."""
        due: list[tuple[float, HeapEntry]] = []
        self._heap.pop_due(now, due)
        runner = self._runner
        forget = self._scheduler._local_fired
        for when, entry in due:
            try:
                if type(entry) is Timer:
                    runner.fire_timer(entry, when)
                else:
                    assert isinstance(entry, Firing) and entry.claim is not None
                    forget(entry)
                    runner.fire_claim(entry.claim, entry.attempt)
            except Exception:  # pragma: no cover - a bug must not stop the dispatcher
                logger.exception("handing %r to the runner failed", entry)
        return len(due)

    async def claim_due(self, now: float, limit: int = CLAIM_BATCH) -> int:
        """Claim store firings due by ``now`` and hand them to the runner; return how many."""
        if now < self._store_blocked_until:
            return 0
        cluster = self._scheduler._cluster
        limit = cluster.room(limit)
        if not limit:
            return 0  # enough leased work in hand: claimed again once some is released
        sent = self._clock.monotonic()
        try:
            claims = await self._store.acquire_due(now, limit)
        except Exception as exc:  # a store error, or a bug on a stored row: never fatal
            self._store_retry = cluster.outage.failed(exc, "claiming due jobs")
            self._store_blocked_until = self._clock.time() + self._store_retry
            if not isinstance(exc, StoreError):
                logger.error("claiming due jobs failed (a bug?)", exc_info=exc)
            return 0
        cluster.outage.ok()
        cluster.hold(claims, sent)
        fire = self._runner.fire_claim
        for claim in claims:
            try:
                fire(claim, claim.attempt)
            except Exception:  # pragma: no cover - a bug must not stop the dispatcher
                logger.exception("handing job %r to the runner failed", claim.spec.id)
        return len(claims)

    def next_wake(self) -> float:
        """The earliest time something may be due (``inf``: nothing known)."""
        head = self._heap.peek()
        store_due = None if self._scheduler._cluster.throttled else self._store.next_due()
        nxt = math.inf
        if head is not None:
            nxt = head
        if store_due is not None:
            nxt = min(nxt, max(store_due, self._store_blocked_until))
        poll = self._store.poll_interval()
        if poll is not None:
            nxt = min(nxt, self._last_poll + poll)
        return nxt

    _last_poll = -math.inf

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except BaseException:
            logger.critical("the dispatcher crashed; no firing will run", exc_info=True)
            raise

    async def _run(self) -> None:
        clock = self._clock
        loop = asyncio.get_running_loop()
        store = self._store
        while not self._stopping:
            self.rounds += 1
            now = clock.time()
            self.fire_local(now)
            # a node holding its fill of leased work claims again once some is released
            store_due = None if self._scheduler._cluster.throttled else store.next_due()
            poll = store.poll_interval()
            if (store_due is not None and store_due <= now) or (
                poll is not None and now >= self._last_poll + poll
            ):
                self._last_poll = now
                if await self.claim_due(now) >= CLAIM_BATCH:
                    await asyncio.sleep(0)  # let the claimed runs start: bounded backlog
                    continue
                if self._stopping:
                    break
            nxt = self.next_wake()
            now = clock.time()
            if nxt <= now:
                await asyncio.sleep(0)  # let runs start before the next round
                continue
            await self._sleep(loop, min(nxt, now + clock.max_sleep))

    async def _sleep(self, loop: asyncio.AbstractEventLoop, until: float) -> None:
        clock = self._clock
        wall0, mono0 = clock.time(), clock.monotonic()
        waiter = loop.create_future()
        self._waiter = waiter
        self._armed = until
        handle: WakeHandle = clock.call_at(loop, until, self.wake)
        self.sleeping = True
        try:
            await waiter
        finally:
            self.sleeping = False
            self._waiter = None
            self._armed = math.inf
            handle.cancel()
        drift = (clock.time() - wall0) - (clock.monotonic() - mono0)
        if abs(drift) > JUMP_THRESHOLD:
            logger.warning("wall clock jumped by %+.3f s relative to the monotonic clock", drift)
            hub = self._scheduler._hub
            if hub.active:
                hub.emit(ClockJumped(at=to_datetime(clock.time()), delta=timedelta(seconds=drift)))
