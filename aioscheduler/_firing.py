"""One firing's bookkeeping (:class:`Firing`) and the context variable behind
:func:`current_run`."""

from __future__ import annotations

import asyncio
import contextvars
from typing import TYPE_CHECKING, Any

from ._clock import to_datetime
from ._values import JobSpec, Outcome, Run

if TYPE_CHECKING:
    from ._timers import Timer
    from .stores._base import Claim

__all__ = ("Firing", "current_run", "current_firing")

current_firing: contextvars.ContextVar[Firing] = contextvars.ContextVar("aioscheduler_current_run")


def current_run() -> Run | None:
    """Return the :class:`~aioscheduler.Run` being executed, from inside a callback.

    Works in coroutine callbacks and in callables run on worker threads; returns ``None``
    outside a scheduled callback. Use ``run.job_id`` with ``run.scheduled_at`` as an
    idempotency key.
    """
    firing = current_firing.get(None)
    return None if firing is None else firing.snapshot()


class Firing:
    """Mutable, per-firing bookkeeping (one allocation per firing besides the task)."""

    __slots__ = (
        "attempt",
        "cancel_reason",
        "claim",
        "due",
        "error",
        "finished",
        "heap_seq",
        "missed",
        "node",
        "outcome",
        "reason",
        "result",
        "retrying",
        "spec",
        "started",
        "task",
        "timed_out",
        "timer",
    )

    def __init__(
        self,
        due: float,
        timer: Timer | None = None,
        claim: Claim | None = None,
        attempt: int = 1,
    ) -> None:
        self.heap_seq = -1
        self.due = due
        self.timer = timer
        self.claim = claim
        self.spec: JobSpec | None = claim.spec if claim is not None else None
        self.missed = claim.missed if claim is not None else 0
        self.attempt = attempt
        self.started: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None
        self.timed_out = False
        self.outcome: Outcome = Outcome.SUCCESS
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished: float | None = None
        self.reason: str | None = None
        self.node: str | None = None
        self.retrying = False  # failed, and another attempt follows

    @property
    def job_id(self) -> str | None:
        return None if self.spec is None else self.spec.id

    def to_run(self) -> Run:
        """The finished run (built on demand: most finished firings are only counted)."""
        return self.snapshot(self.outcome, self.finished, self.result, self.error, self.reason)

    def snapshot(
        self,
        outcome: Outcome | None = None,
        finished: float | None = None,
        result: Any = None,
        error: BaseException | None = None,
        reason: str | None = None,
    ) -> Run:
        scheduled = self.claim.scheduled_at if self.claim is not None else self.due
        return Run(
            job_id=self.job_id,
            scheduled_at=to_datetime(scheduled),
            started_at=None if self.started is None else to_datetime(self.started),
            finished_at=None if finished is None else to_datetime(finished),
            attempt=self.attempt,
            outcome=outcome,
            reason=reason,
            missed=self.missed,
            result=result,
            error=error,
            timer=self.timer,
            node=self.node,
            backfill=self.claim is not None and self.claim.backfill,
        )
