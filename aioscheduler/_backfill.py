"""``Scheduler.backfill()``: run the firings of a past window, oldest first, one at a time.

The firings are the job's trigger's, computed from the window's start (an ``Every`` without
``start_at`` is laid on a grid starting at ``start``). Each goes through the scheduler like a
``run_now`` firing - the job's overlap policy, concurrency bound, retries and events apply -
but its claim is marked ``backfill`` with the past firing as ``scheduled_at``, so its
``Run.backfill`` is true. The job's own schedule is not touched: the store only records the
runs. Counting comes first, so a window with more than ``limit`` firings runs nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ._runner import Firing
from ._values import Run
from .errors import BackfillTooLarge, InvalidBackfill, JobNotFound, SchedulerStateError
from .stores import Claim
from .triggers import Every, Trigger

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("backfill", "dropped", "finished", "firings_between")

_US = timedelta(microseconds=1)


def firings_between(trigger: Trigger, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """The firings ``start <= t < end`` of ``trigger``, oldest first.

    Raises:
        BackfillTooLarge: There are more than ``limit`` (counting stops at ``limit + 1``).
    """
    if isinstance(trigger, Every) and trigger.start_at is None:
        trigger = replace(trigger, start_at=start)
    out: list[datetime] = []
    t = trigger.anchor(start).first_fire(start - _US)
    while t is not None and t < end:
        if t >= start:
            if len(out) == limit:
                raise BackfillTooLarge(
                    f"backfill window {start.isoformat()} to {end.isoformat()} holds more than "
                    f"limit={limit} firings; nothing was run (raise limit or narrow the window)"
                )
            out.append(t)
        t = trigger.next_after(t)
    return out


def _check(start: object, end: object, limit: object) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise InvalidBackfill(f"{name} must be an aware datetime, got {value!r}")
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if not start < end:
        raise InvalidBackfill(f"start {start.isoformat()} must be before end {end.isoformat()}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidBackfill(f"limit must be an int >= 1, got {limit!r}")


async def backfill(
    scheduler: Scheduler, job_id: str, start: datetime, end: datetime, limit: int
) -> list[Run]:
    """See :meth:`Scheduler.backfill`."""
    _check(start, end, limit)
    job = await scheduler.get(job_id)
    times = firings_between(job.spec.trigger, start, end, limit)
    if not scheduler.running:
        raise SchedulerStateError("backfill() needs a running scheduler (start it first)")
    loop = asyncio.get_running_loop()
    runs: list[Run] = []
    for t in times:
        if not scheduler.running:
            break
        now = scheduler._clock.time()
        claim = Claim(job.spec, t.timestamp(), now, 0, True, False, False, backfill=True)
        fut: asyncio.Future[Run] = loop.create_future()
        scheduler._backfills[id(claim)] = fut
        scheduler._push_local(now, Firing(now, claim=claim))
        try:
            runs.append(await fut)
        except asyncio.CancelledError:
            if fut.cancelled() and not _current_task_cancelling():
                raise JobNotFound(job_id) from None  # removed while its backfill ran
            raise
        finally:
            scheduler._backfills.pop(id(claim), None)
    return runs


def finished(waiting: dict[int, asyncio.Future[Run]], claim: Claim, run: Run | Firing) -> None:
    """A backfill firing finished (ran, or was skipped by the overlap policy): wake its
    ``backfill()``."""
    fut = waiting.pop(id(claim), None)
    if fut is not None and not fut.done():
        fut.set_result(run.to_run() if isinstance(run, Firing) else run)


def dropped(waiting: dict[int, asyncio.Future[Run]], firing: Firing) -> None:
    """A pending firing was dropped with its job: end a ``backfill()`` waiting for it."""
    if firing.claim is not None:
        fut = waiting.pop(id(firing.claim), None)
        if fut is not None:
            fut.cancel()


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
