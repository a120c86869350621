"""What one node of the PostgreSQL store remembers between calls, and the schema migration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._values import JobSpec
from ..errors import StoreVersionError
from ._pg_sql import MIGRATIONS, SCHEMA_VERSION, Statements

__all__ = ("NodeState", "migrate")


@dataclass(slots=True)
class NodeState:
    """Per-open state of a PostgreSQL store (reset at every ``open()``)."""

    offset: float = 0.0
    """Server clock minus node clock, measured at the last claim (midpoint of the call)."""
    next_due: float | None = None
    """Earliest known due time or foreign lease expiry, on the server's clock."""
    deferred: dict[str, float] = field(default_factory=dict)
    """``overlap="queue"`` jobs running elsewhere: job id -> server time to look again."""
    specs: dict[tuple[str, int], JobSpec] = field(default_factory=dict)
    """Decoded definitions by (job id, version)."""
    broken: dict[str, int] = field(default_factory=dict)
    """Jobs whose stored definition cannot be loaded: job id -> version reported."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Why each broken job cannot be loaded."""
    reported: dict[str, int] = field(default_factory=dict)
    """Broken job id -> the version already reported (each broken version is reported once;
    ``broken`` is cleared now and then so that replaced rows are looked at again)."""
    housekeeping_at: float = 0.0
    """Server time of the next cleanup of old firings."""


async def migrate(conn: Any, sql: Statements, where: str) -> None:
    """Create or upgrade the schema, serialized across nodes by an advisory lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", sql.lock_key)
        await conn.execute(sql.create_meta)
        value = await conn.fetchval(sql.get_version)
        version = int(value) if value is not None else 0
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"PostgreSQL schema {sql.schema} on {where} has version {version}, written by a "
                f"newer aioscheduler; this version reads up to {SCHEMA_VERSION}. Upgrade "
                "aioscheduler"
            )
        for step in MIGRATIONS[version:]:
            await conn.execute(step.format(s=sql.schema))
        if version != SCHEMA_VERSION:
            await conn.execute(sql.set_version, str(SCHEMA_VERSION))
