"""The Scheduler: the public face. It validates its arguments and delegates to the core
(:class:`~aioscheduler._engine.Engine` and its parts; see ``docs/design.md``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from ._admission import Admission
from ._clock import Clock, SystemClock
from ._cluster import default_node_name
from ._declaring import Declaring
from ._engine import Engine
from ._events import DEFAULT_BUFFER, EventStream, Subscription
from ._jobapi import JobMethods
from ._registry import Registry
from ._specs import default_executor, resolve_store, resolve_timezone
from ._statistics import SchedulerState, SchedulerStatistics
from ._timers import Timer, parse_delay
from ._watchdog import DEFAULT_THRESHOLD, check_threshold
from .errors import InvalidTrigger, SchedulerCrashed
from .events import Event
from .stores._base import Store

if TYPE_CHECKING:
    from ._threaded import SchedulerThread
    from .integrations.fastapi import Lifespan

__all__ = ("Scheduler",)

Ts = TypeVarTuple("Ts")
E = TypeVar("E", bound=Event)


class Scheduler(JobMethods, Declaring):
    """An asyncio-native scheduler of jobs (trigger-driven) and timers (callback-driven).

    Args:
        store: Where jobs live: ``None`` for the in-memory store, a :class:`Store`, or a URL
            such as ``"memory://"``.
        clock: The time source; ``None`` for the system clock. Tests pass
            :class:`aioscheduler.testing.FakeClock`.
        max_concurrency: Upper bound on firings running at once (jobs and timers together);
            firings beyond it wait for a slot. ``None``: no bound.
        max_threads: Worker threads for plain (sync) callables. ``None``: anyio's default (40).
        max_processes: Worker processes for ``executor="process"`` jobs, started on first
            use. ``None``: ``os.cpu_count()``.
        timezone: Default time zone for naive datetimes (``At``, ``call_at``) and crons without
            one. ``None``: naive datetimes are an error, crons use UTC.
        history_limit: Finished runs kept per job (``Job.history``).
        secret_key: With a store URL: sign stored jobs so that rows changed without the key
            are refused (see ``docs/persistence.md``). ``old_keys``: earlier secrets still
            accepted for reading. ``encrypt``: encrypt stored jobs as well.
        allow: Module names or package prefixes (``["myapp.jobs"]``) whose functions and
            classes an unsigned stored job may name. Without it (and without a key), a stored
            job loads only if its callable was declared or added in this process; any other
            is refused before import and reported broken (see ``docs/persistence.md``).
        event_buffer: Undelivered events a subscriber may hold before new ones are dropped.
        loop_lag_threshold: Seconds (or a ``timedelta``) the event loop may be blocked (by a
            job calling ``time.sleep``, blocking I/O, a long computation...) before a WARNING
            names what was running and a ``LoopStalled`` event is emitted. ``None``: no
            watchdog.
        node_name: This process's name among the schedulers sharing a store (in runs, events,
            logs and ``aioscheduler jobs``). ``None``: host name and pid. Each start gets a
            fresh incarnation id as well, so two processes with one name never mix leases.

    Example::

        scheduler = Scheduler()

        @scheduler.every(seconds=30)
        async def refresh() -> None: ...

        async with scheduler:
            scheduler.call_later(1.0, poll_once)
            await serve_forever()
    """

    def __init__(
        self,
        *,
        store: Store | str | None = None,
        clock: Clock | None = None,
        max_concurrency: int | None = None,
        max_threads: int | None = None,
        max_processes: int | None = None,
        timezone: str | tzinfo | None = None,
        history_limit: int = 10,
        secret_key: str | bytes | None = None,
        old_keys: tuple[str | bytes, ...] | list[str | bytes] = (),
        encrypt: bool = False,
        event_buffer: int = DEFAULT_BUFFER,
        loop_lag_threshold: float | timedelta | None = DEFAULT_THRESHOLD,
        allow: Sequence[str] | None = None,
        node_name: str | None = None,
    ) -> None:
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("max_threads", max_threads),
            ("max_processes", max_processes),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be an int >= 1 or None, got {value!r}")
        if (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or (history_limit < 0)
        ):
            raise ValueError(f"history_limit must be an int >= 0, got {history_limit!r}")
        if isinstance(event_buffer, bool) or not isinstance(event_buffer, int) or event_buffer < 1:
            raise ValueError(f"event_buffer must be an int >= 1, got {event_buffer!r}")
        lag_threshold = check_threshold(loop_lag_threshold)
        keys = {"secret_key": secret_key, "old_keys": old_keys, "encrypt": encrypt}
        store_obj = resolve_store(store, **{k: v for k, v in keys.items() if v})
        zone = resolve_timezone(timezone)
        if node_name is not None and (not isinstance(node_name, str) or not node_name.strip()):
            raise ValueError(f"node_name must be a non-empty str or None, got {node_name!r}")
        self._event_buffer = event_buffer
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._engine = Engine(
            store=store_obj,
            clock=self._clock,
            timezone=zone,
            admission=Admission(allow),  # what stored rows may name (_admission.py)
            max_concurrency=max_concurrency,
            max_threads=max_threads,
            max_processes=max_processes,
            history_limit=history_limit,
            lag_threshold=lag_threshold,
            node_name=node_name or default_node_name(),
        )
        self._registry = Registry(self._engine)
        self._clock.attach(self, self._engine.dispatcher.wake)

    # -- state ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the scheduler is started and dispatching."""
        return self._engine.state is SchedulerState.RUNNING

    @property
    def state(self) -> SchedulerState:
        """The lifecycle state (:class:`~aioscheduler.SchedulerState`)."""
        return self._engine.state

    @property
    def store(self) -> Store:
        """The job store."""
        return self._engine.store

    @property
    def clock(self) -> Clock:
        """The time source."""
        return self._clock

    @property
    def timezone(self) -> tzinfo | None:
        """The default time zone for naive datetimes and crons without one."""
        return self._engine.specs.timezone

    @property
    def node_name(self) -> str:
        """This process's name among the schedulers sharing a store."""
        return self._engine.node_name

    @property
    def admission(self) -> Admission:
        """What stored jobs may name (the ``allow`` setting and what this process declared)."""
        return self._engine.admission

    def statistics(self) -> SchedulerStatistics:
        """Return a snapshot of what the scheduler is doing now
        (:class:`~aioscheduler.SchedulerStatistics`): its state, firings running and waiting,
        worker threads, queued records, and whether it is idle. Cheap; safe to poll."""
        return self._engine.statistics()

    async def open_store(self) -> None:
        """Open the store without starting (``add()``, ``jobs()`` and :meth:`start` do it
        themselves); :meth:`stop` closes it."""
        await self._engine.ensure_store()

    async def load_declared(self) -> None:
        """Add the declared jobs (decorators, :meth:`include`) to the store without starting,
        as :meth:`start` would."""
        await self._engine.ensure_store()
        await self._registry.add_declared()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start dispatching in the background and return.

        Declared jobs (decorators, :meth:`include`) are added first. Raises
        :class:`~aioscheduler.errors.SchedulerStateError` if already running.
        """
        await self._engine.start(self._registry.add_declared)

    async def stop(self, timeout: float | None = None) -> None:
        """Stop dispatching, wait for running work, cancel what is left.

        Waits up to ``timeout`` seconds for running callbacks (``None``: as long as they take),
        then cancels the rest; pending retries, queued firings and timers are ended and
        reported as cancelled. Returns within ``timeout`` plus a small grace (see
        ``docs/policies.md``), whatever the callbacks do: a coroutine that does not end within
        0.5 s of its cancellation (it swallows ``CancelledError``, or cleans up too long) is
        abandoned, reported with a WARNING and in ``SchedulerStopped.abandoned``, and left to
        end on its own. A callback running on a worker thread cannot be interrupted: if it
        outlives the timeout it is reported cancelled and its thread finishes on its own; a
        callback running in a worker process is killed. Stopping a stopped scheduler is a
        no-op for scheduling; it closes the store (releasing e.g. a SQLite file's lock) and the
        worker processes that :meth:`add`, :meth:`jobs` or :meth:`run_pending` opened without
        :meth:`start`.

        If the scheduler crashed (:class:`~aioscheduler.errors.SchedulerCrashed`), the first
        ``stop()`` after the crash raises it.
        """
        bad = timeout is not None and (not isinstance(timeout, int | float) or timeout < 0)
        if bad and self._engine.state is SchedulerState.RUNNING:
            raise ValueError(f"timeout must be seconds >= 0 or None, got {timeout!r}")
        await self._engine.stop(timeout)

    def start_in_thread(self, *, name: str = "aioscheduler") -> SchedulerThread[Scheduler]:
        """Start the scheduler on its own event loop in a daemon thread; return its blocking,
        thread-safe face (``add``, ``remove``, ``pause``, ``resume``, ``jobs``, ``stop``...).

        For code that is not async: WSGI apps (Flask, Django), scripts. What APScheduler's
        ``BackgroundScheduler`` does, on the same engine. Returns once the scheduler runs.

        Raises:
            SchedulerStateError: the scheduler is already running.
            Exception: whatever :meth:`start` raised in the thread (a store that cannot open).
        """
        from ._threaded import start_in_thread

        return start_in_thread(self, name)

    async def serve(self) -> None:
        """Start (if needed) and block until :meth:`stop` is called (from elsewhere).

        If ``serve()`` started the scheduler and is cancelled (Ctrl-C under ``asyncio.run``),
        it stops the scheduler, cancelling running work at once, before it returns.

        Raises:
            SchedulerCrashed: an internal task failed (a bug): the scheduler stopped itself.
        """
        engine = self._engine
        crash = engine.take_crash(keep=True)
        if crash is not None and engine.state is SchedulerState.STOPPED:
            raise crash  # crashed before serve() was called: not restarted silently
        started = engine.state is SchedulerState.STOPPED
        if started:
            await self.start()
        try:
            await engine.wait_stopped()
        except BaseException:
            if started and engine.state is SchedulerState.RUNNING:
                await self.stop(timeout=0)
            raise
        crash = engine.take_crash(keep=True)
        if crash is not None:
            raise crash

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Leaving on an exception, a cancellation or Ctrl-C: cancel running work at once
        # (like a task group), rather than wait for it.
        try:
            await self.stop(timeout=None if exc_info[0] is None else 0)
        except SchedulerCrashed:
            if not isinstance(exc_info[1], SchedulerCrashed):  # serve() raised it already
                raise

    # -- web framework integrations (imported lazily: their frameworks stay optional) ----------

    @property
    def lifespan(self) -> Lifespan:
        """A FastAPI/Starlette lifespan running this scheduler while the app serves.

        ``FastAPI(lifespan=scheduler.lifespan)``; with the app's own lifespan:
        ``FastAPI(lifespan=scheduler.lifespan.wrap(app_lifespan))``. Handlers reach the
        scheduler as ``request.app.state.scheduler``. See
        :class:`aioscheduler.integrations.fastapi.Lifespan`.
        """
        from .integrations.fastapi import Lifespan

        return Lifespan(self)

    def aiohttp_context(self, app: Any) -> AsyncIterator[None]:
        """An aiohttp cleanup context running this scheduler while the app serves.

        ``app.cleanup_ctx.append(scheduler.aiohttp_context)``; handlers reach the scheduler as
        ``request.app[SCHEDULER_KEY]`` (:mod:`aioscheduler.integrations.aiohttp`).
        """
        from .integrations.aiohttp import cleanup_context

        return cleanup_context(self, app)

    # -- timers --------------------------------------------------------------------------------

    def call_later(
        self, delay: float | timedelta, callback: Callable[[Unpack[Ts]], Any], *args: *Ts
    ) -> Timer:
        """Run ``callback(*args)`` after ``delay`` seconds (or a ``timedelta``).

        The callback (sync or async) returns its next delay to run again, measured from when
        it returned, or ``None``/``0`` to end. Coroutine functions run on the loop, plain
        functions on a worker thread (mark a fast one with :func:`aioscheduler.inline` to run
        it on the loop). Safe to call from any thread, and before :meth:`start` (the timer
        then waits for the start).

        Raises:
            InvalidDelay: ``delay`` is negative, not finite, or not a number/timedelta.
            TypeError: ``callback`` is not callable.
        """
        seconds = parse_delay(delay, "delay") or 0.0
        return self._new_timer(self._clock.time() + seconds, callback, args)

    def call_at(self, when: datetime, callback: Callable[[Unpack[Ts]], Any], *args: *Ts) -> Timer:
        """Run ``callback(*args)`` at the datetime ``when`` (see :meth:`call_later`).

        A naive ``when`` is read in the scheduler's ``timezone`` and is an error without one.
        """
        if not isinstance(when, datetime):
            raise InvalidTrigger(f"when must be a datetime, got {when!r}")
        if when.tzinfo is None:
            zone = self._engine.specs.timezone
            if zone is None:
                raise InvalidTrigger(
                    f"naive datetime {when.isoformat()} given to call_at(); pass an aware "
                    f"datetime or create the Scheduler with a timezone"
                )
            when = when.replace(tzinfo=zone)
        return self._new_timer(when.timestamp(), callback, args)

    def _new_timer(self, due: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> Timer:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        dispatcher = self._engine.dispatcher
        timer = Timer(dispatcher, callback, args, due, default_executor(callback))
        dispatcher.push_local(due, timer)
        return timer

    # -- events --------------------------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[Any], object], *event_types: type[Event]
    ) -> Subscription:
        """Call ``callback(event)`` (sync or async) for every event of the given types (no
        types: every event). Delivery is asynchronous and buffered: a failing or slow
        subscriber never delays the dispatcher. ``Subscription.cancel()`` ends it."""
        return self._engine.hub.subscribe(callback, event_types, self._event_buffer)

    def events(self, *event_types: type[E]) -> EventStream[E]:
        """``async for event in scheduler.events(RunFinished): ...`` (no types: every event).

        Buffered (``event_buffer``); when the consumer falls behind, newer events are dropped
        and counted in ``.dropped``. The iteration ends when the scheduler stops.
        """
        return self._engine.hub.stream(event_types, self._event_buffer)

    def __repr__(self) -> str:
        return f"<Scheduler {self._engine.state.value} store={type(self.store).__name__}>"
