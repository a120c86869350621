"""PostgresStore beyond the conformance suites: options, URLs, errors, hints, poison triggers,
DST in node-clock mode with a FakeClock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from aioscheduler import Cron, Scheduler
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.errors import InvalidConfiguration, StoreError
from aioscheduler.events import JobBroken
from aioscheduler.stores import StoreContext, store_from_url
from aioscheduler.stores.postgres import PostgresStore
from aioscheduler.testing import FakeClock
from aioscheduler.triggers import Trigger
from tests.distributed import jobs
from tests.distributed.harness import query
from tests.pg_support import PG_URL, require_pg


def test_url_query_parameters_are_store_options_and_the_rest_goes_to_the_driver() -> None:
    store = store_from_url("postgresql://u@h:5433/db?schema=app&lease=10&sslmode=disable")
    assert isinstance(store, PostgresStore)
    assert (store.schema, store.lease) == ("app", 10.0)
    assert store._opts.dsn == "postgresql://u@h:5433/db?sslmode=disable"
    assert store_from_url("postgresql://h/db", lease=3).lease == 3.0


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgresql://h/db?schema=Bad-Name", {}),
        ("postgresql://h/db?lease=-1", {}),
        ("postgresql://h/db?lease=soon", {}),
        ("postgresql://h/db", {"history_limit": "many"}),
        ("postgresql://h/db", {"clock": "sundial"}),
    ],
    ids=["schema", "negative-lease", "lease-word", "history", "clock"],
)
def test_bad_options_fail_at_construction_naming_the_value(url: str, options: Any) -> None:
    with pytest.raises(InvalidConfiguration) as info:
        store_from_url(url, **options)
    assert any(str(v) in str(info.value) for v in [*options.values(), "Bad-Name", "-1", "soon"])


async def test_an_unreachable_server_is_a_store_error_not_a_driver_error() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test", timeout=2)
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1"):
        await store.open(StoreContext("n#1", lambda t: None))


async def test_a_broken_connection_mid_call_is_a_store_error_and_the_store_recovers(
    pg_schema: str,
) -> None:
    store = PostgresStore(PG_URL, schema=pg_schema)
    await store.open(StoreContext("n#1", lambda t: None))
    try:
        await query(
            PG_URL,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'aioscheduler' AND pid <> pg_backend_pid() "
            "AND query LIKE $1",
            f"%{pg_schema}%",
        )
        outcomes = []
        for _ in range(3):
            try:
                await store.list_jobs()
                outcomes.append("ok")
            except StoreError:
                outcomes.append("error")
        assert outcomes[-1] == "ok", outcomes
    finally:
        await store.close()


async def test_a_job_added_on_one_node_wakes_another_through_notify(pg_schema: str) -> None:
    woken: list[float] = []
    a = PostgresStore(PG_URL, schema=pg_schema)
    b = PostgresStore(PG_URL, schema=pg_schema)
    await a.open(StoreContext("a#1", lambda t: None))
    await b.open(StoreContext("b#1", woken.append))
    try:
        await asyncio.sleep(0.3)  # b's listener connects
        spec = JobSpec("soon", jobs.noop, Cron("0 0 1 1 *"), (), {}, JobOptions())
        job = await a.add_job(spec, now=datetime.now(UTC).timestamp(), paused=False, replace=False)
        assert job.next_run_at is not None
        for _ in range(50):
            if woken:
                break
            await asyncio.sleep(0.05)
        assert woken and abs(woken[-1] - job.next_run_at.timestamp()) < 1.0
        assert b.next_due() is not None
    finally:
        await a.close()
        await b.close()


@dataclass(frozen=True, slots=True)
class Poison(Trigger):
    """Fires once, then its next time raises (a trigger bug)."""

    kind: ClassVar[str] = "test-poison"
    at: float = 0.0

    def first_fire(self, now: datetime) -> datetime | None:
        return datetime.fromtimestamp(self.at, UTC)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        raise RuntimeError("the trigger broke")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": 1, "at": self.at}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Trigger:
        return cls(data["at"])


async def test_a_trigger_that_raises_pauses_its_job_and_spares_the_others(
    pg_schema: str,
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    store = PostgresStore(PG_URL, schema=pg_schema, clock="node")
    s = Scheduler(store=store, clock=clock)
    broken: list[JobBroken] = []
    s.subscribe(broken.append, JobBroken)
    await s.add(jobs.noop, Poison(clock.time()), id="poison")
    await s.add(jobs.noop, Cron("* * * * *"), id="fine")
    await s.start()
    try:
        for _ in range(100):  # the store's round trips are real: poll for their outcome
            await clock.advance(60)
            fine = await s.get("fine")
            if (await s.get("poison")).paused and fine.last_run is not None:
                break
            await asyncio.sleep(0.05)
        assert (await s.get("poison")).paused
        assert not fine.paused
        await asyncio.sleep(0.1)
        assert [e.job_id for e in broken] == ["poison"]
    finally:
        await s.stop()


async def test_cron_across_the_autumn_dst_change_fires_each_slot_once(pg_schema: str) -> None:
    await require_pg()
    # Europe/Berlin: 2026-10-25 03:00 CEST -> 02:00 CET, the hour 02:00-03:00 happens twice
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)
    clock = FakeClock(start)
    store = PostgresStore(PG_URL, schema=pg_schema, clock="node", retention=86400)
    s = Scheduler(store=store, clock=clock)
    await s.add(jobs.noop, Cron("30 2 * * *", timezone="Europe/Berlin"), id="dst")
    await s.add(jobs.noop, Cron("*/30 * * * *", timezone="Europe/Berlin"), id="half")
    await s.start()
    try:
        for _ in range(8 * 6):  # 8 hours in 10-minute steps; the store's I/O is real
            await clock.advance(timedelta(minutes=10))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
    finally:
        await s.stop()
    rows = await query(PG_URL, f'SELECT job_id, slot FROM "{pg_schema}".firings')
    slots = sorted((r["job_id"], r["slot"]) for r in rows)
    assert len(slots) == len(set(slots))
    once = datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()
    assert [t for j, t in slots if j == "dst"] == [once], "02:30 fires once, not twice"
    half = [t for j, t in slots if j == "half"]
    assert half == [half[0] + 1800 * k for k in range(len(half))], "every 30 min UTC"
    assert len(half) >= 15


async def test_a_dropped_listener_reconnects_and_polls_at_once(pg_schema: str) -> None:
    woken: list[float] = []
    b = PostgresStore(PG_URL, schema=pg_schema)
    await b.open(StoreContext("b#1", woken.append))
    try:
        for _ in range(40):
            if b._listener is not None and b._listener.up:
                break
            await asyncio.sleep(0.05)
        killed = await query(
            PG_URL,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
            " AND query LIKE $1",
            f"%{pg_schema}%",
        )
        assert killed, "the listener's connection was found"
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.05)
        assert woken, "the reconnected listener asked for a poll"
        assert b._listener is not None and b._listener.up
    finally:
        await b.close()


async def test_stop_during_an_outage_returns_without_raising(pg_schema: str) -> None:
    from tests.distributed.proxy import Proxy

    with Proxy("127.0.0.1", 5432) as proxy:
        url = PG_URL.replace(":5432", f":{proxy.port}")
        s = Scheduler(store=PostgresStore(url, schema=pg_schema, timeout=1), allow=["tests"])
        await s.start()
        await s.add(jobs.noop, Cron("* * * * *"), id="minutely")
        proxy.set("blackhole")
        loop = asyncio.get_running_loop()
        began = loop.time()
        await s.stop()
        assert loop.time() - began < 10
        proxy.set("pass")
