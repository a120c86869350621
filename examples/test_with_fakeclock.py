"""Testing your own jobs with FakeClock: a test module to copy into your project.

Run it with::

    pytest examples/test_with_fakeclock.py -q     # prints "4 passed"

It needs pytest and pytest-asyncio (``asyncio_mode = "auto"``, or mark each test with
``@pytest.mark.asyncio``). No test waits in real time: ``await clock.advance(...)`` moves the
scheduler's time forward firing by firing and returns when everything due has run, so hours
of schedule take milliseconds. ``clock.jump(...)`` moves time at once without running anything
in between, like a suspended laptop, to test what happens to late firings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.testing import FakeClock

# -- the code under test: usually imported from your application ----------------------------


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[datetime, str]] = []
        self.pending: list[str] = ["welcome", "reminder"]


def register_jobs(scheduler: Scheduler, inbox: Inbox) -> None:
    """Your application's jobs: a digest every morning, a sender every 5 minutes."""

    @scheduler.cron("0 8 * * *", timezone="Europe/Berlin", id="morning-digest")
    async def morning_digest() -> None:
        inbox.sent.append((scheduler.clock.now(), "digest"))

    @scheduler.every(minutes=5, id="send-pending", misfire_grace=60)
    async def send_pending() -> None:
        while inbox.pending:
            inbox.sent.append((scheduler.clock.now(), inbox.pending.pop(0)))


# -- the tests ----------------------------------------------------------------------------------

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def scheduler(clock: FakeClock, inbox: Inbox) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(clock=clock)
    register_jobs(scheduler, inbox)
    async with scheduler:  # stops cleanly at the end of each test
        yield scheduler


async def test_pending_mail_goes_out_within_five_minutes(
    clock: FakeClock, scheduler: Scheduler, inbox: Inbox
) -> None:
    await clock.advance(timedelta(minutes=5))
    assert inbox.sent == [
        (START + timedelta(minutes=5), "welcome"),
        (START + timedelta(minutes=5), "reminder"),
    ]


async def test_the_digest_goes_out_at_eight_berlin_time(
    clock: FakeClock, scheduler: Scheduler, inbox: Inbox
) -> None:
    await clock.advance(timedelta(hours=25))
    digests = [at for at, what in inbox.sent if what == "digest"]
    assert digests == [
        datetime(2026, 3, 2, 7, 0, tzinfo=UTC),  # 08:00 CET
        datetime(2026, 3, 3, 7, 0, tzinfo=UTC),
    ]


async def test_a_late_firing_past_the_grace_is_reported_missed(
    clock: FakeClock, scheduler: Scheduler, inbox: Inbox
) -> None:
    clock.jump(timedelta(minutes=12))  # the process was suspended: nothing ran meanwhile
    run = await scheduler.wait_run("send-pending", timeout=5)
    assert run.outcome is Outcome.MISSED
    assert inbox.sent == []


async def test_run_now_fires_once_without_touching_the_schedule(
    clock: FakeClock, scheduler: Scheduler, inbox: Inbox
) -> None:
    before = (await scheduler.get("send-pending")).next_run_at
    await scheduler.run_now("send-pending")
    await clock.advance(0)  # let what is due now run
    assert [what for _, what in inbox.sent] == ["welcome", "reminder"]
    assert (await scheduler.get("send-pending")).next_run_at == before
    assert isinstance((await scheduler.get("send-pending")).trigger, Every)
