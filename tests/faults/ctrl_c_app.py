"""A program that runs a scheduler inside ``async with`` (or ``serve()``) until interrupted,
for the Ctrl-C tests::

    python -c "from tests.faults.ctrl_c_app import run; run()" STORE_URL|memory SECONDS [serve]

(not ``-m``: a SQLite store must import the jobs, so they cannot live in ``__main__``).

It prints ``ready`` once jobs are running. Jobs are module-level so a SQLite store can keep them.
"""

from __future__ import annotations

import asyncio
import sys

from aioscheduler import Every, Scheduler

RUN_SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
#: ``async-with`` (default) or ``serve``: how the program runs the scheduler.
MODE = sys.argv[3] if len(sys.argv) > 3 else "async-with"


async def long_run() -> None:
    await asyncio.sleep(RUN_SECONDS)


def quick() -> None:
    pass


async def main(store: str) -> None:
    scheduler = Scheduler(store=None if store == "memory" else store, allow=["tests"])
    for i in range(20):
        await scheduler.add(
            long_run, Every(seconds=0.05), id=f"long{i}", overlap="allow", replace=True
        )
        await scheduler.add(quick, Every(seconds=0.01), id=f"quick{i}", replace=True)
    if MODE == "serve":
        asyncio.get_running_loop().call_later(0.5, lambda: print("ready", flush=True))
        await scheduler.serve()
        return
    async with scheduler:
        await asyncio.sleep(0.5)
        print("ready", flush=True)
        await asyncio.sleep(3600)


def run() -> None:
    asyncio.run(main(sys.argv[1]))
