"""The engine: the core parts of one scheduler, wired together, and their lifecycle.

:class:`Engine` builds the parts, each from the collaborators it needs (none of them sees the
engine or the face, only the small protocols they define: ``RunSink``, ``RecorderHost``,
``ClusterHost``, ``TimerHost``), and runs them under one supervising task group:

- ``start()`` opens the store, then starts a supervisor task that opens an
  :class:`asyncio.TaskGroup` running the dispatcher and every internal task (event delivery,
  history writes, reconciles, pauses, lease keep-alive). The per-firing tasks stay outside the
  group (``_runner.py``): ``TaskGroup.create_task`` adds a done callback per task, measured at
  +33 to +54 % per trivial task against ``loop.create_task`` without one (3.4-10 us on the
  loaded 2-CPU test VM, 10,000 tasks, median of 15, three runs), for no gain: a run's own
  wrapper already turns every ``Exception`` into an outcome, and ``stop()`` bounds the runs.
- A crash of any task in the group (an exception that is not a handled outcome: a bug, or a
  store raising something other than ``StoreError``) stops the scheduler: CRITICAL log line,
  :class:`~aioscheduler.events.SchedulerCrashedEvent`, the usual stop (running work is
  cancelled), ``running`` false; ``serve()`` raises
  :class:`~aioscheduler.errors.SchedulerCrashed`, and so does the next ``stop()``, once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import tzinfo
from typing import Any

from ._admission import Admission
from ._clock import Clock
from ._cluster import Cluster, incarnation_id
from ._dispatcher import Dispatcher
from ._events import EventHub
from ._executors import Executors
from ._firing import Firing
from ._lifecycle import Lifecycle
from ._logs import lifecycle_logger, log_lifecycle
from ._recording import Recorder
from ._runner import Runner
from ._specs import SpecMaker
from ._statistics import SchedulerState, SchedulerStatistics
from ._ticks import TickCounters
from ._timers import Timer
from ._values import JobSpec
from .errors import JobNotFound, StoreError
from .events import Event, JobBroken, JobPausedAfterFailures
from .stores._base import Claim, Store, StoreContext
from .triggers import Ticks

__all__ = ("Engine",)

logger = logging.getLogger("aioscheduler")


class Engine(Lifecycle):
    """The core of one scheduler (see the module docstring); its lifecycle is
    :class:`~aioscheduler._lifecycle.Lifecycle`'s."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        timezone: tzinfo | None,
        admission: Admission,
        max_concurrency: int | None,
        max_threads: int | None,
        max_processes: int | None,
        history_limit: int,
        lag_threshold: float | None,
        node_name: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.admission = admission
        self.node_name = node_name
        self.node_id = uuid.uuid4().hex[:12]
        self.history_limit = history_limit
        self.hub = EventHub()
        self.executors = Executors(max_threads, max_processes)
        self.cluster = Cluster(clock, store, self.hub, self)
        self.ticks = TickCounters(self._fire_ticks)
        self.recorder = Recorder(self, clock, store, self.cluster, self.hub, self.ticks.unregister)
        #: RunSink.job_finished: the recorder's own method, no hop through the engine per run
        self.job_finished: Callable[..., None] = self.recorder.job_finished
        self.runner = Runner(clock, self.hub, self.executors, store, self, max_concurrency)
        self.runner.jobs.node_name = node_name
        self.dispatcher = Dispatcher(clock, store, self.runner, self.cluster, self.hub)
        self.specs = SpecMaker(timezone, clock, store, admission)
        self._store_open = False
        super().__init__(lag_threshold)

    # -- what the parts ask of the engine (RunSink, RecorderHost, ClusterHost) -------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self.dispatcher.loop

    @property
    def lifecycle_heard(self) -> bool:
        """Whether a lifecycle event would be logged or published: when not, an emitter may
        skip building it (``add()``/``remove()`` of many jobs with no subscriber)."""
        return self.hub.active or lifecycle_logger.isEnabledFor(logging.INFO)

    def emit(self, event: Event) -> None:
        """Log a lifecycle event and publish it."""
        log_lifecycle(event)
        if self.hub.active:
            self.hub.emit(event)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as an internal task, supervised, and waited for at stop."""
        return self.spawn_task(coro, drain=True)

    def spawn_service(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a long-lived ``coro`` (event delivery, lease keep-alive), supervised; its owner
        ends it at stop."""
        return self.spawn_task(coro, drain=False)

    def schedule_retry(self, claim: Claim, attempt: int, due: float) -> None:
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
        self.dispatcher.push_local(due, Firing(due, claim=retry, attempt=attempt))

    def pause_after_failures(self, job_id: str, failures: int) -> None:
        self.spawn(self._pause_after_failures(job_id, failures))

    async def _pause_after_failures(self, job_id: str, failures: int) -> None:
        try:
            await self.store.set_paused(job_id, True, now=self.clock.time())
        except JobNotFound:
            return
        except StoreError as exc:  # an outage is never fatal: the next failure tries again
            logger.error("pausing job %r after %d failures failed: %s", job_id, failures, exc)
            return
        self.ticks.set_paused(job_id, True)
        logger.warning(
            "job %r paused after %d consecutive failed runs",
            job_id,
            failures,
            extra={"job_id": job_id},
        )
        self.emit(JobPausedAfterFailures(at=self.clock.now(), job_id=job_id, failures=failures))

    def reschedule_timer(self, timer: Timer, due: float) -> None:
        self.dispatcher.reschedule_timer(timer, due)

    def claim_again(self) -> None:
        self.dispatcher.wake()

    def cancel_claim(self, claim: Claim, reason: str) -> bool:
        return self.runner.cancel_claim(claim, reason)

    def job_changed(self, spec: JobSpec, paused: bool) -> None:
        self.ticks.register(spec, paused)

    def job_paused(self, job_id: str) -> None:
        self.ticks.set_paused(job_id, True)

    # -- local firings -----------------------------------------------------------------------------

    def local_firing(self, spec: JobSpec, due: float, *, final: bool) -> Firing:
        """A firing of ``spec`` that lives only in this process (run_now, Ticks)."""
        claim = Claim(spec, due, due, 0, True, final, claimed=False)
        return Firing(due, claim=claim)

    def run_once_now(self, spec: JobSpec) -> None:
        """Fire the job once now, apart from its schedule."""
        now = self.clock.time()
        self.dispatcher.push_local(now, self.local_firing(spec, now, final=False))

    def _fire_ticks(self, spec: JobSpec, final: bool) -> None:
        now = self.clock.time()
        self.dispatcher.push_local(now, self.local_firing(spec, now, final=final))

    async def load_tick_jobs(self) -> None:
        """Count the ``Ticks`` jobs a persistent store holds from an earlier run."""
        if not self.store.persistent:
            return
        for spec, paused in await self.store.job_specs():  # no history: see job_specs()
            if isinstance(spec.trigger, Ticks) and spec.id not in self.ticks:
                self.ticks.register(spec, paused)

    # -- the store ---------------------------------------------------------------------------------

    @property
    def store_open(self) -> bool:
        return self._store_open

    async def ensure_store(self) -> None:
        """Open the store once (at start, or at the first job call without a start)."""
        if self._store_open:
            return
        self.node_id = incarnation_id(self.node_name)
        self.admission.announce(self.store)  # once: what an unsigned store will refuse
        await self.store.open(
            StoreContext(
                self.node_id,
                self.dispatcher.poke,
                self.history_limit,
                self._job_broken,
                self.node_name,
                self.clock.time,
                admission=self.admission,
            )
        )
        self._store_open = True
        path = getattr(self.store, "path", None)
        where = f" at {path!r}" if isinstance(path, str) else ""
        logger.info("store opened: %s%s", type(self.store).__name__, where)

    async def close_store(self) -> None:
        if self._store_open:
            self._store_open = False
            await self.store.close()

    def _job_broken(self, job_id: str, reason: str) -> None:
        # the store has logged it (with the job id): here it becomes an event
        self.emit(JobBroken(at=self.clock.now(), job_id=job_id, reason=reason))

    async def run_pending(self, prepare: Callable[[], Awaitable[None]]) -> int:
        """Run every firing due now, to completion, without the background dispatcher."""
        self.executors.ensure_open()
        self.runner.open()
        await self.ensure_store()
        await prepare()
        before = self.runner.started_count
        now = self.clock.time()
        self.dispatcher.fire_local(now)
        while await self.dispatcher.claim_due(now) > 0:
            pass
        await self.runner.wait_idle()
        await self.drain_internal()
        return self.runner.started_count - before

    def statistics(self) -> SchedulerStatistics:
        """A snapshot of the engine (see :class:`SchedulerStatistics`)."""
        now = self.clock.time()
        dispatcher, runner, hub = self.dispatcher, self.runner, self.hub
        head = dispatcher.next_local()
        store_due = self.store.next_due()
        due_now = (head is not None and head <= now) or (store_due is not None and store_due <= now)
        internal = self.busy_internal
        idle = (
            not runner.busy
            and not due_now
            and (self.state is not SchedulerState.RUNNING or dispatcher.sleeping)
            and not self.recorder.pending
            and not internal
            and not hub.thread_work
        )
        threads = self.executors.threads + hub.threads_busy
        if not threads and hub.thread_work:  # events wait for a subscriber's thread
            threads = 1
        return SchedulerStatistics(
            state=self.state,
            starts=self.starts,
            running=runner.running_count,
            waiting=runner.waiting_count,
            threads=threads,
            threads_finished=self.executors.threads_done + hub.delivered,
            local_entries=len(dispatcher),
            due_now=due_now,
            unrecorded=self.recorder.pending,
            internal_tasks=internal,
            dispatcher_sleeping=dispatcher.sleeping,
            started=runner.started_count,
            progress=runner.progress + dispatcher.rounds + len(dispatcher) + hub.delivered,
            idle=idle,
            jobs_active=len(runner.jobs),
            abandoned=len(self.abandoned),
            leases_lost=self.cluster.lost,
            watchdog=self.watchdog_running,
            store_open=self._store_open,
        )
