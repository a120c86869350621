"""The Redis rows of ``benchmarks/distributed.py``: bulk setup, counters and lateness read
straight from the namespace (see ``aioscheduler/stores/_redis_scripts.py`` for the layout)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from _jobs import noop

from aioscheduler import Every
from aioscheduler._serialization import PayloadCodec
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.stores._codec import encode_spec
from aioscheduler.stores.redis import RedisStore

__all__ = ("add_jobs", "drop", "finished", "lateness", "move_due")

#: Shifts every job of a namespace by ARGV[1] seconds (state and due score), server side.
_MOVE = """
local jobs = redis.call('HGETALL', KEYS[1])
local delta = tonumber(ARGV[1])
for i = 1, #jobs, 2 do
  local ver, dver, paused, nominal, run_at, last =
    string.match(jobs[i + 1], '^(%d+)|(%d+)|(%d)|([^|]*)|([^|]*)|([^|]*)$')
  if nominal ~= '' then
    nominal = tonumber(nominal) + delta; run_at = tonumber(run_at) + delta
    redis.call('HSET', KEYS[1], jobs[i], ver .. '|' .. dver .. '|' .. paused .. '|' ..
      string.format('%.17g', nominal) .. '|' .. string.format('%.17g', run_at) .. '|' .. last)
    redis.call('ZADD', KEYS[2], run_at, jobs[i])
  end
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if head[2] then redis.call('PUBLISH', KEYS[3], head[2]) end  -- wake the sleeping nodes
return #jobs / 2
"""


def _key(ns: str, name: str) -> str:
    return f"{{{ns}}}:{name}"


async def add_jobs(url: str, ns: str, count: int, start: datetime, period: float) -> None:
    """``count`` no-op jobs every ``period`` s from ``start``, written in pipelines."""
    store = RedisStore(url, prefix=ns)
    trigger = Every(seconds=period, start_at=start)
    nominal = start.timestamp()
    client = aioredis.from_url(url)
    try:
        for lo in range(0, count, 5000):
            pipe = client.pipeline(transaction=False)
            for i in range(lo, min(count, lo + 5000)):
                spec = JobSpec(f"j{i}", noop, trigger, (), {}, JobOptions())
                document = encode_spec(spec)
                pipe.hset(store.key("job"), spec.id, f"1|1|0|{nominal!r}|{nominal!r}|")
                pipe.hset(store.key("def"), spec.id, store._codec.seal(document))
                pipe.hset(store.key("dig"), spec.id, hashlib.sha256(document).hexdigest())
                pipe.zadd(store.key("due"), {spec.id: nominal})
            await pipe.execute()
    finally:
        await client.aclose()


async def move_due(url: str, ns: str, delta: float) -> None:
    client = aioredis.from_url(url)
    try:
        await client.eval(_MOVE, 3, _key(ns, "job"), _key(ns, "due"), _key(ns, "hint"), repr(delta))
    finally:
        await client.aclose()


async def finished(url: str, ns: str) -> int:
    """Leased firings released by their owner so far (the namespace's counter)."""
    client = aioredis.from_url(url)
    try:
        return int(await client.hget(_key(ns, "stats"), "finished") or 0)
    finally:
        await client.aclose()


async def lateness(url: str, ns: str, jobs: int, since: float, until: float) -> list[float]:
    """Start minus scheduled time (s) of the recorded runs of up to ``jobs`` jobs that were
    scheduled in ``[since, until)``."""
    codec = PayloadCodec(None)
    client = aioredis.from_url(url)
    out = []
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(jobs):
            pipe.lrange(_key(ns, f"h:j{i}"), 0, -1)
        for records in await pipe.execute():
            for record in records:
                d: Any = json.loads(codec.open(record))
                if d["st"] is not None and since <= d["s"] < until:
                    out.append(d["st"] - d["s"])
    finally:
        await client.aclose()
    return out


async def hint_lateness(url: str, ns: str, count: int) -> list[float]:
    """Start minus scheduled time (ms) of the first run of jobs ``h0``..``h<count-1>``."""
    codec = PayloadCodec(None)
    client = aioredis.from_url(url)
    out = []
    try:
        for i in range(count):
            for record in await client.lrange(_key(ns, f"h:h{i}"), -1, -1):
                d: Any = json.loads(codec.open(record))
                out.append((d["st"] - d["s"]) * 1000)
    finally:
        await client.aclose()
    return sorted(out)


async def drop(url: str, ns: str) -> None:
    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{{{ns}}}:*", count=5000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.aclose()


async def sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.time()))
