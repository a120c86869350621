"""What a persistent store refuses to write at ``add()``, and how a hand-written trigger that is
not a dataclass describes itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from aioscheduler import Every, Scheduler, Trigger
from aioscheduler.errors import SchedulerError


class NotANumber(Trigger):
    """A hand-written trigger (not a dataclass) whose stored form holds a NaN, which strict
    JSON cannot carry."""

    kind: ClassVar[str] = "test-not-a-number"

    def first_fire(self, now: datetime) -> datetime | None:
        return now + timedelta(hours=1)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        return prev + timedelta(hours=1)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": 1, "ratio": float("nan")}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Trigger:
        return cls()


#: An exception class whose name does not lead back to it: bound here as ``Renamed``, it calls
#: itself ``Elsewhere``, so ``module:qualname`` finds nothing when a stored row is read.
Renamed = type("Elsewhere", (Exception,), {"__module__": __name__})


def work() -> None:
    pass


def test_a_trigger_that_is_not_a_dataclass_describes_itself_by_its_class() -> None:
    trigger = NotANumber()
    assert trigger.describe() == "NotANumber"
    assert trigger.call_repr() == "NotANumber()"
    assert repr(trigger) == "NotANumber()  # NotANumber"


async def test_a_trigger_whose_stored_form_is_not_strict_json_is_refused_at_add(
    tmp_path: Path,
) -> None:
    s = Scheduler(store=f"sqlite:///{tmp_path / 'jobs.db'}", allow=["tests"])
    try:
        with pytest.raises(SchedulerError, match="job 'nan' cannot be stored"):
            await s.add(work, NotANumber(), id="nan")
        assert await s.jobs() == []
    finally:
        await s.stop()


async def test_a_retry_on_class_that_cannot_be_found_again_is_refused_at_add(
    tmp_path: Path,
) -> None:
    s = Scheduler(store=f"sqlite:///{tmp_path / 'jobs.db'}", allow=["tests"])
    try:
        with pytest.raises(SchedulerError, match="retry_on class Elsewhere cannot be found again"):
            await s.add(work, Every(hours=1), id="r", retries=1, retry_on=(Renamed,))
        assert await s.jobs() == []
        await s.add(work, Every(hours=1), id="ok", retries=1, retry_on=(ValueError,))
        assert [job.id for job in await s.jobs()] == ["ok"]
    finally:
        await s.stop()


def test_the_previews_of_a_hand_written_trigger_follow_its_rule() -> None:
    after = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert NotANumber().preview(3, after=after) == [after + timedelta(hours=k) for k in (1, 2, 3)]
