"""The job registry: adding, replacing, removing, pausing and resuming jobs in the store and
in the engine's local state (``Ticks`` counters, pending local firings, per-job run state),
and the jobs declared with decorators, reconciled with the store at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ._engine import Engine
from ._firing import Firing
from ._gcfreeze import Freezer
from ._recording import backfill_dropped
from ._specs import same_callable
from ._statistics import SchedulerState
from ._values import Job, JobOptionsKw, JobSpec, Outcome
from .errors import JobNotFound
from .events import JobAdded, JobPaused, JobRemoved, JobResumed, JobUpdated
from .stores.memory import MemoryStore
from .triggers import Trigger

__all__ = ("Registry",)

logger = logging.getLogger("aioscheduler")

#: A module constant: ``SchedulerState.RUNNING`` is an enum lookup (45 ns) on each add/remove.
_RUNNING = SchedulerState.RUNNING
#: ``Engine.lifecycle_heard``'s getter, called directly: the same function, without the
#: property's dispatch from C (not specialised on Python 3.11: 105 against 83 ns per call).
_heard: Callable[[Engine], bool] = Engine.lifecycle_heard.fget  # type: ignore[attr-defined]


class Registry:
    """The job operations of one scheduler (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._declared: list[tuple[Callable[..., Any], Trigger, JobOptionsKw]] = []
        self._declared_done = 0  # declarations reconciled so far (each only once)
        self._freezer = Freezer(small_bursts=True)  # gc.freeze() after many jobs were added
        # What a remove() may have to clean up besides the store, looked up without a call
        # (the common case: nothing; a call to each owner cost 40-95 ns per remove). Both
        # dicts are the same for the engine's life (their owners' docstrings say so).
        self._local = engine.dispatcher.local_firings()
        self._run_states = engine.runner.jobs.states()

    def add_now(self, spec: JobSpec, paused: bool) -> Job | None:
        """:meth:`add_spec` of a new job (no ``replace``) without a coroutine where nothing
        would await: a running scheduler on a plain :class:`MemoryStore`. ``None``: not that
        case, call :meth:`add_spec`. Same steps, same errors (``JobExists``)."""
        engine = self._engine
        store = engine.store
        if type(store) is not MemoryStore or engine.state is not _RUNNING:
            return None
        job = store.add_job_now(spec, engine.clock.time(), paused, False)
        self._added(spec, paused, job, False)
        return job

    async def add_spec(self, spec: JobSpec, *, paused: bool, replace: bool) -> Job:
        """Store a checked job; emit ``JobAdded`` or ``JobUpdated``."""
        engine = self._engine
        if engine.state is not _RUNNING:  # running: the store is open
            await engine.ensure_store()
        store, clock = engine.store, engine.clock
        existed = False
        if replace:
            try:
                await store.get_job(spec.id)
                existed = True
            except JobNotFound:
                pass
        job = await store.add_job(spec, now=clock.time(), paused=paused, replace=replace)
        self._added(spec, paused, job, existed)
        return job

    def _added(self, spec: JobSpec, paused: bool, job: Job, existed: bool) -> None:
        engine = self._engine
        self._freezer.added()
        engine.ticks.register(spec, paused)
        if _heard(engine):
            event = JobUpdated if existed else JobAdded
            engine.emit(event(at=engine.clock.now(), job_id=spec.id, job=job))

    def remove_now(self, job_id: str) -> bool:
        """:meth:`remove` without a coroutine, as :meth:`add_now`; ``False``: not that case,
        call :meth:`remove`."""
        engine = self._engine
        store = engine.store
        if type(store) is not MemoryStore or engine.state is not _RUNNING:
            return False
        store.remove_job_now(job_id)
        self._removed(job_id)
        return True

    async def remove(self, job_id: str) -> None:
        engine = self._engine
        if engine.state is not _RUNNING:  # running: the store is open
            await engine.ensure_store()
        await engine.store.remove_job(job_id)
        self._removed(job_id)

    def _removed(self, job_id: str) -> None:
        engine = self._engine
        ticks = engine.ticks
        if job_id in ticks.counted:  # most jobs are not Ticks jobs
            ticks.unregister(job_id)
        if job_id in self._local:  # retries, run_now, Ticks firings
            self._dropped(engine.dispatcher.drop_local(job_id))
        # Runs, queued firings, failure counts: JobRuns keeps a state for each job with any.
        # A backlog chain is only made for a job with a state, and while the scheduler runs
        # it ends before the state goes; stopping, a chain may outlive its state until
        # drop_queued(): then forget() is always asked.
        if job_id in self._run_states or engine.state is not _RUNNING:
            engine.runner.jobs.forget(job_id)  # what Runner.forget() does
        if _heard(engine):
            engine.emit(JobRemoved(at=engine.clock.now(), job_id=job_id))

    def _dropped(self, firings: Iterable[Firing]) -> None:
        """Report the local firings of a removed job as skipped (not lost)."""
        engine = self._engine
        jobs = engine.runner.jobs
        for firing in firings:
            backfill_dropped(engine.recorder.backfills, firing)  # a backfill() ends: JobNotFound
            jobs.report_not_run(firing, Outcome.SKIPPED, "job removed")

    async def set_paused(self, job_id: str, paused: bool) -> Job:
        engine = self._engine
        await engine.ensure_store()
        job = await engine.store.set_paused(job_id, paused, now=engine.clock.time())
        engine.ticks.set_paused(job_id, paused)
        event = JobPaused if paused else JobResumed
        engine.emit(event(at=engine.clock.now(), job_id=job_id))
        return job

    # -- declared jobs ---------------------------------------------------------------------------

    def declare(self, func: Callable[..., Any], trigger: Trigger, options: JobOptionsKw) -> None:
        """A job declared with a decorator or ``include()``: added at start, or now if the
        scheduler runs (from any thread)."""
        engine = self._engine
        # Registered at declaration, before any store opens: its stored rows may name it.
        engine.admission.register(
            func,
            args=options.get("args", ()),
            kwargs=options.get("kwargs"),
            retry_on=options.get("retry_on", ()),
        )
        # Fail at the door, except for the store's check: the decorated name is bound only
        # after the decorator returns, so a persistent store can resolve it at start().
        spec = engine.specs.from_kw(func, trigger, options, store_check=False)
        self._declared.append((func, trigger, options))
        if engine.state is SchedulerState.RUNNING:
            self._declared_done = len(self._declared)
            if engine.dispatcher.in_loop_thread():
                engine.spawn(self._declared_now(func, trigger, options, spec))
            else:  # decorated in another thread, e.g. beside start_in_thread()
                loop = engine.loop
                assert loop is not None
                loop.call_soon_threadsafe(
                    lambda: engine.spawn(self._declared_now(func, trigger, options, spec))
                )

    async def _declared_now(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        options: JobOptionsKw,
        spec: JobSpec,
    ) -> None:
        """Add a job declared while the scheduler runs, once the declaring module has bound
        its name.

        The decorator returns before the module binds the function's name, so the store's
        check (an import path that resolves to the function) runs here, on the next loop turn.
        A job that cannot be stored is logged with its id and not added; nothing else stops.
        """
        try:
            spec = self._engine.specs.from_kw(func, trigger, options)
            job = await self.reconcile(spec, options)
            if options.get("run_at_start"):
                self._engine.run_once_now(job.spec)
        except Exception as exc:
            logger.error(
                "declared job %r was not added: %s", spec.id, exc, extra={"job_id": spec.id}
            )

    async def reconcile(self, spec: JobSpec, options: JobOptionsKw) -> Job:
        """Add a declared job if new, replace it if its definition changed, else leave it."""
        paused = bool(options.get("paused", False))
        store = self._engine.store
        if store.shared:  # atomic: many nodes may declare the same jobs at once
            return await self._engine.cluster.declare(spec, paused)
        try:
            existing = await store.get_job(spec.id)
        except JobNotFound:
            return await self.add_spec(spec, paused=paused, replace=False)
        if existing.spec == spec or (
            existing.trigger == spec.trigger
            and existing.options == spec.options
            and existing.args == spec.args
            and dict(existing.kwargs) == dict(spec.kwargs)
            and same_callable(existing.func, spec.func)
        ):
            return existing
        return await self.add_spec(spec, paused=existing.paused, replace=True)

    async def add_declared(self) -> None:
        """Reconcile the declarations not reconciled yet with the store."""
        # Each declaration is reconciled once per Scheduler: a declared job removed at run time,
        # or a one-shot that already ran, does not come back at the next start().
        while self._declared_done < len(self._declared):
            func, trigger, options = self._declared[self._declared_done]
            self._declared_done += 1
            spec = self._engine.specs.from_kw(func, trigger, options)
            job = await self.reconcile(spec, options)
            if options.get("run_at_start"):
                self._engine.run_once_now(job.spec)
