"""One scheduler process for the distributed tests, on PostgreSQL or Redis.

``python -m tests.distributed.node URL NAMESPACE NAME [--lease S] [--skew S] [--poll S]
[--declare MODULE]`` runs a scheduler on a PostgresStore (``postgresql://`` URL, NAMESPACE is
the schema) or a RedisStore (``redis://`` URL, NAMESPACE is the key prefix), declaring the
decorated jobs of MODULE if given, until SIGTERM (graceful stop) or SIGKILL, printing
``READY`` once started and, at a graceful exit, one JSON line of counters.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from aioscheduler import Scheduler
from aioscheduler._clock import SystemClock, WakeHandle
from aioscheduler.events import LeaseLost

#: Seconds a store call may take by default: PostgreSQL's claim transaction may wait for row
#: locks of a frozen peer; a Redis call is one script.
TIMEOUTS = {"postgresql": 10.0, "redis": 0.5}


class SkewedClock(SystemClock):
    """The system clock, off by ``skew`` seconds (a node whose clock is wrong)."""

    def __init__(self, skew: float) -> None:
        self.skew = skew

    def time(self) -> float:
        return time.time() + self.skew

    def call_at(
        self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]
    ) -> WakeHandle:
        handle = loop.call_at(loop.time() + max(0.0, when - self.time()), callback)
        return WakeHandle(handle.cancel)


def make_store(url: str, namespace: str, **options: Any) -> Any:
    """The store of ``url``'s kind on ``namespace`` (a schema or a key prefix)."""
    if url.startswith("redis"):
        from aioscheduler.stores.redis import RedisStore

        return RedisStore(url, prefix=namespace, **options)
    from aioscheduler.stores.postgres import PostgresStore

    return PostgresStore(url, schema=namespace, **options)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("namespace")
    parser.add_argument("name")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--skew", type=float, default=0.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--stop-timeout", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--declare", default="", help="a module of decorated jobs to declare")
    args = parser.parse_args()
    logging.basicConfig(  # NODE_LOG=DEBUG: a failing fault test's node logs say more
        level=os.environ.get("NODE_LOG", "WARNING"),
        stream=sys.stderr,
        format=f"{args.name} %(levelname)s %(message)s",
    )
    timeout = args.timeout or TIMEOUTS["redis" if args.url.startswith("redis") else "postgresql"]
    store = make_store(args.url, args.namespace, lease=args.lease, poll=args.poll, timeout=timeout)
    scheduler = Scheduler(
        store=store, node_name=args.name, clock=SkewedClock(args.skew), allow=["tests"]
    )
    if args.declare:
        scheduler.include(importlib.import_module(args.declare))
    lost: list[LeaseLost] = []
    scheduler.subscribe(lost.append, LeaseLost)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    await scheduler.start()
    print("READY", flush=True)
    await done.wait()
    await scheduler.stop(timeout=args.stop_timeout)
    stats = {
        "stale": store.stale_completions,
        "lost": len(lost),
        "claims": getattr(store, "claims_made", None),
    }
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
