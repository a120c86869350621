"""The scheduler's lifecycle state and its statistics snapshot (plain values, no engine)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ("SchedulerState", "SchedulerStatistics")


class SchedulerState(enum.Enum):
    """Where a :class:`~aioscheduler.Scheduler` is in its lifecycle (``Scheduler.state``).

    ``STOPPED`` -> ``STARTING`` -> ``RUNNING`` -> ``STOPPING`` -> ``STOPPED``. A crash of an
    internal task (see :class:`~aioscheduler.errors.SchedulerCrashed`) goes through
    ``STOPPING`` to ``STOPPED`` on its own.
    """

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


@dataclass(frozen=True, slots=True)
class SchedulerStatistics:
    """A snapshot of what a scheduler is doing, from :meth:`Scheduler.statistics
    <aioscheduler.Scheduler.statistics>`. Counters only grow while the scheduler lives.

    Attributes:
        state: The lifecycle state.
        starts: How many times the scheduler was started.
        running: Firings running now (jobs and timers).
        waiting: Firings waiting for a ``max_concurrency`` slot.
        threads: Worker-thread runs in flight (jobs, timers and sync event subscribers).
        threads_finished: Worker-thread runs finished so far.
        local_entries: Timers and local job firings (retries, ``run_now``, ``Ticks``) waiting
            in the dispatcher's heap.
        due_now: Whether something is due now (in the heap or in the store).
        unrecorded: Finished runs waiting to be written to the store.
        internal_tasks: The scheduler's own tasks that are busy now (event delivery, history
            writes, reconciles...).
        dispatcher_sleeping: Whether the dispatcher waits for the next due time.
        started: Firings started so far.
        progress: A counter that grows whenever the engine does something (firings started
            and finished, dispatcher rounds, events delivered on threads, heap changes): two
            equal readings mean nothing happened in between.
        idle: Nothing runs, nothing is due, nothing waits to be recorded or delivered: a test
            clock may move time on.
        jobs_active: Jobs with runs (running, queued, in a backlog or failing) in this process.
        abandoned: Tasks given up on at ``stop()`` (they swallowed their cancellation) that
            have not ended yet.
        leases_lost: Leases of a shared store this node lost or fenced (each run cancelled or
            its completion refused).
        watchdog: Whether the loop watchdog (``loop_lag_threshold``) runs.
        store_open: Whether the store is open (``start()``, or a job call, opened it).
    """

    state: SchedulerState
    starts: int
    running: int
    waiting: int
    threads: int
    threads_finished: int
    local_entries: int
    due_now: bool
    unrecorded: int
    internal_tasks: int
    dispatcher_sleeping: bool
    started: int
    progress: int
    idle: bool
    jobs_active: int
    abandoned: int
    leases_lost: int
    watchdog: bool
    store_open: bool
