"""A weekday report at 09:00 Berlin time, across the switch to summer time.

Run it with::

    python examples/cron_report.py           # simulate a week on a FakeClock: instant
    python examples/cron_report.py --live    # the real thing: wait for 09:00, until Ctrl-C

The simulation starts on Thursday 2026-03-26; Berlin moves its clocks forward on Sunday the
29th. The report stays at 09:00 local time; its UTC time moves from 08:00 to 07:00. It prints::

    report for Thu 2026-03-26: ran at 09:00 CET (08:00 UTC)
    report for Fri 2026-03-27: ran at 09:00 CET (08:00 UTC)
    report for Mon 2026-03-30: ran at 09:00 CEST (07:00 UTC)
    report for Tue 2026-03-31: ran at 09:00 CEST (07:00 UTC)
    report for Wed 2026-04-01: ran at 09:00 CEST (07:00 UTC)
    5 reports in 7 days
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aioscheduler import Scheduler, current_run
from aioscheduler.testing import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")


def daily_report(reports: list[str]) -> None:
    """The job: a plain function (it runs on a worker thread, so it may block)."""
    run = current_run()
    assert run is not None
    local = run.scheduled_at.astimezone(BERLIN)
    line = (
        f"report for {local:%a %Y-%m-%d}: ran at {local:%H:%M %Z} "
        f"({run.scheduled_at.astimezone(UTC):%H:%M} UTC)"
    )
    reports.append(line)
    print(line, flush=True)


def build(scheduler: Scheduler, reports: list[str]) -> None:
    """Declare the report on ``scheduler``: 09:00 on weekdays, Berlin time."""
    scheduler.cron("0 9 * * mon-fri", timezone=BERLIN, id="daily-report", args=(reports,))(
        daily_report
    )


async def simulate_week() -> list[str]:
    """Run a week of the schedule on a fake clock (no real waiting) and return the reports."""
    clock = FakeClock(datetime(2026, 3, 26, 0, 0, tzinfo=BERLIN))
    scheduler = Scheduler(clock=clock)
    reports: list[str] = []
    build(scheduler, reports)
    async with scheduler:
        await clock.advance(timedelta(days=7))
    print(f"{len(reports)} reports in 7 days")
    return reports


async def live() -> None:
    scheduler = Scheduler()
    build(scheduler, [])
    async with scheduler:
        job = await scheduler.get("daily-report")
        assert job.next_run_at is not None
        print(f"next report at {job.next_run_at.astimezone(BERLIN):%a %Y-%m-%d %H:%M %Z}")
        await asyncio.Event().wait()  # until Ctrl-C


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="run on the real clock")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(live() if parser.parse_args().live else simulate_week())
