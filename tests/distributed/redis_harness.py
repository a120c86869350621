"""The Redis side of the distributed tests: node processes on a RedisStore, store queries."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.distributed.harness import ROOT, Cluster, Node
from tests.stores.redis_support import REDIS_URL


class RedisCluster(Cluster):
    """Scheduler processes on one Redis prefix (see tests/distributed/redis_node.py)."""

    def start(self, name: str, *, url: str | None = None, **opts: float) -> Node:
        args = [
            sys.executable, "-m", "tests.distributed.redis_node", url or self.url, self.schema,
            name,
        ]  # fmt: skip
        opts.setdefault("lease", self.lease)
        for key, value in opts.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        err = self.tmp / f"{name}-{len(self.nodes)}.err"
        with err.open("w") as stderr:
            proc = subprocess.Popen(
                args, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        node = Node(name, proc, err)
        self.nodes.append(node)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "READY", f"node {name} did not start: {line!r}\n{node.log()}"
        return node


@contextmanager
def redis_cluster(url: str, prefix: str, tmp: Path, lease: float) -> Iterator[RedisCluster]:
    c = RedisCluster(url, prefix, tmp, lease)
    try:
        yield c
    finally:
        c.close()


@dataclass
class Recorded:
    """What a Redis namespace holds about its firings."""

    claimed: int  # firings created (each (job, slot) once)
    takeovers: int  # expired leases claimed again
    refused: int  # fenced completions
    finished: int  # leased firings released by their owner
    leased: int  # firings still leased


async def recorded(url: str, prefix: str) -> Recorded:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, decode_responses=True)
    try:
        stats = {str(k): int(v) for k, v in (await client.hgetall(f"{{{prefix}}}:stats")).items()}
        leased = await client.zcard(f"{{{prefix}}}:run")
    finally:
        await client.aclose()
    return Recorded(
        stats.get("claimed", 0), stats.get("takeovers", 0), stats.get("refused", 0),
        stats.get("finished", 0), leased,
    )  # fmt: skip


async def settled(url: str, prefix: str, count: int, timeout: float) -> Recorded:
    """What the namespace recorded once ``count`` firings are done and none is leased."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = await recorded(url, prefix)
            if got.finished >= count and got.leased == 0:
                return got
        except OSError:
            got = None
        assert time.monotonic() < deadline, f"after {timeout} s: {got}"
        await asyncio.sleep(0.1)


__all__ = ("REDIS_URL", "RedisCluster", "recorded", "redis_cluster", "settled")
