"""One node of the Redis distributed benchmark (run by ``distributed_redis.py``).

``python benchmarks/_redis_node.py URL PREFIX NAME MODE``: MODE ``scheduler`` runs a full
:class:`~aioscheduler.Scheduler` on a RedisStore; MODE ``store`` runs the bare store loop
(claim a batch, release it) as the baseline without the engine. Prints ``READY``, runs until
SIGTERM, then prints one JSON line of counters.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aioscheduler import Scheduler
from aioscheduler._admission import Admission
from aioscheduler._values import Outcome, Run
from aioscheduler.stores import StoreContext
from aioscheduler.stores.redis import RedisStore


async def store_loop(store: RedisStore, done: asyncio.Event) -> None:
    """Claim due firings in batches of 100 and release them at once (no engine)."""
    from aioscheduler._clock import to_datetime

    await store.open(
        StoreContext(
            f"{sys.argv[3]}#1", lambda due: None, 10, node_name=sys.argv[3],
            admission=Admission(allow=["aioscheduler.testing"]),
        )
    )  # fmt: skip
    while not done.is_set():
        claims = await store.acquire_due(time.time(), 100)
        if not claims:
            await asyncio.sleep(0.002)
            continue
        now = to_datetime(time.time())
        runs = [
            (c, Run(c.spec.id, to_datetime(c.scheduled_at), now, now, c.attempt, Outcome.SUCCESS))
            for c in claims
        ]
        await store.release(runs)
    await store.close()


async def main() -> None:
    url, prefix, name, mode = sys.argv[1:5]
    # an application imports its job functions before its scheduler starts; without this the
    # first firing would import the jobs' module (~1 s here, pytest included) on the loop
    import aioscheduler.testing.conformance  # noqa: F401

    store = RedisStore(url, prefix=prefix, lease=30, poll=0.5, history_limit=int(sys.argv[5]))
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    if mode == "store":
        task = asyncio.ensure_future(store_loop(store, done))
        print("READY", flush=True)
        await task
    else:
        scheduler = Scheduler(store=store, node_name=name, allow=["aioscheduler.testing"])
        await scheduler.start()
        print("READY", flush=True)
        await done.wait()
        await scheduler.stop(timeout=1)
    print(json.dumps({"claims": store.claims_made, "calls": store.script_calls()}), flush=True)


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(main())
    else:
        uvloop.run(main())
