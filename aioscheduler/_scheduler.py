"""The Scheduler: lifecycle, the job API, timers and decorators (a thin face over the core)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, TypeVarTuple, Unpack

import anyio

from . import _backfill, _modify
from ._admission import Admission
from ._clock import Clock, SystemClock
from ._cluster import Cluster, default_node_name, incarnation_id
from ._decorators import JobOptionsKw, ModifyKw, declared_jobs, declared_now
from ._dispatcher import Dispatcher
from ._events import DEFAULT_BUFFER, EventHub, EventStream, Subscription
from ._heap import DueHeap
from ._logs import log_lifecycle
from ._modify import check_call
from ._recording import Recorder
from ._runner import Firing, Runner
from ._stopping import CANCEL_GRACE, STOP_GRACE, Abandoned, finish_tasks, within
from ._timers import Timer, parse_delay
from ._values import (
    Backoff,
    Delivery,
    Executor,
    Job,
    JobOptions,
    JobSpec,
    Outcome,
    Overlap,
    Run,
    make_options,
    with_executor,
)
from ._watchdog import DEFAULT_THRESHOLD, LoopWatchdog, check_threshold
from .errors import (
    InvalidConfiguration,
    InvalidJob,
    InvalidTrigger,
    JobNotFound,
    SchedulerStateError,
)
from .events import (
    Event,
    JobAdded,
    JobBroken,
    JobPaused,
    JobPausedAfterFailures,
    JobRemoved,
    JobResumed,
    JobUpdated,
    SchedulerStarted,
    SchedulerStopped,
)
from .stores._base import Claim, Store, StoreContext
from .stores.memory import MemoryStore
from .triggers import At, Cron, Every, Ticks, Trigger
from .triggers._cronzone import GapPolicy, RepeatPolicy
from .triggers._time import to_zone

if TYPE_CHECKING:
    from ._threaded import SchedulerThread
    from .integrations.fastapi import Lifespan

__all__ = ("Scheduler",)

logger = logging.getLogger("aioscheduler")

F = TypeVar("F", bound=Callable[..., Any])
Ts = TypeVarTuple("Ts")
E = TypeVar("E", bound=Event)

_INLINE_ATTR = "__aioscheduler_inline__"
_DEFAULT_BACKOFF = Backoff()


def _default_executor(func: Callable[..., Any]) -> Executor:
    if getattr(func, _INLINE_ATTR, False):
        return "inline"
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - async callable objects
    ):
        return "async"
    return "thread"


def _job_id(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "<unknown>"
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


def _resolve_timezone(value: str | tzinfo | None) -> tzinfo | None:
    if value is None:
        return None
    try:
        return to_zone(value, "scheduler timezone")
    except InvalidTrigger as exc:
        raise InvalidConfiguration(str(exc)) from None


def _resolve_store(store: Store | str | None, **keys: Any) -> Store:
    if keys and not isinstance(store, str):
        raise InvalidConfiguration(
            "secret_key, old_keys and encrypt apply to a store URL; give them to the store "
            f"object itself, e.g. SQLiteStore(path, secret_key=...), not with {store!r}"
        )
    if store is None:
        return MemoryStore()
    if isinstance(store, Store):
        return store
    if isinstance(store, str):
        if store in ("memory", "memory://") and not keys:
            return MemoryStore()
        from .stores import store_from_url

        return store_from_url(store, **keys)
    raise InvalidConfiguration(f"store must be a Store, a store URL or None, got {store!r}")


class Scheduler:
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
        loop_lag_threshold: Seconds the event loop may be blocked (by a job calling
            ``time.sleep``, blocking I/O, a long computation...) before a WARNING names what
            was running and a ``LoopStalled`` event is emitted. ``None``: no watchdog.
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
        loop_lag_threshold: float | None = DEFAULT_THRESHOLD,
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
        self._lag_threshold = check_threshold(loop_lag_threshold)
        self._watchdog: LoopWatchdog | None = None
        keys = {"secret_key": secret_key, "old_keys": old_keys, "encrypt": encrypt}
        self._store = _resolve_store(store, **{k: v for k, v in keys.items() if v})
        self._admission = Admission(allow)  # what stored rows may name (_admission.py)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._timezone = _resolve_timezone(timezone)
        self._max_threads = max_threads
        self._max_processes = max_processes
        self._history_limit = history_limit
        self._event_buffer = event_buffer
        if node_name is not None and (not isinstance(node_name, str) or not node_name.strip()):
            raise ValueError(f"node_name must be a non-empty str or None, got {node_name!r}")
        self._node_name = node_name or default_node_name()
        self._node_id = f"{uuid.uuid4().hex[:12]}"
        self._cluster = Cluster(self)
        self._hub = EventHub()
        self._heap = DueHeap()
        self._runner = Runner(self, max_concurrency)
        self._runner.node_name = self._node_name
        self._runner.store_counts_failures = self._store.counts_failures
        self._dispatcher = Dispatcher(self, self._heap, self._runner)
        self._limiter: anyio.CapacityLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._lock = threading.Lock()
        self._state: Literal["stopped", "starting", "running", "stopping"] = "stopped"
        self._stopping = False
        self._store_open = False
        self._dispatch_task: asyncio.Task[None] | None = None
        self._internal: set[asyncio.Task[Any]] = set()
        self._abandoned = Abandoned()  # tasks given up on at stop(), kept until they end
        self._stopped_event: asyncio.Event | None = None
        self._releases: list[tuple[Claim, Run | Firing]] = []
        self._flush_pending = False
        self._recorder = Recorder(self)
        self._run_waiters: dict[str, list[asyncio.Future[Run]]] = {}
        self._backfills: dict[int, asyncio.Future[Run]] = {}  # id(claim) -> its run, see backfill
        self._declared: list[tuple[Callable[..., Any], Trigger, JobOptionsKw]] = []
        self._ticks: dict[str, dict[str, list[Any]]] = {}
        self._local: dict[str, set[Firing]] = {}  # job id -> its firings in the local heap
        self._declared_done = 0  # declarations reconciled so far (each only once)
        self._process_pool: Any = None
        self._clock.attach(self)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the scheduler is started and dispatching."""
        return self._state == "running"

    @property
    def store(self) -> Store:
        """The job store."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The time source."""
        return self._clock

    async def _ensure_store(self) -> None:
        if not self._store_open:
            self._node_id = incarnation_id(self._node_name)
            self._admission.announce(self._store)  # once: what an unsigned store will refuse
            await self._store.open(
                StoreContext(
                    self._node_id,
                    self._store_wakeup,
                    self._history_limit,
                    self._job_broken,
                    self._node_name,
                    self._clock.time,
                    admission=self._admission,
                )
            )
            self._store_open = True
            path = getattr(self._store, "path", None)
            where = f" at {path!r}" if isinstance(path, str) else ""
            logger.info("store opened: %s%s", type(self._store).__name__, where)

    def _store_wakeup(self, due: float) -> None:
        self._dispatcher.poke(due)

    def _job_broken(self, job_id: str, reason: str) -> None:
        # the store has logged it (with the job id): here it becomes an event
        self._emit(JobBroken(at=self._clock.now(), job_id=job_id, reason=reason))

    async def start(self) -> None:
        """Start dispatching in the background and return.

        Declared jobs (decorators, :meth:`include`) are added first. Raises
        :class:`~aioscheduler.errors.SchedulerStateError` if already running.
        """
        if self._state != "stopped":
            raise SchedulerStateError(f"the scheduler is already {self._state}")
        self._state = "starting"
        try:
            loop = asyncio.get_running_loop()
            with self._lock:
                self._loop = loop
                self._loop_thread = threading.get_ident()
            self._stopping = False
            self._stopped_event = asyncio.Event()
            self._limiter = anyio.CapacityLimiter(self._max_threads or 40)
            self._runner._loop = loop
            await self._ensure_store()
            await self._add_declared()
            await self._load_tick_jobs()
            self._dispatcher = Dispatcher(self, self._heap, self._runner)
            self._hub.start(loop.create_task)
            if self._lag_threshold is not None:
                self._watchdog = LoopWatchdog(
                    self._lag_threshold, self._runner._tasks, self._emit, self._clock.now
                )
                self._watchdog.start()
            self._dispatch_task = loop.create_task(self._dispatcher.run())
        except BaseException:
            self._state = "stopped"
            with self._lock:
                self._loop = None
                self._loop_thread = None
            raise
        self._state = "running"
        self._emit(SchedulerStarted(at=self._clock.now()))

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
        """
        if self._state in ("stopped", "stopping"):
            if self._state == "stopping" and self._stopped_event is not None:
                await self._stopped_event.wait()
            else:  # never started, or stopped: release what add()/run_pending() opened
                await self._drain_internal()
                if self._process_pool is not None:
                    pool, self._process_pool = self._process_pool, None
                    await pool.aclose()
                if self._store_open:
                    self._store_open = False
                    await self._store.close()
            return
        if timeout is not None and (not isinstance(timeout, int | float) or timeout < 0):
            raise ValueError(f"timeout must be seconds >= 0 or None, got {timeout!r}")
        self._state = "stopping"
        self._stopping = True
        loop = asyncio.get_running_loop()
        try:
            self._dispatcher.stop()
            if self._dispatch_task is not None:
                await finish_tasks(
                    {self._dispatch_task}, loop.time() + CANCEL_GRACE, self._abandoned
                )
                self._dispatch_task = None
            self._end_local_entries()
            abandoned = await self._runner.stop(timeout)
            # what follows the runs (records, events) is bounded too, unless no timeout was set
            grace = None if timeout is None else loop.time() + STOP_GRACE
            await self._drain_internal(grace)
            self._recorder.cancel()
            self._emit(
                SchedulerStopped(
                    at=self._clock.now(),
                    abandoned=tuple(abandoned),
                    unrecorded=tuple(self._recorder.unrecorded),
                )
            )
            flush = 1.0 if grace is None else max(0.0, min(grace - loop.time(), timeout or 1.0))
            await self._hub.stop(timeout=flush)
            await self._cluster.close()
            if self._store_open:
                self._store_open = False
                await self._store.close()
            if self._process_pool is not None:
                pool, self._process_pool = self._process_pool, None
                await pool.aclose()
        finally:
            for waiters in self._run_waiters.values():
                for fut in waiters:
                    if not fut.done():
                        fut.cancel()
            self._run_waiters.clear()
            if self._watchdog is not None:
                self._watchdog.stop()
                self._watchdog = None
            with self._lock:
                self._loop = None
                self._loop_thread = None
            self._runner._loop = None
            self._state = "stopped"
            if self._stopped_event is not None:
                self._stopped_event.set()

    def start_in_thread(self, *, name: str = "aioscheduler") -> SchedulerThread:
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
        """
        started = self._state == "stopped"
        if started:
            await self.start()
        assert self._stopped_event is not None
        try:
            await self._stopped_event.wait()
        except BaseException:
            if started and self._state == "running":
                await self.stop(timeout=0)
            raise

    async def __aenter__(self) -> Scheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Leaving on an exception, a cancellation or Ctrl-C: cancel running work at once
        # (like a task group), rather than wait for it.
        await self.stop(timeout=None if exc_info[0] is None else 0)

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

    def _end_local_entries(self) -> None:
        for entry in self._heap.clear():
            if isinstance(entry, Timer):
                entry._end()
            elif isinstance(entry, Firing) and entry.claim is not None:
                # a pending retry, run_now or Ticks firing: reported like any cancelled run
                self._runner._finish_job(entry, Outcome.CANCELLED, None, None, "scheduler stopped")
        self._local.clear()

    async def _drain_internal(self, deadline: float | None = None) -> None:
        """Wait for internal tasks, then record finished runs in this task (starting no new
        task: the loop may be closing). Past ``deadline`` (loop time) what is left is cancelled,
        and abandoned if it does not end (see ``_stopping.py``)."""
        for _ in range(10):
            tasks = {t for t in self._internal if not t.done()}
            for task in await finish_tasks(tasks, deadline, self._abandoned):
                self._internal.discard(task)
            if self._releases and not self._flush_pending:
                count = len(self._releases)
                if not await within(deadline, self._flush_releases()):
                    logger.error("recording %d finished runs did not finish at stop()", count)
            if not self._releases and not any(not t.done() for t in self._internal):
                return

    # -- internal task spawning ----------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._internal.add(task)
        task.add_done_callback(self._internal_done)
        return task

    def _internal_done(self, task: asyncio.Task[Any]) -> None:
        self._internal.discard(task)
        error = None if task.cancelled() else task.exception()
        if isinstance(error, Exception):  # KeyboardInterrupt/SystemExit: already raised
            logger.error("an internal task of the scheduler failed", exc_info=error)

    def _emit(self, event: Event) -> None:
        log_lifecycle(event)
        if self._hub.active:
            self._hub.emit(event)

    def _in_loop_thread(self) -> bool:
        return self._loop_thread is None or self._loop_thread == threading.get_ident()

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
            if self._timezone is None:
                raise InvalidTrigger(
                    f"naive datetime {when.isoformat()} given to call_at(); pass an aware "
                    f"datetime or create the Scheduler with a timezone"
                )
            when = when.replace(tzinfo=self._timezone)
        return self._new_timer(when.timestamp(), callback, args)

    def _new_timer(self, due: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> Timer:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        timer = Timer(self, callback, args, due, _default_executor(callback))
        self._push_local(due, timer)
        return timer

    def _push_local(self, due: float, entry: Timer | Firing) -> None:
        if isinstance(entry, Firing) and entry.spec is not None:
            self._local.setdefault(entry.spec.id, set()).add(entry)
        if self._in_loop_thread():
            with self._lock:
                if self._in_loop_thread():
                    self._heap.push(due, entry)
                    self._dispatcher.poke(due)
                    return
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._push_local_if_live, due, entry)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        with self._lock:  # stopped meanwhile: the entry waits for the next start
            self._heap.push(due, entry)

    def _local_fired(self, entry: Firing) -> None:
        """A local job firing left the heap (the dispatcher hands it to the runner)."""
        assert entry.spec is not None
        firings = self._local.get(entry.spec.id)
        if firings is not None:
            firings.discard(entry)
            if not firings:
                del self._local[entry.spec.id]

    def _push_local_if_live(self, due: float, entry: Timer | Firing) -> None:
        if isinstance(entry, Timer) and entry.cancelled:
            entry._end()
            return
        self._heap.push(due, entry)
        self._dispatcher.poke(due)

    def _reschedule_timer(self, timer: Timer, due: float) -> None:
        timer._due = due
        self._heap.push(due, timer)
        self._dispatcher.poke(due)

    def _cancel_timer(self, timer: Timer) -> None:
        if timer._running:
            return  # the run ends it when it returns
        if self._in_loop_thread():
            self._heap.discard(timer)
            timer._end()
        else:
            loop = self._loop
            assert loop is not None
            loop.call_soon_threadsafe(self._cancel_timer, timer)

    # -- jobs ----------------------------------------------------------------------------------

    def _make_spec(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        *,
        id: str | None,
        args: Any,
        kwargs: Mapping[str, Any] | None,
        options: JobOptions,
        store_check: bool = True,
    ) -> JobSpec:
        if not callable(func):
            raise InvalidJob(f"func must be callable, got {func!r}")
        if not isinstance(trigger, Trigger):
            raise InvalidJob(
                f"trigger must be a Trigger (Every, Cron, At, After, Ticks...), got {trigger!r}"
            )
        trigger = trigger.bind(self._timezone).anchor(self._clock.now())
        job_id = _job_id(func) if id is None else id
        if not isinstance(job_id, str) or not job_id:
            raise InvalidJob(f"id must be a non-empty str, got {job_id!r}")
        if isinstance(args, str | bytes) or not isinstance(args, tuple | list):
            raise InvalidJob(f"args must be a tuple or list, got {args!r}")
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
            raise InvalidJob(f"kwargs must be a mapping with str keys, got {kwargs!r}")
        executor = options.executor
        natural = _default_executor(func)
        if executor is None:
            options = with_executor(options, natural)
        elif executor in ("thread", "inline", "process") and natural == "async":
            raise InvalidJob(
                f"executor={executor!r} cannot run coroutine function {job_id!r}; "
                f"use executor='async' (the default for coroutine functions)"
            )
        if options.executor == "process":
            self._check_process_callable(func, tuple(args), dict(kwargs), job_id)
        spec = JobSpec(job_id, func, trigger, tuple(args), dict(kwargs), options)
        check = getattr(self._store, "check_spec", None)
        if check is not None and store_check:
            check(spec)
        check_call(func, spec.args, spec.kwargs, job_id)  # a wrong args= fails here, once
        if self._store.persistent:  # this process chose this code: its rows may name it
            self._admission.register_spec(spec)
        return spec

    def _check_process_callable(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], job_id: str
    ) -> None:
        import pickle

        try:
            pickle.dumps((func, args, kwargs))
        except Exception as exc:
            raise InvalidJob(
                f"job {job_id!r} uses executor='process' but its callable or arguments cannot "
                f"be sent to a process ({type(exc).__name__}: {exc}); use a module-level "
                f"function and picklable arguments"
            ) from exc

    async def add(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        *,
        id: str | None = None,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        overlap: Overlap = "skip",
        misfire_grace: float | timedelta | None = None,
        coalesce: bool = True,
        paused: bool = False,
        replace: bool = False,
        max_instances: int | None = None,
        executor: Executor | None = None,
        timeout: float | timedelta | None = None,
        retries: int = 0,
        backoff: Backoff | None = None,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
        pause_after_failures: int | None = None,
        delivery: Delivery = "at-least-once",
        run_at_start: bool = False,
    ) -> Job:
        """Schedule ``func(*args, **kwargs)`` to run whenever ``trigger`` fires.

        Args:
            func: The callable. Coroutine functions run on the loop; plain functions on a
                worker thread (``executor`` overrides).
            trigger: ``Every``, ``Cron``, ``At``, ``After``, ``Ticks``, or any ``Trigger``.
            id: Unique job id; defaults to ``func``'s ``module.qualname``.
            overlap: A firing that comes while a previous run still runs is ``"skip"``ped
                (reported), ``"allow"``ed (up to ``max_instances``), ``"queue"``d (one waits)
                or ``"replace"``s the running one (which is cancelled).
            misfire_grace: Seconds a firing may be late and still run; later ones are reported
                missed. ``None``: no limit.
            coalesce: Fold firings that came due together (after a stall, a clock jump,
                downtime) into one run.
            paused: Add the job paused.
            replace: Replace an existing job with the same id instead of raising.
            executor: ``"async"``, ``"thread"``, ``"inline"`` (a sync callable run on the loop:
                blocking, for trivially fast functions) or ``"process"``.
            timeout: Seconds a run may take; an async run is cancelled at the deadline, a
                thread run is abandoned (its thread finishes on its own), a process run's worker
                is killed. Reported ``timeout``.
            retries: Retries after a failed run (an exception matching ``retry_on``, or a
                timeout), each after ``backoff``.
            pause_after_failures: Pause the job after this many consecutive failed runs.
            delivery: On a shared store, a firing whose process died mid-run is run again
                elsewhere (``"at-least-once"``) or reported lost (``"at-most-once"``).
            run_at_start: Also run it once right away (when the scheduler starts, or now if it
                runs), in addition to its schedule, like :meth:`run_now`.

        Returns:
            A snapshot of the job.

        Raises:
            InvalidJob: a bad callable or option, or ``args``/``kwargs`` that do not fit the
                callable's signature (the message names it).
            InvalidTrigger: the trigger cannot be bound (a naive ``At`` without a timezone).
            JobExists: the id is taken and ``replace`` is false.
        """
        options = make_options(
            overlap=overlap,
            max_instances=max_instances,
            misfire_grace=misfire_grace,
            coalesce=coalesce,
            executor=executor,
            timeout=timeout,
            retries=retries,
            backoff=backoff if backoff is not None else _DEFAULT_BACKOFF,
            retry_on=retry_on,
            pause_after_failures=pause_after_failures,
            delivery=delivery,
        )
        if not all(isinstance(flag, bool) for flag in (paused, replace, run_at_start)):
            raise InvalidJob(
                f"paused, replace and run_at_start must be bools, got {paused!r}, {replace!r}, "
                f"{run_at_start!r}"
            )
        spec = self._make_spec(func, trigger, id=id, args=args, kwargs=kwargs, options=options)
        job = await self._add_spec(spec, paused=paused, replace=replace)
        if run_at_start:
            self._run_once_now(job.spec)
        return job

    def _run_once_now(self, spec: JobSpec) -> None:
        now = self._clock.time()
        self._push_local(now, self._local_firing(spec, now, final=False))

    async def _add_spec(self, spec: JobSpec, *, paused: bool, replace: bool) -> Job:
        await self._ensure_store()
        existed = False
        if replace:
            try:
                await self._store.get_job(spec.id)
                existed = True
            except JobNotFound:
                pass
        job = await self._store.add_job(
            spec, now=self._clock.time(), paused=paused, replace=replace
        )
        self._register_ticks(spec, paused)
        event = JobUpdated if existed else JobAdded
        self._emit(event(at=self._clock.now(), job_id=spec.id, job=job))
        return job

    async def remove(self, id: str) -> None:
        """Remove a job; its future firings are dropped (a running run finishes).

        Raises:
            JobNotFound: no job has this id.
        """
        await self._ensure_store()
        await self._store.remove_job(id)
        self._unregister_ticks(id)
        for firing in self._local.pop(id, ()):  # pending retries, run_now, Ticks firings
            self._heap.discard(firing)
            _backfill.dropped(self._backfills, firing)  # a backfill() waiting ends: JobNotFound
            self._runner._report_not_run(firing, Outcome.SKIPPED, "job removed")  # not lost
        self._runner.forget(id)
        self._emit(JobRemoved(at=self._clock.now(), job_id=id))

    async def pause(self, id: str) -> Job:
        """Pause a job: it does not fire until :meth:`resume`. Returns the job snapshot."""
        await self._ensure_store()
        job = await self._store.set_paused(id, True, now=self._clock.time())
        self._set_ticks_paused(id, True)
        self._emit(JobPaused(at=self._clock.now(), job_id=id))
        return job

    async def resume(self, id: str) -> Job:
        """Resume a paused job. Firings that fell inside the pause are not caught up."""
        await self._ensure_store()
        job = await self._store.set_paused(id, False, now=self._clock.time())
        self._set_ticks_paused(id, False)
        self._emit(JobResumed(at=self._clock.now(), job_id=id))
        return job

    async def modify(self, id: str, **changes: Unpack[ModifyKw]) -> Job:
        """Change a job's arguments or options in place, atomically, on every store.

        Takes :meth:`add`'s ``args``, ``kwargs`` and job options (``overlap``, ``retries``,
        ``timeout``, ``misfire_grace``...); what is not given stays. The trigger, the next run
        time, the paused state and the history are kept (use :meth:`reschedule` for the
        trigger). Runs already under way finish with the old definition. The change is
        validated like :meth:`add` and applied in one step of the store: a bad value changes
        nothing, and concurrent changes never lose one another.

        Raises:
            JobNotFound: no job has this id.
            InvalidJob: an unknown option, a bad value, or arguments that do not fit the
                callable's signature.
        """
        await self._ensure_store()
        return await _modify.modify(self, id, dict(changes))

    async def reschedule(self, id: str, trigger: Trigger) -> Job:
        """Give a job a new trigger, atomically: its next run is computed afresh from now.

        Arguments, options, the paused state and the history are kept.

        Raises:
            JobNotFound: no job has this id.
            InvalidJob: ``trigger`` is not a trigger.
            InvalidTrigger: the trigger cannot be bound (a naive ``At`` without a timezone).
        """
        return await _modify.reschedule(self, id, trigger)

    async def get(self, id: str) -> Job:
        """Return a snapshot of a job. Raises :class:`~aioscheduler.errors.JobNotFound`."""
        await self._ensure_store()
        return await self._store.get_job(id)

    async def jobs(self) -> list[Job]:
        """Return snapshots of all jobs, by next run time."""
        await self._ensure_store()
        return await self._store.list_jobs()

    async def run_now(self, id: str) -> None:
        """Fire a job once now, in addition to its schedule (its trigger is untouched).

        The job's overlap policy applies. Without a running scheduler the firing waits for
        :meth:`start` or :meth:`run_pending`.
        """
        job = await self.get(id)
        self._run_once_now(job.spec)

    async def backfill(
        self, id: str, start: datetime, end: datetime, *, limit: int = 1000
    ) -> list[Run]:
        """Run the firings ``start <= t < end`` of job ``id``'s trigger, oldest first, one after
        another, and return their runs (see :func:`aioscheduler._backfill.backfill`).

        Each run has ``Run.backfill`` true and ``scheduled_at`` the past firing time, in its
        events too; the job's overlap policy applies; its own schedule is untouched.

        Raises:
            JobNotFound: no job has this id.
            InvalidBackfill: ``start``/``end`` are not aware datetimes with ``start < end``, or
                ``limit`` is not an int >= 1.
            BackfillTooLarge: more than ``limit`` firings; then nothing runs.
            SchedulerStateError: the scheduler is not running.
        """
        return await _backfill.backfill(self, id, start, end, limit)

    def _local_firing(self, spec: JobSpec, due: float, *, final: bool, attempt: int = 1) -> Firing:
        claim = Claim(spec, due, due, 0, True, final, claimed=False)
        return Firing(due, claim=claim, attempt=attempt)

    def _schedule_retry(self, claim: Claim, attempt: int, due: float) -> None:
        retry = Claim(
            claim.spec,
            claim.scheduled_at,
            due,
            0,
            True,
            claim.final,
            False,
            backfill=claim.backfill,
        )
        self._push_local(due, Firing(due, claim=retry, attempt=attempt))

    def _pause_after_failures(self, job_id: str, failures: int) -> None:
        async def pause() -> None:
            try:
                await self._store.set_paused(job_id, True, now=self._clock.time())
            except JobNotFound:
                return
            self._set_ticks_paused(job_id, True)
            logger.warning(
                "job %r paused after %d consecutive failed runs",
                job_id,
                failures,
                extra={"job_id": job_id},
            )
            self._emit(
                JobPausedAfterFailures(at=self._clock.now(), job_id=job_id, failures=failures)
            )

        self._spawn(pause())

    def _job_finished(self, claim: Claim, run: Run | Firing, *, final: bool = True) -> None:
        """Queue a finished firing for the store (its Run is built at flush time, off the
        path of runs that are about to start)."""
        if not final and claim.final:
            claim = claim._replace(final=False)
        if claim.backfill:
            _backfill.finished(self._backfills, claim, run)
        self._releases.append((claim, run))
        if not self._flush_pending and not self._stopping:  # stop() records them itself
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        self._flush_pending = True
        self._spawn(self._flush_releases())

    async def _flush_releases(self) -> None:
        try:
            while self._releases:
                pending, self._releases = self._releases, []
                # runs whose lease was fenced or handed over at stop are not sent (_cluster.py)
                pending = self._cluster.releasable(pending)
                batch = [
                    (claim, run.to_run() if isinstance(run, Firing) else run)
                    for claim, run in pending
                ]
                retried = {i for i, (_, run) in enumerate(pending) if getattr(run, "retrying", 0)}
                stored = True
                try:
                    result = await self._store.release(batch)
                except Exception as exc:  # kept and written again: see _recording.py
                    stored = False
                    if (retry := await self._recorder.failed(pending, exc)) == "later":
                        return
                    if retry == "now":
                        continue
                else:
                    self._recorder.succeeded()
                    self._cluster.released(batch, result)
                for i, (claim, run) in enumerate(batch):
                    if i in retried:  # wait_run() returns the firing's final attempt
                        continue
                    # waiters wake once the store has the run, so get(id).last_run shows it
                    waiters = self._run_waiters.pop(claim.spec.id, None)
                    for fut in waiters or ():
                        if not fut.done():
                            fut.set_result(run)
                    if claim.final and stored:
                        self._unregister_ticks(claim.spec.id)
                        if self._hub.active:
                            self._emit(JobRemoved(at=self._clock.now(), job_id=claim.spec.id))
        finally:
            self._flush_pending = False

    async def wait_run(self, id: str, timeout: float | None = None) -> Run:
        """Wait for the next finished (or skipped/missed) run of job ``id`` and return it.

        A failed attempt that is retried is not returned: the firing's final attempt is (every
        attempt is in the job's history).

        Raises:
            JobNotFound: no job has this id.
            TimeoutError: nothing finished within ``timeout`` seconds (real time).
        """
        await self.get(id)
        fut: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
        self._run_waiters.setdefault(id, []).append(fut)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            waiters = self._run_waiters.get(id)
            if waiters and fut in waiters:
                waiters.remove(fut)

    async def run_pending(self) -> int:
        """Run every firing due now, to completion, without the background dispatcher.

        For code that pumps the scheduler itself (scripts, tests, a scheduler never started).
        Returns how many firings ran (skipped and missed ones are not counted).
        """
        if self._state == "running":
            raise SchedulerStateError("run_pending() is for a scheduler that is not running")
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_threads or 40)
        await self._ensure_store()
        await self._add_declared()
        before = self._runner.started_count
        now = self._clock.time()
        self._dispatcher.fire_local(now)
        while await self._dispatcher.claim_due(now) > 0:
            pass
        await self._runner.wait_idle()
        await self._drain_internal()
        return self._runner.started_count - before

    # -- activity counters ---------------------------------------------------------------------

    def tick(self, counter: str = "default", n: int = 1) -> None:
        """Advance the activity counter ``counter`` by ``n`` (see :class:`Ticks`).

        Every unpaused ``Ticks`` job on that counter whose count is reached fires now. Safe to
        call from any thread.
        """
        if not isinstance(counter, str) or not counter:
            raise ValueError(f"counter must be a non-empty str, got {counter!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        if not self._in_loop_thread():
            loop = self._loop
            assert loop is not None
            loop.call_soon_threadsafe(self.tick, counter, n)
            return
        jobs = self._ticks.get(counter)
        if not jobs:
            return
        now = self._clock.time()
        for job_id, slot in list(jobs.items()):
            remaining, spec, paused = slot
            if paused:
                continue
            remaining -= n
            trigger = spec.trigger
            assert isinstance(trigger, Ticks)
            while remaining <= 0:
                final = not trigger.repeat
                self._push_local(now, self._local_firing(spec, now, final=final))
                if final:
                    del jobs[job_id]
                    break
                remaining += trigger.n
            slot[0] = remaining

    def _register_ticks(self, spec: JobSpec, paused: bool) -> None:
        if self._ticks:
            self._unregister_ticks(spec.id)
        trigger = spec.trigger
        if isinstance(trigger, Ticks):
            self._ticks.setdefault(trigger.counter, {})[spec.id] = [trigger.n, spec, paused]

    def _unregister_ticks(self, job_id: str) -> None:
        for jobs in self._ticks.values():
            jobs.pop(job_id, None)

    def _set_ticks_paused(self, job_id: str, paused: bool) -> None:
        for jobs in self._ticks.values():
            if job_id in jobs:
                jobs[job_id][2] = paused

    async def _load_tick_jobs(self) -> None:
        if not self._store.persistent:
            return
        for spec, paused in await self._store.job_specs():  # no history: see job_specs()
            if isinstance(spec.trigger, Ticks) and not any(
                spec.id in j for j in self._ticks.values()
            ):
                self._register_ticks(spec, paused)

    # -- decorators and declared jobs ----------------------------------------------------------

    def _declare(self, trigger: Trigger, options: JobOptionsKw) -> Callable[[F], F]:
        def decorator(func: F) -> F:
            self._declare_func(func, trigger, options)
            return func

        return decorator

    def _declare_func(
        self, func: Callable[..., Any], trigger: Trigger, options: JobOptionsKw
    ) -> None:
        # Registered at declaration, before any store opens: its stored rows may name it.
        self._admission.register(
            func,
            args=options.get("args", ()),
            kwargs=options.get("kwargs"),
            retry_on=options.get("retry_on", ()),
        )
        # Fail at the door, except for the store's check: the decorated name is bound only
        # after the decorator returns, so a persistent store can resolve it at start().
        spec = self._spec_from_kw(func, trigger, options, store_check=False)
        self._declared.append((func, trigger, options))
        if self._state == "running":
            self._declared_done = len(self._declared)
            if self._in_loop_thread():
                self._spawn(declared_now(self, func, trigger, options, spec))
            else:  # decorated in another thread, e.g. beside start_in_thread()
                assert self._loop is not None
                self._loop.call_soon_threadsafe(
                    lambda: self._spawn(declared_now(self, func, trigger, options, spec))
                )

    def _spec_from_kw(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        options: JobOptionsKw,
        *,
        store_check: bool = True,
    ) -> JobSpec:
        opts: dict[str, Any] = dict(options)
        job_id = opts.pop("id", None)
        args = opts.pop("args", ())
        kwargs = opts.pop("kwargs", None)
        opts.pop("paused", None)
        opts.pop("replace", None)
        opts.pop("run_at_start", None)
        if opts.get("backoff") is None:
            opts.pop("backoff", None)
        try:
            job_options = make_options(**opts)
        except TypeError as exc:
            raise InvalidJob(f"unknown job option: {exc}") from None
        return self._make_spec(
            func,
            trigger,
            id=job_id,
            args=args,
            kwargs=kwargs,
            options=job_options,
            store_check=store_check,
        )

    async def _reconcile(self, spec: JobSpec, options: JobOptionsKw) -> Job:
        """Add a declared job if new, replace it if its definition changed, else leave it."""
        paused = bool(options.get("paused", False))
        if self._store.shared:  # atomic: many nodes may declare the same jobs at once
            return await self._cluster.declare(spec, paused)
        try:
            existing = await self._store.get_job(spec.id)
        except JobNotFound:
            return await self._add_spec(spec, paused=paused, replace=False)
        if existing.spec == spec or (
            existing.trigger == spec.trigger
            and existing.options == spec.options
            and existing.args == spec.args
            and dict(existing.kwargs) == dict(spec.kwargs)
            and _same_callable(existing.func, spec.func)
        ):
            return existing
        return await self._add_spec(spec, paused=existing.paused, replace=True)

    async def _add_declared(self) -> None:
        # Each declaration is reconciled once per Scheduler: a declared job removed at run time,
        # or a one-shot that already ran, does not come back at the next start().
        while self._declared_done < len(self._declared):
            func, trigger, options = self._declared[self._declared_done]
            self._declared_done += 1
            spec = self._spec_from_kw(func, trigger, options)
            job = await self._reconcile(spec, options)
            if options.get("run_at_start"):
                self._run_once_now(job.spec)

    def every(
        self,
        interval: float | timedelta | None = None,
        *,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        milliseconds: float = 0,
        jitter: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        **options: Unpack[JobOptionsKw],
    ) -> Callable[[F], F]:
        """Decorator: run the function on an :class:`Every` interval.

        Takes ``Every``'s arguments plus :meth:`add`'s job options; returns the function
        unchanged. The job is added at :meth:`start`, or at once if the scheduler runs.
        """
        trigger = Every(
            interval,
            weeks=weeks,
            days=days,
            hours=hours,
            minutes=minutes,
            seconds=seconds,
            milliseconds=milliseconds,
            jitter=jitter,
            start_at=start_at,
            end_at=end_at,
        )
        return self._declare(trigger, options)

    def cron(
        self,
        expression: str,
        *,
        timezone: str | tzinfo | None = None,
        jitter: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        dst_gap: GapPolicy = "cronie",
        dst_repeat: RepeatPolicy = "cronie",
        **options: Unpack[JobOptionsKw],
    ) -> Callable[[F], F]:
        """Decorator: run the function on a :class:`Cron` schedule (see :meth:`every`)."""
        trigger = Cron(
            expression,
            timezone=timezone,
            jitter=jitter,
            start_at=start_at,
            end_at=end_at,
            dst_gap=dst_gap,
            dst_repeat=dst_repeat,
        )
        return self._declare(trigger, options)

    def at(self, when: datetime, **options: Unpack[JobOptionsKw]) -> Callable[[F], F]:
        """Decorator: run the function once at ``when`` (see :meth:`every`)."""
        return self._declare(At(when), options)

    def include(self, target: Callable[..., Any] | ModuleType) -> None:
        """Add the jobs declared with the module-level :func:`aioscheduler.every` /
        :func:`aioscheduler.cron` decorators on a function, or on every function of a module.

        Raises:
            InvalidJob: a function without such a declaration, or a module without any.
        """
        if isinstance(target, ModuleType):
            found = [
                (func, trigger, options)
                for func in vars(target).values()
                if callable(func)
                for trigger, options in declared_jobs(func)
            ]
            if not found:
                raise InvalidJob(f"module {target.__name__!r} declares no jobs")
        else:
            found = [(target, t, o) for t, o in declared_jobs(target)]
            if not found:
                raise InvalidJob(
                    f"{_job_id(target)!r} has no job declaration; decorate it with "
                    f"aioscheduler.every(...) or aioscheduler.cron(...)"
                )
        for func, trigger, options in found:
            self._declare_func(func, trigger, options)

    # -- events --------------------------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[Any], object], *event_types: type[Event]
    ) -> Subscription:
        """Call ``callback(event)`` (sync or async) for every event of the given types (no
        types: every event). Delivery is asynchronous and buffered: a failing or slow
        subscriber never delays the dispatcher. ``Subscription.cancel()`` ends it."""
        return self._hub.subscribe(callback, event_types, self._event_buffer)

    def events(self, *event_types: type[E]) -> EventStream[E]:
        """``async for event in scheduler.events(RunFinished): ...`` (no types: every event).

        Buffered (``event_buffer``); when the consumer falls behind, newer events are dropped
        and counted in ``.dropped``. The iteration ends when the scheduler stops.
        """
        return self._hub.stream(event_types, self._event_buffer)

    # -- processes -----------------------------------------------------------------------------

    async def _process_call(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        from ._process import run_in_process

        return await run_in_process(self, func, args, kwargs or {})

    # -- test hooks ----------------------------------------------------------------------------

    def _idle_state(self) -> tuple[bool, int]:
        """(is idle now, progress counter) for FakeClock's settling."""
        now = self._clock.time()
        head = self._heap.peek()
        store_due = self._store.next_due()
        due_now = (head is not None and head <= now) or (store_due is not None and store_due <= now)
        idle = (
            not self._runner.busy
            and not due_now
            and (self._state != "running" or self._dispatcher.sleeping)
            and not self._releases
            and not any(not t.done() for t in self._internal)
            and not self._hub.thread_work
        )
        progress = self._runner.progress + self._dispatcher.rounds + len(self._heap)
        progress += self._hub.delivered
        return idle, progress

    def _clock_changed(self) -> None:
        self._dispatcher.wake()

    def __repr__(self) -> str:
        return f"<Scheduler {self._state} store={type(self._store).__name__}>"


def _same_callable(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    return a is b or (
        _job_id(a) == _job_id(b) and getattr(a, "__code__", None) is getattr(b, "__code__", None)
    )
