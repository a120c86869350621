"""A scheduler factory for ``aioscheduler run --factory``, safe to restart.

Run it from the repository root (stop it with Ctrl-C, then start it again)::

    aioscheduler run examples.cli_factory:create_scheduler --factory

It keeps its job in ``jobs.db`` (SQLite), so the job is still there after a restart. Adding it
with ``replace=True`` updates the stored job to this definition at every start, instead of
failing with ``JobExists``. It prints ``refreshed`` every 10 seconds, next to the command's log
lines.
"""

from __future__ import annotations

from aioscheduler import Every, Scheduler


async def refresh() -> None:
    print("refreshed", flush=True)


async def create_scheduler(store: str = "sqlite:///jobs.db") -> Scheduler:
    scheduler = Scheduler(store=store)
    # The store remembers jobs between runs: replace=True makes a restart update the job
    # (its history and paused state are kept) instead of raising JobExists.
    await scheduler.add(refresh, Every(seconds=10), id="refresh", replace=True)
    return scheduler
