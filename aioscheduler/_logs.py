"""What the scheduler logs, and at which level (one place, so that each thing is said once).

- INFO: lifecycle: the scheduler started or stopped, a store opened, a job added, replaced,
  removed, paused or resumed.
- DEBUG: every firing that ran as planned.
- WARNING: a failed attempt that is retried ("retrying in N s (attempt k of n)"), a missed
  firing, a job paused after failures.
- ERROR: a firing's final failure (with the traceback), a store failure.

Nothing is logged twice: the command line adds its own per-firing lines only for firings that
the library does not log (see ``aioscheduler.cli.run.log_run``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from ._values import JobSpec, Outcome
from .events import (
    Event,
    JobAdded,
    JobPaused,
    JobRemoved,
    JobResumed,
    JobUpdated,
    SchedulerStarted,
    SchedulerStopped,
)


class Attempt(Protocol):
    """One attempt of a job run (the engine's ``Firing``), as the log lines need it."""

    @property
    def spec(self) -> JobSpec | None: ...

    @property
    def attempt(self) -> int: ...


__all__ = ("lifecycle_logger", "log_failure", "log_lifecycle")

lifecycle_logger = logging.getLogger("aioscheduler")


def log_lifecycle(event: Event) -> None:
    """Log a lifecycle event at INFO (other events are not logged here)."""
    if not lifecycle_logger.isEnabledFor(logging.INFO):
        return
    job_id = getattr(event, "job_id", None)
    extra = {"job_id": job_id}
    if isinstance(event, JobAdded | JobUpdated):
        verb = "added" if isinstance(event, JobAdded) else "replaced"
        lifecycle_logger.info(
            "job %r %s: %s", job_id, verb, event.job.trigger.describe(), extra=extra
        )
    elif isinstance(event, JobRemoved):
        lifecycle_logger.info("job %r removed", job_id, extra=extra)
    elif isinstance(event, JobPaused):
        lifecycle_logger.info("job %r paused", job_id, extra=extra)
    elif isinstance(event, JobResumed):
        lifecycle_logger.info("job %r resumed", job_id, extra=extra)
    elif isinstance(event, SchedulerStarted):
        lifecycle_logger.info("scheduler started")
    elif isinstance(event, SchedulerStopped):
        lifecycle_logger.info("scheduler stopped")


def log_failure(
    logger: logging.Logger,
    firing: Attempt,
    outcome: Outcome,
    error: BaseException | None,
    retry_in: float | None,
) -> None:
    """Log one failed attempt of a job, once: a WARNING without traceback when a retry
    follows (``retry_in`` seconds), else an ERROR with the traceback."""
    spec = firing.spec
    assert spec is not None
    attempts = max(spec.options.retries + 1, firing.attempt)
    what = outcome.value if error is None else f"{outcome.value}: {type(error).__name__}: {error}"
    extra = {"job_id": spec.id, "attempt": firing.attempt, "outcome": outcome.value}
    if retry_in is not None:
        logger.warning(
            "job %r attempt %d of %d failed (%s); retrying in %.3g s (attempt %d of %d)",
            spec.id,
            firing.attempt,
            attempts,
            what,
            retry_in,
            firing.attempt + 1,
            attempts,
            extra=extra,
        )
        return
    after = f" after {firing.attempt} attempts" if firing.attempt > 1 else ""
    logger.error("job %r failed%s (%s)", spec.id, after, outcome.value, exc_info=error, extra=extra)
