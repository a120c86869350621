"""``aioscheduler jobs``: list a scheduler's jobs, or a store's, as a table."""

from __future__ import annotations

import inspect
from datetime import tzinfo
from typing import Any

from .._scheduler import Scheduler
from .._values import Job
from ..errors import SchedulerError
from ..stores import store_from_url
from ._table import format_local, format_table, format_utc
from ._target import UsageError, cwd_importable, load_scheduler

__all__ = ("list_jobs",)

HEADER = ("ID", "TRIGGER", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "PAUSED", "LAST OUTCOME")


async def list_jobs(
    target: str | None,
    store_url: str | None,
    tz: tzinfo | None,
    allow: list[str] | None = None,
    *,
    key: str | None = None,
) -> str:
    """Return the jobs table of the scheduler ``target`` or of the store at ``store_url``.

    A scheduler on the in-memory store lists the jobs its decorators declare, with the next
    run they would have if it started now. A persistent store is only read. Jobs a store
    cannot load (``broken_jobs()``), refused ones included (a callable outside ``allow``), are
    listed after the table. ``key`` reads a signed store (``--secret-key-env``).
    """
    if store_url is not None:
        cwd_importable()
        try:
            options = {} if key is None else {"secret_key": key}  # --secret-key-env
            scheduler = Scheduler(store=store_from_url(store_url, **options), allow=allow)
        except SchedulerError as exc:
            raise UsageError(str(exc)) from None
    else:
        assert target is not None
        scheduler = await load_scheduler(target)
    store = scheduler.store
    try:
        if not store.persistent:
            await scheduler._add_declared()  # what start() would add, without starting
        jobs = await scheduler.jobs()
        broken = await _broken(store)
    finally:
        await store.close()
    text = format_table(HEADER, [_row(job, tz) for job in jobs]) if jobs else "no jobs"
    if broken:
        lines = [f"{len(broken)} broken job{'s' if len(broken) > 1 else ''} (cannot be loaded):"]
        lines += [f"  {job_id}: {reason}" for job_id, reason in broken]
        text += "\n\n" + "\n".join(lines)
    return text


def _row(job: Job, tz: tzinfo | None) -> list[str]:
    nxt = job.next_run_at
    last = job.last_run.outcome if job.last_run is not None else None
    return [
        job.id,
        job.trigger.describe(),
        format_local(nxt, tz) if nxt else "-",
        format_utc(nxt) if nxt else "-",
        "yes" if job.paused else "no",
        str(last) if last is not None else "-",
    ]


async def _broken(store: Any) -> list[tuple[str, str]]:
    method = getattr(store, "broken_jobs", None)
    if method is None:
        return []
    result = method()
    if inspect.isawaitable(result):
        result = await result
    out = []
    for item in result or ():
        if isinstance(item, tuple) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
        else:
            job_id = getattr(item, "id", None) or getattr(item, "job_id", None) or item
            reason = getattr(item, "reason", None) or getattr(item, "error", None) or "broken"
            out.append((str(job_id), str(reason)))
    return out
