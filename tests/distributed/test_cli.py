"""``aioscheduler jobs --store postgresql://...`` next to running nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from aioscheduler import At, Every, Scheduler
from aioscheduler.cli.jobs import list_jobs
from aioscheduler.stores.postgres import PostgresStore
from tests.distributed import jobs
from tests.distributed.harness import until
from tests.pg_support import PG_URL


async def test_jobs_lists_the_running_firing_with_its_node(pg_schema: str, tmp_path: Path) -> None:
    log = str(tmp_path / "trace")
    s = Scheduler(
        store=PostgresStore(PG_URL, schema=pg_schema, lease=5),
        node_name="worker-7",
        allow=["tests"],
    )
    await s.start()
    try:
        start = datetime.now(UTC) + timedelta(seconds=0.2)
        await s.add(jobs.slow, At(start), id="long", args=(3.0, log))
        await s.add(jobs.noop, Every(minutes=5), id="later")
        await until(lambda: jobs.read(log), 10, "the run")
        text = await list_jobs(None, f"{PG_URL}?schema={pg_schema}", UTC, allow=["tests"])
    finally:
        await s.stop(timeout=0)
    [row] = [line for line in text.splitlines() if line.startswith("long ")]
    assert "tests.distributed.jobs:slow" in row and "worker-7 (1, " in row
    [other] = [line for line in text.splitlines() if line.startswith("later ")]
    assert "tests.distributed.jobs:noop" in other
