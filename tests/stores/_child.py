"""A scheduler process for the restart tests: ``python -m tests.stores._child MODE DB [MARKER]``.

Modes:
    crash    add a job (retries=1) that hangs at its first firing (0.2 s from now); run until
             killed (a killed attempt counts: retries=1 lets it run once more)
    recover  start on the existing file, wait for one finished run, stop, print its outcome
    hold     open the store, print "ready", keep it open until stdin closes
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from aioscheduler import Every, Scheduler
from aioscheduler.events import RunFinished
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore

from .support import crash_once


async def main(mode: str, db: str, marker: str = "") -> None:
    if mode == "hold":
        store = SQLiteStore(db)
        await store.open(StoreContext("holder", lambda due: None))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await store.close()
        return
    scheduler = Scheduler(store=SQLiteStore(db), allow=["tests.stores"])
    if mode == "crash":
        start = datetime.now(UTC) + timedelta(seconds=0.2)
        await scheduler.add(
            crash_once, Every(hours=1, start_at=start), id="crash", args=(marker,), retries=1
        )
        await scheduler.serve()
        return
    assert mode == "recover"
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    scheduler.subscribe(finished.put_nowait, RunFinished)
    async with scheduler:
        event = await asyncio.wait_for(finished.get(), 30)
    print(event.run.outcome, event.run.result, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
