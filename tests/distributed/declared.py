"""Jobs declared with the module-level decorators (every node imports the same module)."""

from __future__ import annotations

import aioscheduler


@aioscheduler.every(seconds=30, id="declared-report")
async def report() -> None:
    """A declared job."""


@aioscheduler.every(seconds=60, id="declared-cleanup")
async def cleanup() -> None:
    """Another declared job."""


@aioscheduler.every(seconds=30, id="declared-report", misfire_grace=5)
async def report_v2() -> None:
    """The next release of ``report``: the same id, a changed definition (include one of the
    two, by function)."""
