"""A deterministic clock for tests: time moves only when the test says so."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from .._clock import Clock, WakeHandle, to_datetime

if TYPE_CHECKING:
    from .._scheduler import Scheduler

__all__ = ("FakeClock",)

#: Loop iterations without any progress after which settling concludes that what still runs
#: waits on something outside the scheduler.
IDLE_ROUNDS = 20
#: Real seconds settling waits for a worker-thread run to finish before it treats the run as
#: blocked on something outside the scheduler (so a hung run's timeout can still be reached).
THREAD_WAIT = 0.5
#: Real seconds settling waits for a store's I/O (its worker thread, a network round trip)
#: before it gives up on it; a store's operations normally take milliseconds.
STORE_IO_WAIT = 30.0
#: Real seconds between two looks at a store's I/O while waiting for it.
STORE_IO_POLL = 0.001


def _seconds(value: float | timedelta, what: str) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{what} takes seconds or a timedelta, got {value!r}")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"{what} cannot move time backwards: got {value!r}")
    return seconds


class FakeClock(Clock):
    """Test clock for ``Scheduler(clock=FakeClock(start))``.

    ``await clock.advance(seconds)`` moves time forward firing by firing, in due order, with
    :meth:`now` equal to each firing's due time while it runs, and returns once every firing
    due by the new time has run and finished and the store has recorded it (unless a run
    waits on something outside the scheduler). It waits for a persistent store's I/O too, so
    tests on SQLite are as deterministic as on memory. On a scheduler that was never started
    it raises :class:`~aioscheduler.errors.SchedulerStateError` (nothing would run).

    ``clock.jump(seconds)`` moves the wall clock at once without running anything in between,
    like a suspended host or a clock step: the next ``advance`` (``advance(0)`` will do) then
    sees firings that are late, so misfire and coalescing rules apply.

    Example::

        clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
        scheduler = Scheduler(clock=clock)
        await scheduler.add(tick, Every(seconds=10))
        async with scheduler:
            await clock.advance(30)      # tick ran three times
    """

    max_sleep = 60.0

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 1, tzinfo=to_datetime(0).tzinfo)
        if not isinstance(start, datetime):
            raise TypeError(f"start must be a datetime, got {start!r}")
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got naive {start.isoformat()}")
        self._wall = start.timestamp()
        self._mono = 0.0
        self._wakes: list[tuple[float, int, asyncio.AbstractEventLoop, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()
        # each scheduler with its "the clock was stepped" hook
        self._schedulers: weakref.WeakKeyDictionary[Scheduler, Callable[[], None]] = (
            weakref.WeakKeyDictionary()
        )

    # -- Clock ---------------------------------------------------------------------------------

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def call_at(
        self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]
    ) -> WakeHandle:
        seq = next(self._seq)
        if when <= self._wall:
            handle = loop.call_soon(callback)
            return WakeHandle(handle.cancel)
        heapq.heappush(self._wakes, (when, seq, loop, callback))
        return WakeHandle(lambda: self._cancelled.add(seq))

    def attach(self, scheduler: object, stepped: Callable[[], None]) -> None:
        self._schedulers[cast("Scheduler", scheduler)] = stepped

    # -- moving time ---------------------------------------------------------------------------

    def _next_wake(self) -> float | None:
        wakes = self._wakes
        while wakes and wakes[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(wakes)[1])
        return wakes[0][0] if wakes else None

    def _fire_wakes(self) -> None:
        wakes = self._wakes
        while wakes and wakes[0][0] <= self._wall:
            _, seq, loop, callback = heapq.heappop(wakes)
            if seq in self._cancelled:
                self._cancelled.discard(seq)
                continue
            loop.call_soon(callback)

    async def advance(self, seconds: float | timedelta) -> None:
        """Move time forward by ``seconds`` (or a timedelta), running every firing due on the
        way at its own due time; return when they have all finished."""
        target = self._wall + _seconds(seconds, "advance()")
        self._check_started()
        await self.settle()
        while True:
            nxt = self._next_wake()
            if nxt is None or nxt > target:
                break
            if nxt > self._wall:
                self._mono += nxt - self._wall
                self._wall = nxt
            self._fire_wakes()
            await self.settle()
        self._mono += target - self._wall
        self._wall = target
        self._fire_wakes()
        await self.settle()

    def _check_started(self) -> None:
        schedulers = list(self._schedulers)
        if any(s.running for s in schedulers):
            return
        never = [s for s in schedulers if not s.statistics().starts]
        if never:
            from ..errors import SchedulerStateError

            raise SchedulerStateError(
                f"FakeClock.advance() runs what a running scheduler has due, but {never[0]!r} "
                "was never started, so nothing would run: start it first (async with "
                "scheduler: ...), or drive it without starting it: clock.jump(seconds), then "
                "await scheduler.run_pending()"
            )

    def jump(self, seconds: float | timedelta) -> None:
        """Move the wall clock forward at once, running nothing in between (a host suspend or
        a clock step). The monotonic clock does not move, so schedulers see a clock jump."""
        self._wall += _seconds(seconds, "jump()")
        for stepped in list(self._schedulers.values()):
            stepped()

    async def settle(self) -> None:
        """Wait until every attached scheduler is quiet: nothing due now, no run that can make
        progress. Runs on worker threads are waited for (up to ``THREAD_WAIT`` real seconds
        without any finishing; a hung one is then left running, so that its timeout can be
        reached); a coroutine that waits on something outside the scheduler is left waiting."""
        idle_rounds = 0
        last: int | None = None
        stuck = False
        io_since: float | None = None
        while idle_rounds < IDLE_ROUNDS:
            await asyncio.sleep(0)
            all_idle = True
            progress = 0
            threads: list[Scheduler] = []
            io = False
            for scheduler in list(self._schedulers):
                stats = scheduler.statistics()
                io = io or scheduler.store.io_in_flight() > 0
                all_idle = all_idle and stats.idle and not io
                progress += stats.progress
                if stats.threads:
                    threads.append(scheduler)
            if all_idle:
                return
            if io:  # a store is half-way through a claim or a release: wait for it
                now = time.monotonic()
                io_since = now if io_since is None else io_since
                if now - io_since < STORE_IO_WAIT:
                    await asyncio.sleep(STORE_IO_POLL)
                    idle_rounds = 0
                    continue
            else:
                io_since = None
            if threads and not stuck:
                if not await _thread_finished(threads, THREAD_WAIT):
                    stuck = True  # a thread run that hangs waits on something outside
                idle_rounds = 0
                continue
            if progress == last:
                idle_rounds += 1
            else:
                idle_rounds = 0
                last = progress

    def __repr__(self) -> str:
        return f"<FakeClock {to_datetime(self._wall).isoformat()}>"


async def _thread_finished(schedulers: list[Scheduler], limit: float) -> bool:
    """Wait (real time, up to ``limit`` seconds) until a worker-thread run of one of
    ``schedulers`` finishes; return whether one did."""
    before = [s.statistics().threads_finished for s in schedulers]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(STORE_IO_POLL)
        if [s.statistics().threads_finished for s in schedulers] != before:
            return True
    return False
