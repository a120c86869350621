"""A scheduler process whose job kills it, for the crash-loop tests::

    python -c "from tests.faults.crashloop_app import run; run()" DB DIR RETRIES add|restart

(not ``-m``: the SQLite store must import the jobs, so they cannot live in ``__main__``).

``add`` adds two jobs: ``killer`` (every hour, first at +0.3 s, ``retries=RETRIES``) whose
run SIGKILLs its own process, and ``beat`` (every 0.2 s) appending to ``DIR/beats``. Both
modes then run the scheduler for 1.5 s, print ``lost <attempt> <reason>`` for each
``RunLost`` event, and stop cleanly (unless killed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aioscheduler import Every, Scheduler
from aioscheduler.events import RunLost


def _note(directory: str, name: str) -> None:
    with Path(directory, name).open("a") as f:  # tiny local write: fine on the loop
        f.write(f"{os.getpid()}\n")


async def killer(directory: str) -> None:
    _note(directory, "kills")
    os.kill(os.getpid(), signal.SIGKILL)


async def beat(directory: str) -> None:
    _note(directory, "beats")


async def main(db: str, directory: str, retries: int, mode: str) -> None:
    scheduler = Scheduler(store=f"sqlite:///{db}", allow=["tests.faults"])
    lost: list[RunLost] = []
    scheduler.subscribe(lost.append, RunLost)
    if mode == "add":
        start = datetime.now(UTC) + timedelta(seconds=0.3)
        await scheduler.add(
            killer, Every(hours=1, start_at=start), id="killer", args=(directory,), retries=retries
        )
        await scheduler.add(beat, Every(seconds=0.2), id="beat", args=(directory,))
    async with scheduler:
        await asyncio.sleep(1.5)
    for event in lost:
        print("lost", event.run.attempt, event.run.reason, flush=True)


def run() -> None:
    db, directory, retries, mode = sys.argv[1:5]
    asyncio.run(main(db, directory, int(retries), mode))
