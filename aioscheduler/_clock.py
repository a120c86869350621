"""Time, injected: the only module that reads the system clocks.

The scheduler keeps due times as wall-clock UTC timestamps (float seconds since the epoch), since
what is stored and what users ask for ("at 09:00 Berlin") is wall time. It *sleeps* on the event
loop's monotonic clock, converting a wall deadline to a loop deadline when it arms the wake-up,
and it re-reads the wall clock after every wake-up, so a clock step never makes it fire early or
sleep forever (each sleep is also capped, see ``Clock.max_sleep``).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = (
    "Clock",
    "SystemClock",
    "WakeHandle",
    "real_monotonic",
    "to_datetime",
    "to_timestamp",
)

#: Shortest wake-up the system clock arms, in seconds (see SystemClock.call_at).
MIN_WAKE = 0.001


def to_datetime(ts: float) -> datetime:
    """Convert a wall-clock timestamp to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


def real_monotonic() -> float:
    """The host's monotonic clock, whatever clock the scheduler uses: the loop-lag watchdog
    measures real stalls of the event loop, also under a ``FakeClock``."""
    return time.monotonic()


def to_timestamp(dt: datetime) -> float:
    """Convert an aware datetime to a wall-clock timestamp."""
    return dt.timestamp()


class WakeHandle:
    """A cancellable wake-up armed with :meth:`Clock.call_at` (mirrors ``asyncio.TimerHandle``)."""

    __slots__ = ("_cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel

    def cancel(self) -> None:
        """Disarm the wake-up; a no-op if it already ran."""
        self._cancel()


class Clock(ABC):
    """What the scheduler needs to know about time.

    Implementations: :class:`SystemClock` (the real clocks) and
    :class:`aioscheduler.testing.FakeClock` (time that only moves when a test says so).
    """

    #: Longest single sleep in seconds. After it the dispatcher re-reads the wall clock, which
    #: bounds how long a wall-clock step or a host suspend goes unnoticed.
    max_sleep: float = 60.0

    @abstractmethod
    def time(self) -> float:
        """Return the current wall-clock time as a UTC timestamp (seconds since the epoch)."""

    def now(self) -> datetime:
        """Return the current wall-clock time as an aware UTC datetime."""
        return to_datetime(self.time())

    @abstractmethod
    def monotonic(self) -> float:
        """Return a monotonic reading in seconds (for elapsed-time and clock-jump checks)."""

    @abstractmethod
    def call_at(
        self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]
    ) -> WakeHandle:
        """Arrange for ``callback()`` to be called on ``loop`` once wall time reaches ``when``.

        The callback may run somewhat late, never intentionally early; callers re-check the
        time when it runs.
        """

    def attach(self, scheduler: object, stepped: Callable[[], None]) -> None:  # noqa: B027
        """Called by a scheduler that uses this clock (an optional hook: the fake clock tracks
        its schedulers). ``stepped()`` tells the scheduler that the wall clock was stepped
        (re-read it now)."""


class SystemClock(Clock):
    """The real clocks: ``time.time()`` for wall time, the loop's clock for sleeping."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_at(
        self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]
    ) -> WakeHandle:
        delay = when - time.time()
        if 0 < delay < MIN_WAKE:
            # Event loops round timeouts to whole milliseconds (uvloop down, asyncio up):
            # a shorter wake-up can fire early again and again, spinning the CPU.
            delay = MIN_WAKE
        handle = loop.call_at(loop.time() + delay, callback)
        return WakeHandle(handle.cancel)
