"""A module the CLI tests serve: ``aioscheduler dashboard tests.dashboard.cli_app``."""

from __future__ import annotations

from aioscheduler import Scheduler

scheduler = Scheduler()


@scheduler.every(seconds=0.2, id="heartbeat")
async def heartbeat() -> None:
    pass


def stored_job() -> None:
    """A callable jobs in a SQLite store name (importable from the repository's root)."""
