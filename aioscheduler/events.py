"""Typed, frozen events that a scheduler emits, and the subscription handles.

Subscribe with ``scheduler.subscribe(callback, *event_types)`` (no types: every event) or
iterate with ``async for event in scheduler.events(*event_types)``. Events about a run carry it
as ``.run``. Delivery never blocks the dispatcher: each subscriber has a bounded buffer, and
what overflows is dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ._values import Job, Run

__all__ = (
    "ClockJumped",
    "Event",
    "JobAdded",
    "JobBroken",
    "JobEvent",
    "JobPaused",
    "JobPausedAfterFailures",
    "JobRemoved",
    "JobResumed",
    "JobUpdated",
    "LeaseLost",
    "LoopStalled",
    "RunEvent",
    "RunFinished",
    "RunLost",
    "RunMissed",
    "RunSkipped",
    "RunStarted",
    "SchedulerCrashedEvent",
    "SchedulerStarted",
    "SchedulerStopped",
    "StoreRecovered",
    "StoreUnavailable",
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event. ``at`` is when it was emitted (scheduler clock, aware UTC)."""

    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStarted(Event):
    """The scheduler started dispatching."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStopped(Event):
    """The scheduler stopped. ``abandoned`` names each run that did not end when cancelled
    at ``stop()`` (it swallowed the cancellation): it is left to end on its own.
    ``unrecorded`` names each finished run the store could not record (see
    ``docs/persistence.md``)."""

    abandoned: tuple[str, ...] = ()
    unrecorded: tuple[str, ...] = ()
    """Finished runs the store could not record, even after retries (disk full...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerCrashedEvent(Event):
    """An internal task failed with an unexpected error (a bug): the scheduler stops itself;
    ``serve()`` raises :class:`~aioscheduler.errors.SchedulerCrashed`. A
    :class:`SchedulerStopped` follows."""

    task: str = ""
    """Which internal task failed (``"dispatcher"``, ``"event delivery"``...)."""
    error: str = ""
    """The error, as ``repr()``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEvent(Event):
    """Base of events about one job."""

    job_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobAdded(JobEvent):
    """A new job was added."""

    job: Job


@dataclass(frozen=True, slots=True, kw_only=True)
class JobUpdated(JobEvent):
    """An existing job was replaced (``replace=True``) or reconciled with new options."""

    job: Job


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRemoved(JobEvent):
    """A job was removed (by the API, or because its trigger is exhausted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPaused(JobEvent):
    """A job was paused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResumed(JobEvent):
    """A paused job was resumed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPausedAfterFailures(JobEvent):
    """A job was paused because ``pause_after_failures`` consecutive runs failed."""

    failures: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobBroken(JobEvent):
    """A stored job cannot be loaded (tampered, unreadable, callable gone); it is skipped."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent(Event):
    """Base of events about one firing; ``run.job_id`` is ``None`` for a timer."""

    run: Run


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(RunEvent):
    """A firing started running."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(RunEvent):
    """A run finished: ``run.outcome`` is success, error, timeout or cancelled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSkipped(RunEvent):
    """A firing did not run (``run.reason`` says why, e.g. the previous run still running)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMissed(RunEvent):
    """A firing came later than its misfire grace; ``run.missed`` firings were not run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunLost(RunMissed):
    """A firing whose last allowed attempt was interrupted by a crash (the process died
    mid-run) is not run again: ``run.attempt`` is the attempt that was lost, ``run.reason``
    says why. A :class:`RunMissed` too (outcome ``missed``), so missed-firing handlers see it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockJumped(Event):
    """The wall clock moved differently from the monotonic clock (a clock step or a host
    suspend): ``delta`` is wall time elapsed minus monotonic time elapsed."""

    delta: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseLost(JobEvent):
    """A shared store's lease on a firing of this node ended before its run did: taken over
    by another node after expiry, revoked by ``overlap="replace"``, not renewable in time
    (self-fencing), or its completion refused. The run is cancelled if still running, and its
    outcome is not recorded; the firing runs again elsewhere (at-least-once) or is reported
    lost (``delivery="at-most-once"``)."""

    scheduled_at: datetime
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreUnavailable(Event):
    """The store stopped answering (one event per outage). The scheduler keeps running its
    timers and retries the store with backoff."""

    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreRecovered(Event):
    """The store answers again after an outage of ``downtime``."""

    downtime: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopStalled(Event):
    """The event loop was blocked for ``duration`` (more than the scheduler's
    ``loop_lag_threshold``): every firing due meanwhile is that late. ``job_id`` names the
    job whose run was running on the loop when it was sampled, if any; ``culprit`` describes
    what was running (a job, a timer, another task) and where (``file:line in function``)."""

    duration: timedelta
    job_id: str | None = None
    culprit: str = "unknown"
