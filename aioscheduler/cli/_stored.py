"""``aioscheduler jobs --store URL`` on a shared store: jobs, next times, and the firings
running right now with their nodes, read without importing the jobs' modules."""

from __future__ import annotations

import contextlib
from datetime import tzinfo
from typing import Any

from .._scheduler import Scheduler
from ..errors import SchedulerError
from ._table import format_local, format_table, format_utc
from ._target import UsageError, cwd_importable

__all__ = ("shared_store_table", "stored_jobs_table")

SHARED_SCHEMES = ("postgresql", "postgres", "redis", "rediss")


async def shared_store_table(url: str, allow: list[str] | None, tz: tzinfo | None) -> str | None:
    """The table of a shared store at ``url`` (``None`` for other stores)."""
    if url.partition("://")[0] not in SHARED_SCHEMES:
        return None
    cwd_importable()
    try:
        scheduler = Scheduler(store=url, allow=allow)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    store = scheduler.store
    if not hasattr(store, "describe_jobs"):
        return None
    try:
        await scheduler._ensure_store()
        return await stored_jobs_table(store, tz)
    except SchedulerError as exc:
        raise UsageError(f"cannot list the jobs of {store!r}: {exc}", exit_code=1) from None
    finally:
        with contextlib.suppress(SchedulerError):
            await store.close()


HEADER = (
    "ID", "CALLABLE", "TRIGGER", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "PAUSED",
    "LAST OUTCOME", "RUNNING ON (ATTEMPT, LEASE LEFT)",
)  # fmt: skip


async def stored_jobs_table(store: Any, tz: tzinfo | None) -> str:
    """The table of a store offering ``describe_jobs()`` (see ``stores/_inspect.py``)."""
    rows = []
    broken = []
    for job in await store.describe_jobs():
        if job.problem is not None:
            broken.append(f"  {job.id}: {job.problem}")
            continue
        nxt = job.next_run_at
        running = ", ".join(
            f"{lease.node} ({lease.attempt}, {lease.expires_in:.1f} s)" for lease in job.leases
        )
        rows.append(
            [
                job.id, job.func, job.trigger,
                format_local(nxt, tz) if nxt else "-", format_utc(nxt) if nxt else "-",
                "yes" if job.paused else "no", job.last_outcome or "-", running or "-",
            ]
        )  # fmt: skip
    text = format_table(HEADER, rows) if rows else "no jobs"
    if broken:
        plural = "s" if len(broken) > 1 else ""
        text += f"\n\n{len(broken)} broken job{plural} (cannot be loaded):\n" + "\n".join(broken)
    return text
