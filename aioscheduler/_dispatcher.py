"""The dispatcher: one coroutine that sleeps until the earliest firing, wakes, and hands every
due firing to the runner. It owns the local heap and the hand-off from other threads.

Two sources feed it: the local heap (timers, retries, ``run_now`` and ``Ticks`` firings: things
that live only in this process) and the store (jobs, claimed in batches). It sleeps on a single
wake-up armed for the earliest of both, re-armed only when something earlier arrives, and it
re-reads the wall clock after every wake-up (a step of the wall clock or a host suspend is
detected by comparing it with the monotonic clock, and reported as ``ClockJumped``).

Entries reach the local heap from any thread (:meth:`Dispatcher.push_local`): on the loop
thread they go straight in; from another thread they travel by ``call_soon_threadsafe``; while
no loop runs they wait in the heap for the next start.

A store error (:class:`~aioscheduler.errors.StoreError`) while claiming is an outage: backed
off and retried, never fatal. Any other exception is a bug: it ends :meth:`Dispatcher.run`,
and the supervising task group (``_engine.py``) stops the scheduler with it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Collection, Mapping
from datetime import timedelta

from ._clock import Clock, WakeHandle, to_datetime
from ._cluster import Cluster
from ._events import EventHub
from ._firing import Firing
from ._gcfreeze import Freezer
from ._heap import DueHeap, HeapEntry
from ._runner import Runner
from ._timers import Timer
from .errors import StoreError
from .events import ClockJumped
from .stores._base import Store

__all__ = ("Dispatcher",)

logger = logging.getLogger("aioscheduler.dispatcher")

#: Claim at most this many store firings per round (then go round again at once).
CLAIM_BATCH = 256
#: Hand at most this many local entries (timers...) to the runner per round, then let them
#: start (``sleep(0)``) before the next batch: as for claims, a bounded number of runs in
#: flight. 1e5 timers due at once made 1e5 tasks at once, and the collector's full passes
#: walked them all (0.8 s of 1.4 s at 1e5; see devnotes/2026-11-27-s4/issue-11-timers.md).
LOCAL_BATCH = 256
#: Back-pressure: while this many claimed firings wait in backlog chains (``coalesce=False``
#: catch-up, one run at a time per job) and the chains move, no more is claimed: claiming
#: ahead of a saturated loop only lengthens the chains (see :meth:`Dispatcher.run`).
MAX_CHAINED = 4096
#: A difference between wall and monotonic elapsed time above this many seconds is a jump.
JUMP_THRESHOLD = 1.0


class Dispatcher:
    """Owns the local heap and the wake-up; see the module docstring."""

    def __init__(
        self, clock: Clock, store: Store, runner: Runner, cluster: Cluster, hub: EventHub
    ) -> None:
        self._clock = clock
        self._store = store
        self._runner = runner
        self._cluster = cluster
        self._hub = hub
        self._heap = DueHeap()
        self._local: dict[str, set[Firing]] = {}  # job id -> its firings in the local heap
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._armed = math.inf
        self._stopping = False
        self._store_retry = 0.0
        self._store_blocked_until = 0.0
        self._last_poll = -math.inf
        self.sleeping = False
        self.rounds = 0
        self._unchained = 0  # JobRuns.unchained at the last deferred claim
        #: gc.freeze() after many timers, as after many jobs (see _gcfreeze.py): 1e5 pending
        #: timers and their heap tuples were walked by every full pass while timers fired
        self._freezer = Freezer()

    # -- the loop it belongs to ------------------------------------------------------------------

    def unbind(self) -> None:
        """No loop any more (stopped): pushed entries wait in the heap for the next start."""
        with self._lock:
            self._loop = None
            self._loop_thread = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` from the current thread, with a fresh round state."""
        with self._lock:
            self._loop = loop
            self._loop_thread = threading.get_ident()
        self._armed = math.inf
        self._waiter = None
        self._stopping = False
        self._store_retry = 0.0
        self._store_blocked_until = 0.0
        self._last_poll = -math.inf
        self.sleeping = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop it serves, while the scheduler runs."""
        return self._loop

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's thread (or no loop is bound)."""
        return self._loop_thread is None or self._loop_thread == threading.get_ident()

    # -- the local heap --------------------------------------------------------------------------

    def __len__(self) -> int:
        """Live entries in the local heap."""
        return len(self._heap)

    def next_local(self) -> float | None:
        """The earliest due time in the local heap."""
        return self._heap.peek()

    def push_local(self, due: float, entry: Timer | Firing) -> None:
        """Put a timer or a local job firing (retry, run_now, Ticks, backfill) on the heap;
        safe from any thread."""
        if isinstance(entry, Firing) and entry.spec is not None:
            self._local.setdefault(entry.spec.id, set()).add(entry)
        if self.in_loop_thread():
            with self._lock:
                if self.in_loop_thread():
                    self._heap.push(due, entry)
                    self.poke(due)
                    if self._loop is not None and type(entry) is Timer:
                        self._timer_added()
                    return
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._push_if_live, due, entry)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        with self._lock:  # stopped meanwhile: the entry waits for the next start
            self._heap.push(due, entry)

    def _timer_added(self) -> None:
        # not contextlib.suppress: this runs once per call_at(), and try costs nothing
        try:  # noqa: SIM105
            self._freezer.added()
        except RuntimeError:  # bound, but called while its loop does not run: no settle
            pass

    def _push_if_live(self, due: float, entry: Timer | Firing) -> None:
        if isinstance(entry, Timer) and entry.cancelled:
            entry.end()
            return
        self._heap.push(due, entry)
        self.poke(due)

    def _local_fired(self, entry: Firing) -> None:
        """A local job firing left the heap (it is handed to the runner)."""
        assert entry.spec is not None
        firings = self._local.get(entry.spec.id)
        if firings is not None:
            firings.discard(entry)
            if not firings:
                del self._local[entry.spec.id]

    def drop_local(self, job_id: str) -> set[Firing] | tuple[()]:
        """Take the job's pending local firings off the heap (the job was removed)."""
        firings = self._local.pop(job_id, None)
        if firings is None:
            return ()  # the common case: no set made per remove()
        for firing in firings:
            self._heap.discard(firing)
        return firings

    def reschedule_timer(self, timer: Timer, due: float) -> None:
        """Put a timer that ran back on the heap at ``due`` (on the loop thread)."""
        timer.set_due(due)
        self._heap.push(due, timer)
        self.poke(due)

    def cancel_timer(self, timer: Timer) -> None:
        """Take a cancelled timer off the heap and end it; a running one ends when its run
        returns. Safe from any thread."""
        if timer.running:
            return  # the run ends it when it returns
        if self.in_loop_thread():
            self._heap.discard(timer)
            timer.end()
        else:
            loop = self._loop
            assert loop is not None
            loop.call_soon_threadsafe(self.cancel_timer, timer)

    def clear_local(self) -> list[HeapEntry]:
        """Empty the heap (the scheduler stops); return what was in it."""
        entries = self._heap.clear()
        self._local.clear()
        return entries

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

    def fire_local(self, now: float, limit: int = -1) -> int:
        """Hand the local entries due by ``now`` (at most ``limit`` of them, -1: all) to the
        runner, in due order; return how many."""
        due: list[tuple[float, HeapEntry]] = []
        self._heap.pop_due(now, due, limit)
        runner = self._runner
        forget = self._local_fired
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
        cluster = self._cluster
        limit = cluster.room(limit)
        if not limit:
            return 0  # enough leased work in hand: claimed again once some is released
        sent = self._clock.monotonic()
        try:
            claims = await self._store.acquire_due(now, limit)
        except StoreError as exc:  # an outage: backed off and retried, never fatal
            self._store_retry = cluster.outage.failed(exc, "claiming due jobs")
            self._store_blocked_until = self._clock.time() + self._store_retry
            return 0
        # any other exception is a bug: it propagates and stops the scheduler (see run())
        cluster.outage.ok()
        cluster.hold(claims, sent)
        fire = self._runner.jobs.fire_claim  # Runner.fire_claim without its extra call
        for claim in claims:
            try:
                fire(claim, claim.attempt)
            except Exception:  # pragma: no cover - a bug must not stop the dispatcher
                logger.exception("handing job %r to the runner failed", claim.spec.id)
        return len(claims)

    def next_wake(self) -> float:
        """The earliest time something may be due (``inf``: nothing known)."""
        store_due = None if self._cluster.throttled else self._store.next_due()
        return self._wake_at(self._heap.peek(), store_due, self._store.poll_interval())

    def _wake_at(self, head: float | None, store_due: float | None, poll: float | None) -> float:
        """:meth:`next_wake` from what was read: the local heap's head, the store's next due
        time (``None`` while throttled) and its poll interval."""
        nxt = math.inf if head is None else head
        if store_due is not None:
            nxt = min(nxt, max(store_due, self._store_blocked_until))
        if poll is not None:
            nxt = min(nxt, self._last_poll + poll)
        return nxt

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until :meth:`stop`. An exception here is a bug: it propagates to the
        supervising task group, which stops the scheduler."""
        clock = self._clock
        time = clock.time
        loop = asyncio.get_running_loop()
        store = self._store
        cluster = self._cluster
        peek = self._heap.peek
        # A round's fixed cost weighs as much as a firing's (10,000 jobs every second: ~2,300
        # rounds a second, ~4.6 firings each), so the common round makes few calls: the
        # local heap is popped only when its head is due, the store is not asked twice.
        while not self._stopping:
            self.rounds += 1
            now = time()
            head = peek()
            if head is not None and head <= now:
                self.fire_local(now, LOCAL_BATCH)  # more due: sleep(0) below
            # a node holding its fill of leased work claims again once some is released
            store_due = None if cluster.throttled else store.next_due()
            poll = store.poll_interval()
            if (store_due is not None and store_due <= now) or (
                poll is not None and now >= self._last_poll + poll
            ):
                if self._defer_claims():
                    await asyncio.sleep(0)  # the runner works off its chains first
                    continue
                self._last_poll = now
                if await self.claim_due(now) >= CLAIM_BATCH:
                    await asyncio.sleep(0)  # let the claimed runs start: bounded backlog
                    continue
                if self._stopping:
                    break
                store_due = None if cluster.throttled else store.next_due()
                poll = store.poll_interval()
            nxt = self._wake_at(peek(), store_due, poll)  # next_wake(), from what was read
            now = time()
            if nxt <= now:
                await asyncio.sleep(0)  # let runs start before the next round
                continue
            await self._sleep(loop, min(nxt, now + clock.max_sleep))

    def _defer_claims(self) -> bool:
        """Whether to claim nothing this round: :data:`MAX_CHAINED` claimed firings wait in
        backlog chains and some left a chain since the last deferred round. A saturated loop
        falls behind every ``coalesce=False`` job at once: each claim then brings every due slot
        of a job, which waits in its chain, and claims crowd out the runs (10,000 jobs every
        100 ms: 22% fired). Chains that do not move (a job's run hangs) never hold claims
        back."""
        jobs = self._runner.jobs
        if jobs.chained < MAX_CHAINED or jobs.unchained == self._unchained:
            return False
        self._unchained = jobs.unchained
        return True

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
            hub = self._hub
            if hub.active:
                hub.emit(ClockJumped(at=to_datetime(clock.time()), delta=timedelta(seconds=drift)))

    def local_firings(self) -> Mapping[str, Collection[Firing]]:
        """Job id -> its firings in the local heap (what :meth:`drop_local` takes): the same
        dict for the dispatcher's life, read-only, so a caller may keep it and look a job up
        without a call (``remove()``)."""
        return self._local
