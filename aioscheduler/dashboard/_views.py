"""What the dashboard shows of a job, computed from snapshots (no HTML here)."""

from __future__ import annotations

import inspect
import logging
import os
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .._values import Job, Outcome, Run
from ..triggers import Trigger

__all__ = (
    "FAILED",
    "JobView",
    "callable_name",
    "describe_trigger",
    "failure_streak",
    "format_error",
    "lateness_ms",
    "next_firings",
    "running_by_job",
    "view_of",
)

logger = logging.getLogger("aioscheduler.dashboard")

#: Outcomes counted as failures (the streak, the red marks).
FAILED = frozenset({Outcome.ERROR, Outcome.TIMEOUT})


def describe_trigger(trigger: Trigger) -> str:
    """The trigger in words: ``trigger.describe()`` where it exists, else ``repr()``."""
    describe = getattr(trigger, "describe", None)
    if callable(describe):
        try:
            return str(describe())
        except Exception:  # a third-party trigger's describe() must not break the page
            pass
    return repr(trigger)


def callable_name(func: object) -> str:
    """``module.qualname`` of a job's callable (its ``repr`` for anything else)."""
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None)
    if isinstance(module, str) and isinstance(name, str):
        return f"{module}.{name}"
    return repr(func)


def failure_streak(history: Iterable[Run]) -> int:
    """How many of the latest runs failed in a row (bounded by the history kept)."""
    streak = 0
    for run in reversed(tuple(history)):
        if run.outcome in FAILED:
            streak += 1
        elif run.outcome in (Outcome.SUCCESS, Outcome.CANCELLED):
            break
    return streak


def lateness_ms(run: Run | None) -> float | None:
    """A run's lateness in milliseconds, or ``None`` if it never started."""
    if run is None or run.lateness is None:
        return None
    return run.lateness / timedelta(milliseconds=1)


def format_error(run: Run) -> str | None:
    """The traceback of a failed run (type and message only for runs read from a store)."""
    error = run.error
    if error is None:
        if run.outcome is Outcome.TIMEOUT:
            return "timed out"
        return None
    if error.__traceback__ is None:
        return "".join(traceback.format_exception_only(error)).rstrip()
    report = traceback.TracebackException.from_exception(error)
    frames = list(report.stack)
    # Drop the scheduler's own leading frames (runner, thread pool): the job's come first.
    while len(frames) > 1 and any(part in frames[0].filename for part in _MACHINERY):
        frames.pop(0)
    report.stack = traceback.StackSummary.from_list(frames)
    return "".join(report.format()).rstrip()


_MACHINERY = (
    f"{os.sep}aioscheduler{os.sep}_",
    f"{os.sep}anyio{os.sep}",
    f"{os.sep}asyncio{os.sep}",
    f"{os.sep}concurrent{os.sep}futures{os.sep}",
)


def next_firings(job: Job, k: int = 10, now: datetime | None = None) -> list[datetime]:
    """The next ``k`` firings of ``job``: from its next run time when it has one, else (a
    paused job) what ``trigger.preview`` gives from ``now``, which is what resuming would do."""
    now = now or datetime.now(UTC)
    if job.next_run_at is None:
        return job.trigger.preview(k, after=now) if job.paused else []
    out = [job.next_run_at]
    t: datetime | None = job.next_run_at
    while len(out) < k:
        assert t is not None
        t = job.trigger.next_after(t)
        if t is None:
            break
        out.append(t)
    return out


@dataclass(frozen=True, slots=True)
class JobView:
    """One row of the jobs page."""

    id: str
    callable: str
    trigger: str
    next_run_at: datetime | None
    paused: bool
    last_outcome: str | None
    last_lateness_ms: float | None
    streak: int
    running: tuple[str, ...] | None = None
    """Where its firings run right now (``node (attempt, lease left)``), for stores that lease
    firings (PostgreSQL, Redis); ``None`` when the store cannot tell."""

    @property
    def state(self) -> str:
        """``paused``, ``failing`` (a failure streak), ``done`` (no next run) or ``active``."""
        if self.paused:
            return "paused"
        if self.streak:
            return "failing"
        if self.next_run_at is None:
            return "idle"
        return "active"

    @property
    def search_text(self) -> str:
        """What the search box matches (lower case)."""
        return f"{self.id} {self.callable} {self.trigger}".lower()


def view_of(job: Job, running: Mapping[str, tuple[str, ...]] | None = None) -> JobView:
    """Build the row of ``job`` (``running``: what :func:`running_by_job` gave, if anything)."""
    last = job.last_run
    return JobView(
        id=job.id,
        callable=callable_name(job.func),
        trigger=describe_trigger(job.trigger),
        next_run_at=job.next_run_at,
        paused=job.paused,
        last_outcome=str(last.outcome) if last is not None and last.outcome else None,
        last_lateness_ms=lateness_ms(last),
        streak=failure_streak(job.history),
        running=None if running is None else running.get(job.id, ()),
    )


async def running_by_job(store: object) -> dict[str, tuple[str, ...]] | None:
    """The firings a store has leased right now, by job, as ``node (attempt N, lease S s)``,
    from ``store.leases()`` where the store has it (PostgreSQL, Redis); else ``None``."""
    method = getattr(store, "leases", None)
    if not callable(method):
        return None
    try:
        result = method()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # the page shows what it can; the jobs are still listed
        logger.warning("reading the leases of %r failed: %s", store, exc)
        return None
    out: dict[str, list[str]] = {}
    for lease in result or ():
        job_id = str(getattr(lease, "job_id", "?"))
        node = getattr(lease, "node", "?")
        attempt = getattr(lease, "attempt", "?")
        left = getattr(lease, "expires_in", None)
        left_text = f", lease {left:.0f} s" if isinstance(left, int | float) else ""
        out.setdefault(job_id, []).append(f"{node} (attempt {attempt}{left_text})")
    return {job_id: tuple(items) for job_id, items in out.items()}
