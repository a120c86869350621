"""The leases part of ``aioscheduler jobs`` for shared stores: which node runs what."""

from __future__ import annotations

import inspect
from typing import Any

from .._clock import to_datetime
from ._table import format_table, format_utc

__all__ = ("leases_text",)

HEADER = ("JOB", "FIRING (UTC)", "NODE", "ATTEMPT", "LEASE LEFT")


async def leases_text(store: Any) -> str:
    """A table of the firings leased right now (empty text for stores without leases)."""
    method = getattr(store, "leases", None)
    if method is None:
        return ""
    result = method()
    rows = await result if inspect.isawaitable(result) else result
    if not rows:
        return "no firing is running on any node"
    table = [
        [
            lease.job_id,
            format_utc(to_datetime(lease.scheduled_at)),
            lease.node,
            str(lease.attempt),
            f"{lease.expires_in:.1f} s" if lease.expires_in > 0 else "expired",
        ]
        for lease in rows
    ]
    return f"running now ({len(rows)}):\n" + format_table(HEADER, table)
