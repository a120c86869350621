"""What every part of the PostgreSQL store shares: the server's clock and the node's
identity, the earliest known due time, and the cache of decoded job definitions.

The base of the store's parts (:mod:`._pg_claims`, :mod:`._pg_leases`, :mod:`._pg_jobs`),
assembled in :class:`~aioscheduler.stores.postgres.PostgresStore`.
"""

from __future__ import annotations

import logging

from .._serialization import PayloadCodec
from .._values import JobSpec
from ._base import StoreContext
from ._codec import decode_spec
from ._pg_conn import Database
from ._pg_options import Options
from ._pg_sql import Statements
from ._pg_state import NodeState

__all__ = ("PgNode",)

logger = logging.getLogger("aioscheduler.stores.postgres")


class PgNode:
    """Base of the PostgreSQL store's parts: clock, identity, due time, definitions."""

    _db: Database
    _sql: Statements
    _opts: Options
    _codec: PayloadCodec
    _state: NodeState
    _context: StoreContext | None
    _history_limit: int

    # -- time, identity, due time -----------------------------------------------------------

    def _t(self, hint: float | None = None) -> float | None:
        """The ``$1`` of a statement: ``None`` (the server's clock) unless in node-clock mode."""
        if self._opts.clock == "server":
            return None
        if hint is not None:
            return hint
        return self._context.time() if self._context is not None else None

    def _server_now(self, hint: float) -> float:
        """Best estimate of the server's clock now (for a first firing)."""
        if self._opts.clock == "node":
            return hint
        node = self._context.time() if self._context is not None else hint
        return node + self._state.offset

    def _owner(self) -> str:
        return self._context.node_id if self._context is not None else ""

    def _wake(self, server_due: float) -> None:
        state = self._state
        if state.next_due is None or server_due < state.next_due:
            state.next_due = server_due
        if self._context is not None:
            self._context.wakeup(server_due - state.offset)

    def next_due(self) -> float | None:
        state = self._state
        due = state.next_due
        if state.deferred:
            soonest = min(state.deferred.values())
            due = soonest if due is None else min(due, soonest)
        return None if due is None else due - state.offset

    async def _refresh_next_due(self) -> None:
        async with self._db.connection("reading the next due time") as conn:
            row = await conn.fetchrow(self._sql.peek, self._t(), self._owner())
        self._state.next_due = _min(row[0], row[1])

    def _spec(self, job_id: str, version: int, payload: bytes) -> JobSpec | None:
        """The decoded definition of a row (cached by version); ``None`` for a broken one."""
        specs = self._state.specs
        spec = specs.get((job_id, version))
        if spec is not None:
            return spec
        try:
            admission = self._context.admission if self._context is not None else None
            spec = decode_spec(job_id, bytes(payload), self._codec, admission)
        except Exception as exc:  # tampered, unimportable, malformed: report, skip, keep the row
            self._broken(job_id, version, f"{type(exc).__name__}: {exc}")
            return None
        if len(specs) > 50_000:
            specs.clear()
        specs[(job_id, version)] = spec
        self._state.broken.pop(job_id, None)
        self._state.reasons.pop(job_id, None)
        self._state.reported.pop(job_id, None)
        return spec

    def _broken(self, job_id: str, version: int, reason: str) -> None:
        """Skip a row that cannot be loaded; report each broken version once."""
        state = self._state
        state.broken[job_id] = version
        if state.reported.get(job_id) != version:
            state.reported[job_id] = version
            state.reasons[job_id] = reason
            logger.error("stored job %r is broken and skipped: %s", job_id, reason)
            if self._context is not None:
                self._context.on_broken(job_id, reason)


def _min(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None
