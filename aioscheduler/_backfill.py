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

from ._engine import Engine
from ._firing import Firing
from ._statistics import SchedulerState
from ._values import Run
from .errors import BackfillTooLarge, InvalidBackfill, JobNotFound, SchedulerStateError
from .stores import Claim
from .triggers import Every, Trigger

__all__ = ("backfill", "firings_between")

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
    engine: Engine, job_id: str, start: datetime, end: datetime, limit: int
) -> list[Run]:
    """See :meth:`Scheduler.backfill`."""
    _check(start, end, limit)
    await engine.ensure_store()
    job = await engine.store.get_job(job_id)
    times = firings_between(job.spec.trigger, start, end, limit)
    if engine.state is not SchedulerState.RUNNING:
        raise SchedulerStateError("backfill() needs a running scheduler (start it first)")
    loop = asyncio.get_running_loop()
    runs: list[Run] = []
    for t in times:
        if engine.state is not SchedulerState.RUNNING:
            break
        now = engine.clock.time()
        claim = Claim(job.spec, t.timestamp(), now, 0, True, False, False, backfill=True)
        fut: asyncio.Future[Run] = loop.create_future()
        engine.recorder.backfills[id(claim)] = fut
        engine.dispatcher.push_local(now, Firing(now, claim=claim))
        try:
            runs.append(await fut)
        except asyncio.CancelledError:
            if fut.cancelled() and not _current_task_cancelling():
                raise JobNotFound(job_id) from None  # removed while its backfill ran
            raise
        finally:
            engine.recorder.backfills.pop(id(claim), None)
    return runs


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
