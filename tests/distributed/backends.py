"""The two shared stores as the fault suite sees them: one namespace on the real PostgreSQL or
Redis server, and what the store recorded about its firings, in one shape for both.

PostgreSQL keeps one row per firing (slot, attempt, node, done); Redis forgets a firing once
it is released and keeps counters instead (created, taken over, refused, finished). Both give
a :class:`Recorded`; the per-slot rows are there on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aioscheduler import At, Scheduler
from aioscheduler._values import JobOptions, JobSpec
from tests.distributed import jobs, privatepg, privateredis
from tests.distributed.harness import firings, query
from tests.distributed.node import make_store
from tests.distributed.proxy import Proxy
from tests.pg_support import PG_URL
from tests.stores.redis_support import REDIS_URL


@dataclass(frozen=True)
class Row:
    """One firing as PostgreSQL recorded it."""

    job_id: str
    slot: float
    attempt: int
    node: str
    owner: str
    done: bool
    run: bool
    claimed_at: float


@dataclass(frozen=True)
class Recorded:
    """What a namespace recorded about its firings."""

    claimed: int  # firings created: each (job, slot) once
    takeovers: int  # expired leases claimed again (attempts above 1)
    finished: int  # firings released by their owner
    leased: int  # firings still leased
    refused: int | None  # fenced completions (Redis counts them; PostgreSQL does not)
    rows: list[Row] = field(default_factory=list)  # per firing (PostgreSQL only)


class Server(Protocol):
    url: str

    def stop(self) -> None: ...

    def start(self) -> None: ...


class Shared:
    """One namespace on one of the servers; the tests are written once against this."""

    kind: str
    url: str
    port: int
    #: lease of the failover tests (PostgreSQL's claim transaction makes 1 s tight)
    lease: float

    def __init__(self, namespace: str) -> None:
        self.ns = namespace
        self._admins: list[Scheduler] = []

    async def close(self) -> None:
        """Stop every admin scheduler a test left open (a failed assertion skips its stop()),
        so that no connection of theirs is left for the garbage collector of a later test."""
        admins, self._admins = self._admins, []
        for s in admins:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.stop(), 10)

    def via(self, proxy: Proxy) -> str:
        """The server's URL through ``proxy``."""
        return self.url.replace(f":{self.port}", f":{proxy.port}")

    def admin(self, url: str | None = None, namespace: str | None = None) -> Scheduler:
        """A scheduler that is never started: the test's handle for adding jobs."""
        store = make_store(url or self.url, namespace or self.ns, lease=self.lease)
        s = Scheduler(store=store, node_name="admin", allow=["tests"])
        self._admins.append(s)
        return s

    async def recorded(self, url: str | None = None) -> Recorded:
        raise NotImplementedError

    async def wait(
        self, ok: Callable[[Recorded], bool], timeout: float, url: str | None = None
    ) -> Recorded:
        """What the namespace recorded, once ``ok`` holds (the server may be down meanwhile)."""
        deadline = time.monotonic() + timeout
        got: Recorded | Exception | None = None
        while True:
            try:
                got = await self.recorded(url)
                if ok(got):
                    return got
            except Exception as exc:  # down, or not created yet: ask again
                got = exc
            assert time.monotonic() < deadline, f"after {timeout} s: {got!r}"
            await asyncio.sleep(0.1)

    async def settled(self, count: int, timeout: float) -> Recorded:
        """Once ``count`` firings are finished and none is leased."""
        return await self.wait(lambda r: r.finished >= count and r.leased == 0, timeout)

    async def server_time(self) -> float:
        raise NotImplementedError

    async def job_ids(self) -> list[str]:
        """The jobs stored now, sorted."""
        raise NotImplementedError

    async def leftovers(self, job_ids: set[str]) -> list[str]:
        """Anything still stored about these (removed) jobs."""
        raise NotImplementedError

    async def bulk_add(self, n: int, due: float) -> None:
        """``n`` one-shot no-op jobs ``j0``... due at ``due``, written in bulk."""
        raise NotImplementedError

    async def lose_claim_replies(self, proxy: Proxy) -> dict[str, float]:
        """Make ``proxy``'s ``drop_after_commit`` swallow the reply of the step that creates
        firings; the options of a node behind it."""
        raise NotImplementedError

    def private_server(self) -> AbstractContextManager[Server] | None:
        """A throwaway server of the test's own (to restart), or ``None`` when it cannot run."""
        raise NotImplementedError


class Postgres(Shared):
    kind, url, port, lease = "pg", PG_URL, 5432, 2.0

    async def recorded(self, url: str | None = None) -> Recorded:
        rows = [
            Row(r["job_id"], r["slot"], r["attempt"], r["node"], r["owner"],
                r["done_at"] is not None, r["run"], r["claimed_at"])
            for r in await firings(url or self.url, self.ns)
        ]  # fmt: skip
        done = sum(r.done for r in rows)
        takeovers = sum(r.attempt - 1 for r in rows)
        return Recorded(len(rows), takeovers, done, len(rows) - done, None, rows)

    async def server_time(self) -> float:
        [row] = await query(self.url, "SELECT extract(epoch FROM clock_timestamp())::float8")
        return float(row[0])

    async def job_ids(self) -> list[str]:
        return sorted(r["id"] for r in await query(self.url, f'SELECT id FROM "{self.ns}".jobs'))

    async def leftovers(self, job_ids: set[str]) -> list[str]:
        rows = await query(
            self.url,
            f'SELECT job_id FROM "{self.ns}".firings WHERE done_at IS NULL AND job_id = ANY($1)',
            list(job_ids),
        )
        return [f"leased firing of {r['job_id']}" for r in rows]

    async def bulk_add(self, n: int, due: float) -> None:
        from aioscheduler.stores.postgres import PostgresStore

        store = PostgresStore(self.url, schema=self.ns, lease=self.lease)
        s = Scheduler(store=store, node_name="admin", allow=["tests"])
        seed = (await s.add(jobs.noop, At(datetime.fromtimestamp(due, UTC)), id="seed")).spec
        await s.remove("seed")
        rows = []
        for i in range(n):
            spec = type(seed)(f"j{i}", seed.func, seed.trigger, (), {}, seed.options)
            job_id, func, payload, digest, nominal, run_at = store._row(spec, due)
            rows.append((job_id, func, payload, digest, i + 10, False, nominal, run_at, 0))
        await s.stop()
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            await conn.copy_records_to_table("jobs", records=rows, schema_name=self.ns)
        finally:
            await conn.close()

    async def lose_claim_replies(self, proxy: Proxy) -> dict[str, float]:
        # the proxy's default marker is COMMIT: only the commit of a claim that read the test's
        # jobs (ids "doomed..."), not an empty claim round's, whose lost reply would block the
        # node at its next BEGIN and let nothing be claimed
        proxy.arm = b"doomed"
        return {"timeout": 1.0}

    def private_server(self) -> AbstractContextManager[Server] | None:
        return None if privatepg.available() else privatepg.private_pg()


class Redis(Shared):
    kind, url, lease = "redis", REDIS_URL, 1.0
    port = int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])

    def _client(self, url: str | None = None) -> Any:
        import redis.asyncio as aioredis

        return aioredis.from_url(url or self.url)

    def _key(self, name: str) -> str:
        return f"{{{self.ns}}}:{name}"

    async def recorded(self, url: str | None = None) -> Recorded:
        client = self._client(url)
        try:
            raw = await client.hgetall(self._key("stats"))
            leased = await client.zcard(self._key("run"))
        finally:
            await client.aclose()
        stats = {k.decode(): int(v) for k, v in raw.items()}
        return Recorded(
            stats.get("claimed", 0), stats.get("takeovers", 0), stats.get("finished", 0),
            leased, stats.get("refused", 0),
        )  # fmt: skip

    async def server_time(self) -> float:
        client = self._client()
        try:
            seconds, micros = await client.time()
        finally:
            await client.aclose()
        return float(seconds + micros / 1e6)

    async def job_ids(self) -> list[str]:
        client = self._client()
        try:
            return sorted(k.decode() for k in await client.hkeys(self._key("job")))
        finally:
            await client.aclose()

    async def leftovers(self, job_ids: set[str]) -> list[str]:
        client = self._client()
        try:
            due = {k.decode() for k in await client.zrange(self._key("due"), 0, -1)}
            live = [i for i in job_ids if await client.scard(self._key(f"r:{i}"))]
        finally:
            await client.aclose()
        return [f"{i} due" for i in due & job_ids] + [f"{i} running" for i in live]

    async def bulk_add(self, n: int, due: float) -> None:
        from aioscheduler.stores.redis import RedisStore

        trigger = At(datetime.fromtimestamp(due, UTC))
        specs = (JobSpec(f"j{i}", jobs.noop, trigger, (), {}, JobOptions()) for i in range(n))
        await RedisStore(self.url, prefix=self.ns).write_new_jobs(specs, due)

    async def lose_claim_replies(self, proxy: Proxy) -> dict[str, float]:
        from aioscheduler.stores._redis_lua_claims import CLAIM

        # the claim script is sent by hash: swallow the reply of the one that creates firings,
        # loaded first, else the first EVALSHA's NOSCRIPT reply would be the one swallowed
        client = self._client()
        try:
            await client.script_load(CLAIM)
        finally:
            await client.aclose()
        proxy.commit_marker = hashlib.sha1(CLAIM.encode()).hexdigest().encode()
        return {}

    def private_server(self) -> AbstractContextManager[Server] | None:
        return None if privateredis.available() else privateredis.private_redis()


def by_node(rec: Recorded, stats: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Firings each node claimed: from PostgreSQL's rows, or from the nodes' own counters."""
    if rec.rows:
        return {name: sum(r.node == name for r in rec.rows) for name in stats}
    return {name: int(st["claims"]) for name, st in stats.items()}


def kinds() -> Iterator[type[Shared]]:
    yield from (Postgres, Redis)
