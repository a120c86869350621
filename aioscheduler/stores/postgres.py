"""The PostgreSQL store: one schedule shared by many scheduler processes (asyncpg).

Each due firing is claimed by exactly one node: the claim locks the due jobs with
``FOR UPDATE SKIP LOCKED``, plans their firings (misfire, coalescing), advances their next
times and inserts one ``firings`` row per ``(job id, slot)`` in one transaction, bounded by
``idle_in_transaction_session_timeout``. The server's clock decides what is due and when a
lease has expired. A firing is leased to its node; the engine renews the leases, and a firing
whose lease expired is claimed again by any node with its attempt counted up. Completions are
fenced by (owner, attempt). ``LISTEN/NOTIFY`` carries "due earlier" hints between nodes; a
bounded poll is the safety net.

Requires ``aioscheduler[postgres]`` (asyncpg).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import JobSpec
from ..errors import StoreError
from ._base import Store, StoreContext
from ._codec import encode_spec
from ._inspect import LeaseInfo, StoredJob, describe_document, last_outcome
from ._pg_claims import PgClaims
from ._pg_conn import Database, Listener
from ._pg_jobs import PgJobs
from ._pg_leases import PgLeases
from ._pg_options import Options, parse_url
from ._pg_sql import Statements
from ._pg_state import NodeState, migrate

__all__ = ("PostgresStore",)

logger = logging.getLogger("aioscheduler.stores.postgres")


class PostgresStore(PgJobs, PgClaims, PgLeases, Store):
    """A shared persistent store in a PostgreSQL schema, for any number of schedulers.

    Jobs must be storable (an importable function, JSON-serializable arguments), as with
    :class:`~aioscheduler.stores.sqlite.SQLiteStore`.

    Args:
        dsn: A libpq URL, ``postgresql://user@host:5432/db`` (query parameters other than this
            store's options are passed to asyncpg).
        schema: The schema holding this application's tables (created if missing), so that
            several applications can share a database.
        lease: Seconds a claimed firing stays leased to its node without renewal; a node that
            dies mid-run has its firings run again elsewhere after at most this long.
        secret_key: Sign stored jobs and run records (HMAC-SHA256). ``old_keys``: earlier
            secrets still accepted for reading. ``encrypt``: encrypt them as well.
        accept_unsigned: With a key, still read unsigned rows (while migrating).
        history_limit: Finished runs kept per job; ``None``: the scheduler's ``history_limit``.
        poll: Seconds between polls when no hint arrives (the safety net under LISTEN/NOTIFY).
        timeout: Seconds one exchange with the server may take before it counts as failed.
        retention: Seconds finished firings are kept to refuse a second claim of their slot.
        clock: ``"server"`` (default): the server's clock decides what is due. ``"node"``: the
            times the scheduler passes decide (tests driven by a fake clock only).

    Raises:
        InvalidConfiguration: a malformed schema name or option.
        SerializationError: a weak key, or ``encrypt`` without ``cryptography``.

    Example::

        scheduler = Scheduler(store="postgresql://app@db/app?schema=jobs&lease=10")
    """

    persistent = True
    shared = True
    counts_failures = True

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "aioscheduler",
        lease: float | timedelta = 30.0,
        secret_key: str | bytes | None = None,
        old_keys: Sequence[str | bytes] = (),
        encrypt: bool = False,
        accept_unsigned: bool = False,
        history_limit: int | None = None,
        poll: float | timedelta = 5.0,
        timeout: float | timedelta = 10.0,
        retention: float | timedelta = 3600.0,
        clock: Literal["server", "node"] = "server",
    ) -> None:
        opts = Options.build(
            dsn,
            schema=schema,
            lease=lease,
            history_limit=history_limit,
            poll=poll,
            timeout=timeout,
            retention=retention,
            clock=clock,
        )
        self._opts = opts
        self._codec = PayloadCodec(
            secret_key, old_keys=old_keys, encrypt=encrypt, accept_unsigned=accept_unsigned
        )
        self._sql = Statements(opts.schema)
        settings = {
            "application_name": "aioscheduler",
            "jit": "off",
            # a node frozen inside a claim transaction lets go of its locked rows after this
            "idle_in_transaction_session_timeout": str(int(opts.claim_timeout * 1000)),
        }
        self._db = Database(opts.dsn, opts.where, opts.timeout, settings)
        self._listener: Listener | None = None
        self._listened = False
        self._jitter = random.uniform(0.8, 1.0)
        self._context: StoreContext | None = None
        self._state = NodeState()
        self._history_limit = opts.history_limit if opts.history_limit is not None else 10

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresStore:
        """Build a store from ``postgresql://user@host:port/db?schema=app&lease=10``.

        The store's options may be URL query parameters (``schema``, ``lease``, ``poll``,
        ``timeout``, ``history_limit``, ``retention``) or keywords; secrets go in keywords.

        Raises:
            InvalidConfiguration: a malformed URL or option value.
        """
        dsn, from_query = parse_url(url)
        return cls(dsn, **{**from_query, **options})

    def __repr__(self) -> str:
        return f"PostgresStore({self._opts.where}, schema={self._opts.schema!r})"

    @property
    def lease(self) -> float:
        return self._opts.lease

    @property
    def signs_payloads(self) -> bool:
        """Whether rows are signed (or encrypted) with a ``secret_key``."""
        return self._codec.key_id is not None

    @property
    def schema(self) -> str:
        """The schema holding this store's tables."""
        return self._opts.schema

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, context: StoreContext) -> None:
        if self._db.open:
            await self.close()
        self._state = NodeState()
        self._listened = False
        self._context = context
        if self._opts.history_limit is None:
            self._history_limit = context.history_limit
        await self._db.connect()
        try:
            async with self._db.connection("preparing the schema") as conn:
                await migrate(conn, self._sql, self._opts.where)
            async with self._db.connection("checking stored jobs", self._opts.timeout * 6) as conn:
                rows = await conn.fetch(self._sql.all_jobs)
            for row in rows:  # report broken rows now, and warm the definitions' cache
                self._spec(row["id"], row["version"], row["payload"])
            await self._refresh_next_due()
        except BaseException:
            await self._db.close(abandon=True)
            raise
        self._listener = Listener(
            self._db,
            self._opts.channel,
            self._hint,
            self._relisten,
            max(1.0, self._opts.poll),
        )
        self._listener.start()
        logger.info(
            "opened PostgreSQL store %s schema %r as node %s (lease %.1f s)",
            self._opts.where,
            self._opts.schema,
            context.node_name or context.node_id,
            self._opts.lease,
        )

    async def close(self) -> None:
        if not self._db.open:
            return
        try:
            if self._listener is not None:
                await self._listener.stop()
            if self._context is not None:
                try:
                    async with self._db.connection("releasing leases") as conn:
                        await conn.execute(self._sql.let_go, self._t(), self._context.node_id)
                except StoreError as exc:  # the server is away: the leases expire by themselves
                    logger.warning("could not release this node's leases at close: %s", exc)
        finally:
            self._listener = None
            await self._db.close(abandon=True)

    async def _abandon(self) -> None:
        """Test hook: let go of the server like a killed process (leases stay)."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self._db.close(abandon=True)

    # -- hints ---------------------------------------------------------------------------------

    def _hint(self, payload: str) -> None:
        try:
            due = float(payload)
        except ValueError:
            return
        self._wake(due)

    def _relisten(self) -> None:
        if not self._listened:  # the first connection: open() has just read the due time
            self._listened = True
            return
        if self._context is not None:  # re-poll at once: hints sent meanwhile were lost
            self._wake(self._server_now(self._context.time()))

    def poll_interval(self) -> float:
        listening = self._listener is not None and self._listener.up
        base = self._opts.poll if listening else min(1.0, self._opts.poll)
        return base * self._jitter  # nodes that started together do not poll together

    # -- definitions ---------------------------------------------------------------------------

    def check_spec(self, spec: JobSpec) -> None:
        """Refuse, at ``add()``, a job this store could not write or load again.

        Raises:
            SerializationError: the callable has no import path or an argument is not
                storable; the message says what to do.
        """
        encode_spec(spec)

    async def describe_jobs(self) -> list[StoredJob]:
        """Every stored job with its next time, last outcome and running firings (node,
        attempt, lease left), read without importing the jobs' modules (for the CLI)."""
        async with self._db.connection("listing jobs") as conn:
            rows = await conn.fetch(self._sql.all_jobs)
            lasts = dict(await conn.fetch(self._sql.last_runs))
        by_job: dict[str, list[LeaseInfo]] = {}
        for lease in await self.leases():
            info = LeaseInfo(
                to_datetime(lease.scheduled_at), lease.node, lease.owner, lease.attempt,
                lease.expires_in,
            )  # fmt: skip
            by_job.setdefault(lease.job_id, []).append(info)
        admission = self._context.admission if self._context is not None else None
        out = []
        for row in rows:
            job_id = row["id"]
            func, trigger, problem = describe_document(
                job_id, bytes(row["payload"]), self._codec, admission
            )
            paused, run_at = row["paused"], row["run_at"]
            nxt = None if paused or run_at is None else to_datetime(run_at)
            out.append(
                StoredJob(
                    job_id, func, trigger, nxt, paused,
                    last_outcome(lasts.get(job_id), self._codec),
                    tuple(by_job.get(job_id, ())), problem,
                )
            )  # fmt: skip
        out.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return out

    def broken_jobs(self) -> list[tuple[str, str]]:
        """The stored jobs this node could not load, as ``(id, reason)`` (refused by the
        scheduler's ``allow``/key policy, tampered, callable gone). They are skipped, not
        deleted; replace them with ``add(..., replace=True)`` or remove them."""
        return sorted(self._state.reasons.items())

    def io_in_flight(self) -> int:
        """Exchanges with the server under way (a fake clock waits for them)."""
        return self._db.in_flight
