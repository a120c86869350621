"""A job removed while a node runs one of its firings, on both shared stores (PostgreSQL and
Redis): the late completion is accepted but writes nothing into a job re-added under the same
id, and when that node dies no peer runs the old firing again (docs/cluster.md, "Removing a
job while it runs")."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aioscheduler._admission import Admission
from aioscheduler.stores import StoreContext
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.stores.redis import RedisStore
from aioscheduler.testing.conformance import T0, finished, spec
from tests.pg_support import PG_URL, _drop, require_pg
from tests.stores.redis_support import REDIS_URL, delete_prefix, require_redis, unique_prefix

Node = Callable[[str], Awaitable[Any]]


@pytest.fixture(params=["pg", "redis"])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Node, list[float]]]:
    """A factory of store nodes on one fresh namespace, all on one settable clock."""
    clock = [T0]
    opened: list[Any] = []
    if request.param == "pg":
        await require_pg()
        ns = f"t_{uuid.uuid4().hex[:12]}"

        def make() -> Any:
            return PostgresStore(PG_URL, schema=ns, clock="node", lease=5)
    else:
        await require_redis()
        ns = unique_prefix()

        def make() -> Any:
            return RedisStore(REDIS_URL, prefix=ns, clock="node", lease=5)

    async def node(name: str) -> Any:
        store = make()
        await store.open(
            StoreContext(
                f"{name}#1", lambda due: None, 10, node_name=name, time=lambda: clock[0],
                admission=Admission(allow=["aioscheduler.testing.conformance"]),
            )
        )  # fmt: skip
        opened.append(store)
        return store

    yield node, clock
    for store in opened:
        await store.close()
    if request.param == "pg":
        await _drop(ns)
    else:
        await delete_prefix(ns)


async def test_a_removed_jobs_running_firing_records_nothing_and_is_not_taken_over(
    nodes: tuple[Node, list[float]],
) -> None:
    node, clock = nodes
    a, b, c = await node("a"), await node("b"), await node("c")
    await a.add_job(spec("done"), now=T0, paused=False, replace=False)
    await a.add_job(spec("dies"), now=T0, paused=False, replace=False)
    claims = {claim.spec.id: claim for claim in await a.acquire_due(T0, 10)}
    assert sorted(claims) == ["dies", "done"]
    for job_id in ("done", "dies"):
        await b.remove_job(job_id)
        await b.add_job(spec(job_id), now=T0 + 1, paused=False, replace=False)
    late = claims["done"]
    assert await a.release([(late, finished(late))]) is None, "accepted, not refused"
    assert (await b.get_job("done")).history == (), "nothing written into the new job"
    await a._abandon()  # a dies holding the other firing
    clock[0] = T0 + 6  # past a's lease, before the new jobs' first slot (T0 + 10)
    assert await c.acquire_due(clock[0], 10) == [], "the old firing is not run again"
    assert [cl.scheduled_at for cl in await c.acquire_due(T0 + 10, 10)] == [T0 + 10] * 2
