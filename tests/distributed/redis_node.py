"""One scheduler process on a RedisStore for the distributed tests.

``python -m tests.distributed.redis_node URL PREFIX NAME [--lease S] [--skew S] [--poll S]``
runs until SIGTERM (graceful stop) or SIGKILL, printing ``READY`` once started and, at a
graceful exit, one JSON line of counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from aioscheduler import Scheduler
from aioscheduler.stores.redis import RedisStore
from tests.distributed.node import SkewedClock


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("prefix")
    parser.add_argument("name")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--skew", type=float, default=0.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--stop-timeout", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=0.5)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format=f"{args.name} %(levelname)s %(message)s"
    )
    store = RedisStore(
        args.url, prefix=args.prefix, lease=args.lease, poll=args.poll, timeout=args.timeout
    )
    scheduler = Scheduler(
        store=store, node_name=args.name, clock=SkewedClock(args.skew), allow=["tests"]
    )
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    await scheduler.start()
    print("READY", flush=True)
    await done.wait()
    await scheduler.stop(timeout=args.stop_timeout)
    stats = {
        "stale": store.stale_completions,
        "lost": scheduler._cluster.lost,
        "claims": store.claims_made,
    }
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
