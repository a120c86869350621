"""1,000 jobs on one cron expression: each next time is computed once per slot."""

from __future__ import annotations

from typing import Any

import pytest

from aioscheduler import Cron, Scheduler
from aioscheduler.testing import FakeClock
from aioscheduler.triggers import _cronzone, cron


async def test_a_thousand_jobs_sharing_a_cron_compute_each_slot_once(
    running: Scheduler, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    original = _cronzone.Timeline.fire_after

    def counting(self: _cronzone.Timeline, a: Any) -> Any:
        calls.append(a)
        return original(self, a)

    # the memo is process-wide: an earlier test may have computed these very slots
    cron._next_ts.cache_clear()
    cron._timeline.cache_clear()
    for i in range(1000):
        await running.add(lambda: None, Cron("* * * * *"), id=f"j{i}", executor="inline")
    monkeypatch.setattr(_cronzone.Timeline, "fire_after", counting)
    await clock.advance(180)  # three slots: 12:01, 12:02, 12:03
    jobs = await running.jobs()
    assert all(len(j.history) == 3 for j in jobs)
    # one computation per slot for the next time (12:02, 12:03, 12:04), not 3,000
    assert len(calls) == 3
