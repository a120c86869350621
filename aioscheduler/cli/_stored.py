"""``aioscheduler jobs --store URL`` on a shared store: jobs, next times, and the firings
running right now with their nodes, read without importing the jobs' modules."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ._table import format_local, format_table, format_utc

__all__ = ("stored_jobs_table",)

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
