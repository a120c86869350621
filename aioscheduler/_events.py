"""Event fan-out: bounded, non-blocking delivery to subscribers and async iterators.

Emitting an event only appends it to each matching subscriber's bounded buffer: the firing path
never waits for a subscriber. A coroutine-function subscriber is served by a task on the loop;
a plain (sync) function on a worker thread, one event after the other, so that a slow or
blocking subscriber never blocks the loop (mark a trivially fast one with
:func:`aioscheduler.inline` to call it on the loop instead; a bound method of an asyncio
object, such as ``asyncio.Queue().put_nowait``, is called on the loop, as it must be). A
subscriber that falls more than its buffer behind loses the newest events: they are counted
(``dropped``) and reported with a WARNING (at the first drop, then at 10, 100, 1,000... and at
stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from ._stopping import CANCEL_GRACE, Abandoned, retrieve
from .events import Event

__all__ = ("EventHub", "EventStream", "Subscription")

logger = logging.getLogger("aioscheduler.events")

E = TypeVar("E", bound=Event)

#: Default number of undelivered events a subscriber may hold; newer events beyond it are dropped.
DEFAULT_BUFFER = 10_000


#: Top-level modules whose objects belong to the event loop: their bound methods (an
#: ``asyncio.Queue``'s ``put_nowait``, an ``asyncio.Event``'s ``set``, a future's
#: ``set_result``) are not thread-safe, so such a subscriber is called on the loop.
_LOOP_MODULES = frozenset({"asyncio", "_asyncio", "uvloop"})


def _runs_on_thread(callback: Callable[[Any], object]) -> bool:
    if getattr(callback, "__aioscheduler_inline__", False):
        return False
    owner = getattr(callback, "__self__", None)
    if owner is not None and type(owner).__module__.partition(".")[0] in _LOOP_MODULES:
        return False
    return not (
        inspect.iscoroutinefunction(callback)
        or inspect.iscoroutinefunction(getattr(callback, "__call__", None))  # noqa: B004
    )


async def _await(awaitable: Awaitable[Any]) -> None:
    await awaitable


class _Sink:
    __slots__ = (
        "_hub",
        "_queue",
        "_queue_max",
        "_waiter",
        "_warn_at",
        "closed",
        "dropped",
        "types",
    )

    def __init__(self, hub: EventHub, types: tuple[type[Event], ...], buffer: int) -> None:
        self._hub = hub
        self.types = types or (Event,)
        self._queue: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.dropped = 0
        self._queue_max = buffer
        self._warn_at = 1

    @property
    def backlog(self) -> int:
        """Events buffered and not delivered yet."""
        return len(self._queue)

    def drop_backlog(self) -> int:
        """Give up the buffered events; return how many."""
        count = len(self._queue)
        self._queue.clear()
        return count

    def offer(self, event: Event) -> None:
        """Buffer ``event`` (the hub calls this; never blocks: a full buffer drops it)."""
        if len(self._queue) >= self._queue_max:
            self.dropped += 1
            if self.dropped >= self._warn_at:
                self._warn_at *= 10
                logger.warning(
                    "%s fell %d events behind; %d newer events dropped so far",
                    self.label(),
                    self._queue_max,
                    self.dropped,
                )
            return
        self._queue.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _get(self) -> Event | None:
        while not self._queue:
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def label(self) -> str:
        return "an events() iterator"

    def close_buffer(self) -> None:
        """End after the buffered events (the hub calls this at stop)."""
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Subscription(_Sink):
    """Handle of a ``scheduler.subscribe(...)`` callback.

    ``dropped`` counts events lost because the subscriber fell more than its buffer behind;
    ``failures`` counts exceptions the callback raised (each is logged, none stops delivery).
    """

    __slots__ = ("_callback", "delivery", "failures", "on_thread")

    def __init__(
        self,
        hub: EventHub,
        callback: Callable[[Any], object],
        types: tuple[type[Event], ...],
        buffer: int,
    ) -> None:
        super().__init__(hub, types, buffer)
        self._callback = callback
        #: The task delivering to the callback, while the scheduler runs.
        self.delivery: asyncio.Task[Any] | None = None
        self.failures = 0
        #: Whether the callback runs on a worker thread (a plain function not marked
        #: ``inline``) rather than on the loop.
        self.on_thread = _runs_on_thread(callback)

    @property
    def active(self) -> bool:
        """Whether events are still delivered."""
        return not self.closed

    def cancel(self) -> None:
        """Stop delivering; events already buffered are discarded. Safe to call from any
        thread (also from the subscriber itself, on its worker thread)."""
        self._queue.clear()
        if self._hub.forward_to_loop(self.cancel):
            return
        self._hub.remove(self)
        self.close_buffer()

    def label(self) -> str:
        return f"event subscriber {self._callback!r}"

    async def deliver_forever(self) -> None:
        if self.on_thread:
            await self._deliver_on_thread()
            return
        callback = self._callback
        while True:
            event = await self._get()
            if event is None:
                return
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.failures += 1
                logger.exception("event subscriber %r failed on %s", callback, type(event).__name__)

    async def _deliver_on_thread(self) -> None:
        """Hand batches of buffered events to a worker thread (one batch at a time: this
        subscription's own limiter of one token, apart from the jobs' ``max_threads``)."""
        limiter = anyio.CapacityLimiter(1)
        hub = self._hub
        while True:
            event = await self._get()
            if event is None:
                return
            hub.threads_busy += 1
            try:
                await anyio.to_thread.run_sync(
                    self._call_batch, event, limiter=limiter, abandon_on_cancel=True
                )
            finally:
                hub.threads_busy -= 1
                hub.delivered += 1

    def _call_batch(self, event: Event) -> None:
        """On the worker thread: deliver ``event``, then whatever was buffered meanwhile."""
        callback = self._callback
        queue = self._queue
        while True:
            try:
                result = callback(event)
                if inspect.isawaitable(result):  # a plain function returning a coroutine
                    anyio.from_thread.run(_await, result)
            except Exception:
                self.failures += 1
                logger.exception("event subscriber %r failed on %s", callback, type(event).__name__)
            try:
                event = queue.popleft()  # appends come from the loop thread: deque is safe
            except IndexError:
                return


class EventStream(_Sink, Generic[E]):
    """``async for event in scheduler.events(...)``: a bounded buffer of events.

    When the consumer is slower than the scheduler, the newest events beyond the buffer are
    dropped and counted in ``dropped``. The iteration ends when the scheduler stops (after
    the buffered events) or when :meth:`aclose` is called.
    """

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[E]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[E]:
        try:
            while True:
                event = await self._get()
                if event is None:
                    return
                yield event  # type: ignore[misc]
        finally:
            self._hub.remove(self)

    async def aclose(self) -> None:
        """Stop receiving events."""
        self._hub.remove(self)
        self.close_buffer()


class EventHub:
    """Fans events out to sinks. ``active`` is false without sinks, so emitters can skip
    building events nobody reads."""

    __slots__ = (
        "_abandoned",
        "_loop",
        "_loop_thread",
        "_sinks",
        "_spawn",
        "active",
        "delivered",
        "threads_busy",
    )

    def __init__(self) -> None:
        self._sinks: list[_Sink] = []
        self._spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]] | None = None
        self.active = False
        self.threads_busy = 0  # subscriber worker threads delivering now
        self.delivered = 0  # batches delivered on threads (progress, for FakeClock)
        self._abandoned = Abandoned()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    @property
    def thread_work(self) -> bool:
        """Whether a subscriber thread delivers, or has events waiting to be delivered."""
        return bool(self.threads_busy) or any(
            isinstance(s, Subscription) and s.on_thread and s.backlog and s.delivery is not None
            for s in self._sinks
        )

    def forward_to_loop(self, call: Callable[[], object]) -> bool:
        """From another thread: schedule ``call`` on the loop, return True (else False)."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            return False
        with contextlib.suppress(RuntimeError):  # the loop closed: nothing to wake
            loop.call_soon_threadsafe(call)
        return True

    def subscribe(
        self, callback: Callable[[Any], object], types: tuple[type[Event], ...], buffer: int
    ) -> Subscription:
        for t in types:
            if not (isinstance(t, type) and issubclass(t, Event)):
                raise TypeError(f"event types must be Event subclasses, got {t!r}")
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        sub = Subscription(self, callback, types, buffer)
        self._sinks.append(sub)
        self.active = True
        if self._spawn is not None:
            self._start(sub)
        return sub

    def stream(self, types: tuple[type[Event], ...], buffer: int) -> EventStream[Any]:
        for t in types:
            if not (isinstance(t, type) and issubclass(t, Event)):
                raise TypeError(f"event types must be Event subclasses, got {t!r}")
        stream: EventStream[Any] = EventStream(self, types, buffer)
        self._sinks.append(stream)
        self.active = True
        return stream

    def _start(self, sub: Subscription) -> None:
        assert self._spawn is not None
        sub.delivery = self._spawn(sub.deliver_forever())

    def start(self, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any]]) -> None:
        """Begin delivery to callbacks with ``spawn`` (the scheduler's task starter)."""
        self._spawn = spawn
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        for sink in self._sinks:
            if isinstance(sink, Subscription) and (sink.delivery is None or sink.delivery.done()):
                self._start(sink)

    async def stop(self, timeout: float) -> None:
        """Flush what callbacks have buffered (up to ``timeout``), then end delivery tasks and
        close streams (they end after their buffered events). A delivery that does not end
        within ``CANCEL_GRACE`` of its cancellation is abandoned (reported)."""
        self._spawn = None
        tasks = []
        subs = []
        for sink in list(self._sinks):
            sink.close_buffer()  # deliver what is buffered, then end
            if isinstance(sink, Subscription):
                subs.append(sink)
                if sink.delivery is not None:
                    tasks.append(sink.delivery)
                    sink.delivery = None
            else:
                self.remove(sink)
        tasks = [t for t in tasks if t is not asyncio.current_task()]  # a subscriber stopping us
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for sub in subs:  # undelivered events are given up, counted as dropped
                sub.dropped += sub.drop_backlog()
            for task in pending:
                task.cancel()
            if pending:
                _, pending = await asyncio.wait(pending, timeout=CANCEL_GRACE)
            retrieve(tasks)
            for task in pending:  # an async subscriber that swallows cancellation
                self._abandoned.keep(task)
                logger.warning("an event subscriber did not end when cancelled at stop")
        for sub in subs:
            if sub.dropped:
                logger.warning("%s dropped %d events in all", sub.label(), sub.dropped)
        for sub in subs:
            if sub in self._sinks:
                sub.closed = False  # a subscription survives a restart of the scheduler

    def remove(self, sink: _Sink) -> None:
        """Stop delivering to ``sink``."""
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)
        self.active = bool(self._sinks)

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every sink whose types match (never blocks, never raises)."""
        for sink in self._sinks:
            if isinstance(event, sink.types):
                sink.offer(event)
