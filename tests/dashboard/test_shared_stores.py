"""The dashboard over the real PostgreSQL and Redis stores: a running firing shows the node
that holds its lease (issue 14: "PostgreSQL and Redis ... with nodes and leases")."""

from __future__ import annotations

import asyncio

import httpx

from aioscheduler import Every, Scheduler
from aioscheduler.stores import Store

from .conftest import mounted

started = asyncio.Event()
release = asyncio.Event()


async def held() -> None:
    """Runs until the test lets it go, so its lease is live while the page is read."""
    started.set()
    await release.wait()


async def _check_page(store: Store) -> None:
    global started, release
    started, release = asyncio.Event(), asyncio.Event()  # bound to this test's loop
    s = Scheduler(store=store, node_name="<dash-node>", allow=["tests.dashboard"])
    async with s:
        await s.add(held, Every(seconds=1), id="held", replace=True)
        await asyncio.wait_for(started.wait(), 15)
        transport = httpx.ASGITransport(app=mounted(s))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            page = (await c.get("/dash/")).text
            job = (await c.get("/dash/jobs/held")).text
        release.set()
    assert "<th>Running on</th>" in page
    # the node name is escaped, and the lease (attempt, time left) is shown on both pages
    assert "&lt;dash-node&gt;" in page and "(attempt 1, lease" in page
    assert "&lt;dash-node&gt;" in job and "(attempt 1, lease" in job


async def test_a_postgres_lease_shows_its_node(pg_schema: str) -> None:
    from aioscheduler.stores.postgres import PostgresStore
    from tests.pg_support import PG_URL

    await _check_page(PostgresStore(PG_URL, schema=pg_schema, lease=10))


async def test_a_redis_lease_shows_its_node(redis_prefix: str) -> None:
    from aioscheduler.stores.redis import RedisStore
    from tests.stores.redis_support import REDIS_URL

    await _check_page(RedisStore(REDIS_URL, prefix=redis_prefix, lease=10))
