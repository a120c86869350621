"""The Redis rows of ``benchmarks/distributed.py``: bulk setup, counters and lateness read
straight from the namespace (see ``aioscheduler/stores/_redis_lua.py`` for the layout)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from _jobs import noop

from aioscheduler import At, Every
from aioscheduler._serialization import PayloadCodec
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.stores.redis import RedisStore

__all__ = (
    "add_jobs", "counters", "drop", "finished", "hint_lateness", "lateness", "move_due",
    "sleep_until", "start_lateness",
)  # fmt: skip

_CODEC = PayloadCodec(None)

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


async def add_jobs(
    url: str, ns: str, count: int, start: datetime, period: float | None, func: Any = noop
) -> None:
    """``count`` jobs ``j0``... calling ``func``, every ``period`` s from ``start`` (``None``:
    once, at ``start``), written in pipelines."""
    trigger = At(start) if period is None else Every(seconds=period, start_at=start)
    specs = (JobSpec(f"j{i}", func, trigger, (), {}, JobOptions()) for i in range(count))
    await RedisStore(url, prefix=ns).write_new_jobs(specs, start.timestamp())


async def move_due(url: str, ns: str, delta: float) -> None:
    client = aioredis.from_url(url)
    try:
        await client.eval(_MOVE, 3, _key(ns, "job"), _key(ns, "due"), _key(ns, "hint"), repr(delta))
    finally:
        await client.aclose()


async def counters(url: str, ns: str) -> tuple[int, int, int]:
    """Firings finished (released by their owner), created, and still leased."""
    client = aioredis.from_url(url)
    try:
        stats = await client.hgetall(_key(ns, "stats"))
        leased = await client.zcard(_key(ns, "run"))
    finally:
        await client.aclose()
    return int(stats.get(b"finished", 0)), int(stats.get(b"claimed", 0)), leased


async def finished(url: str, ns: str) -> int:
    """Leased firings released by their owner so far (the namespace's counter)."""
    return (await counters(url, ns))[0]


def start_lateness(record: bytes | str) -> float:
    """Start minus scheduled time (s) of one stored run record (unsigned namespace)."""
    d: Any = json.loads(_CODEC.open(record.encode() if isinstance(record, str) else record))
    return float(d["st"]) - float(d["s"])


async def lateness(url: str, ns: str, jobs: int, since: float, until: float) -> list[float]:
    """Start minus scheduled time (s) of the recorded runs of up to ``jobs`` jobs that were
    scheduled in ``[since, until)``."""
    client = aioredis.from_url(url)
    out = []
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(jobs):
            pipe.lrange(_key(ns, f"h:j{i}"), 0, -1)
        for records in await pipe.execute():
            for record in records:
                d: Any = json.loads(_CODEC.open(record))
                if d["st"] is not None and since <= d["s"] < until:
                    out.append(d["st"] - d["s"])
    finally:
        await client.aclose()
    return out


async def hint_lateness(url: str, ns: str, count: int, name: str = "h") -> list[float]:
    """Start minus scheduled time (ms) of the first run of jobs ``h0``..``h<count-1>``."""
    client = aioredis.from_url(url)
    out = []
    try:
        for i in range(count):
            for record in await client.lrange(_key(ns, f"h:{name}{i}"), -1, -1):
                out.append(start_lateness(record) * 1000)
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
