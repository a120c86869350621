"""The face's job API: ``add``, ``remove``, ``pause``, ``modify``... (a base of
:class:`~aioscheduler.Scheduler`). Each method validates its arguments and delegates to the
core (the registry, the engine)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Unpack

from . import _backfill, _modify
from ._engine import Engine
from ._registry import Registry
from ._statistics import SchedulerState
from ._values import (
    Backoff,
    Delivery,
    Executor,
    Job,
    ModifyKw,
    Overlap,
    Run,
    make_options,
)
from .errors import InvalidJob, SchedulerStateError
from .triggers import Trigger

__all__ = ("JobMethods",)

_DEFAULT_BACKOFF = Backoff()
_DEFAULT_RETRY_ON: tuple[type[BaseException], ...] = (Exception,)
#: The options of ``add()`` with every option left at its default.
_DEFAULT_OPTIONS = make_options(
    overlap="skip",
    max_instances=None,
    misfire_grace=None,
    coalesce=True,
    executor=None,
    timeout=None,
    retries=0,
    backoff=_DEFAULT_BACKOFF,
    retry_on=_DEFAULT_RETRY_ON,
    pause_after_failures=None,
    delivery="at-least-once",
)


class JobMethods:
    """The job API of a scheduler (see :class:`~aioscheduler.Scheduler`)."""

    _engine: Engine
    _registry: Registry

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
        if (
            overlap == "skip"
            and max_instances is None
            and misfire_grace is None
            and coalesce is True
            and executor is None
            and timeout is None
            and retries.__class__ is int
            and retries == 0
            and backoff is None
            and retry_on == _DEFAULT_RETRY_ON
            and pause_after_failures is None
            and delivery == "at-least-once"
        ):
            options = _DEFAULT_OPTIONS  # what make_options() gives for these: no need to ask
        else:
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
        if (
            paused.__class__ is not bool
            or replace.__class__ is not bool
            or run_at_start.__class__ is not bool
        ):
            raise InvalidJob(
                f"paused, replace and run_at_start must be bools, got {paused!r}, {replace!r}, "
                f"{run_at_start!r}"
            )
        spec = self._engine.specs.make(
            func, trigger, id=id, args=args, kwargs=kwargs, options=options
        )
        registry = self._registry
        job = None if replace else registry.add_now(spec, paused)  # no coroutine if it can
        if job is None:
            job = await registry.add_spec(spec, paused=paused, replace=replace)
        if run_at_start:
            self._engine.run_once_now(job.spec)
        return job

    async def remove(self, id: str) -> None:
        """Remove a job; its future firings are dropped (a running run finishes).

        Raises:
            JobNotFound: no job has this id.
        """
        if not self._registry.remove_now(id):  # no coroutine if it can
            await self._registry.remove(id)

    async def pause(self, id: str) -> Job:
        """Pause a job: it does not fire until :meth:`resume`. Returns the job snapshot."""
        return await self._registry.set_paused(id, True)

    async def resume(self, id: str) -> Job:
        """Resume a paused job. Firings that fell inside the pause are not caught up."""
        return await self._registry.set_paused(id, False)

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
        await self._engine.ensure_store()
        return await _modify.modify(self._engine, id, dict(changes))

    async def reschedule(self, id: str, trigger: Trigger) -> Job:
        """Give a job a new trigger, atomically: its next run is computed afresh from now.

        Arguments, options, the paused state and the history are kept.

        Raises:
            JobNotFound: no job has this id.
            InvalidJob: ``trigger`` is not a trigger.
            InvalidTrigger: the trigger cannot be bound (a naive ``At`` without a timezone).
        """
        return await _modify.reschedule(self._engine, id, trigger)

    async def get(self, id: str) -> Job:
        """Return a snapshot of a job. Raises :class:`~aioscheduler.errors.JobNotFound`."""
        await self._engine.ensure_store()
        return await self._engine.store.get_job(id)

    async def jobs(self, *, history: bool = True) -> list[Job]:
        """Return snapshots of all jobs, by next run time.

        ``history=False`` leaves the run history out (``Job.history`` empty, ``Job.last_run``
        ``None``) and does not read it: on a persistent store with many jobs and runs this is
        the fast listing (100,000 jobs in well under a second on SQLite); :meth:`get` returns
        one job with its history.
        """
        await self._engine.ensure_store()
        return await self._engine.store.list_jobs(history=history)

    async def run_now(self, id: str) -> None:
        """Fire a job once now, in addition to its schedule (its trigger is untouched).

        The job's overlap policy applies. Without a running scheduler the firing waits for
        :meth:`start` or :meth:`run_pending`.
        """
        job = await self.get(id)
        self._engine.run_once_now(job.spec)

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
        return await _backfill.backfill(self._engine, id, start, end, limit)

    async def wait_run(self, id: str, timeout: float | None = None) -> Run:
        """Wait for the next finished (or skipped/missed) run of job ``id`` and return it.

        A failed attempt that is retried is not returned: the firing's final attempt is (every
        attempt is in the job's history).

        Raises:
            JobNotFound: no job has this id.
            TimeoutError: nothing finished within ``timeout`` seconds (real time).
        """
        await self.get(id)
        return await self._engine.recorder.wait_run(id, timeout)

    async def run_pending(self) -> int:
        """Run every firing due now, to completion, without the background dispatcher.

        For code that pumps the scheduler itself (scripts, tests, a scheduler never started).
        Returns how many firings ran (skipped and missed ones are not counted).
        """
        if self._engine.state is SchedulerState.RUNNING:
            raise SchedulerStateError("run_pending() is for a scheduler that is not running")
        return await self._engine.run_pending(self._registry.add_declared)

    def tick(self, counter: str = "default", n: int = 1) -> None:
        """Advance the activity counter ``counter`` by ``n`` (see :class:`Ticks`).

        Every unpaused ``Ticks`` job on that counter whose count is reached fires now. Safe to
        call from any thread.
        """
        if not isinstance(counter, str) or not counter:
            raise ValueError(f"counter must be a non-empty str, got {counter!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        dispatcher = self._engine.dispatcher
        if not dispatcher.in_loop_thread():
            loop = dispatcher.loop
            assert loop is not None
            loop.call_soon_threadsafe(self.tick, counter, n)
            return
        self._engine.ticks.tick(counter, n)
