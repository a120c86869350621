"""Every trigger kind survives a SQLite store: saved, reopened, equal and stored the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing.conformance import T0, spec
from aioscheduler.triggers import (
    After,
    AllOf,
    AnyOf,
    At,
    CalendarInterval,
    Cron,
    Every,
    Ticks,
    Trigger,
)

from ._util import utc

TRIGGERS = [
    Cron("0 9 L-3 * fri#2", timezone="Europe/Berlin", dst_gap="shift", dst_repeat="last"),
    Cron("*/20 * * * * *", timezone="UTC", start_at=utc(2026, 1, 1), end_at=utc(2027, 1, 1)),
    CalendarInterval(months=1, hour=9, timezone="America/New_York", start_at=utc(2026, 1, 31)),
    AnyOf(Cron("0 9 * * *", timezone="UTC"), Every(90)).anchor(utc(2026, 3, 2)),
    AllOf(Cron("0 0 * * fri", timezone="UTC"), Cron("0 0 13 * *", timezone="UTC"), max_steps=99),
    Every(2.5, start_at=utc(2026, 1, 1)),
    At(utc(2030, 1, 1)),
    After(3),
    Ticks(4, "c", repeat=True),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t.kind)
async def test_trigger_round_trips_through_sqlite(tmp_path: Path, trigger: Trigger) -> None:
    db = tmp_path / "jobs.db"
    store = SQLiteStore(db)
    await store.open(StoreContext("node", lambda due: None, 10))
    try:
        await store.add_job(spec("job", trigger), now=T0, paused=False, replace=False)
    finally:
        await store.close()
    store = SQLiteStore(db)
    await store.open(StoreContext("node", lambda due: None, 10))
    try:
        job = await store.get_job("job")
    finally:
        await store.close()
    assert job.trigger == trigger
    assert job.trigger.to_dict() == trigger.to_dict()
