"""What ``aioscheduler jobs --store redis://...`` shows: the stored jobs and the leased firings,
read without importing the jobs' modules (a mixin of
:class:`~aioscheduler.stores.redis.RedisStore`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._admission import Admission
from .._clock import to_datetime
from .._serialization import PayloadCodec
from ._inspect import Lease, StoredJob, by_job, describe_document, last_outcome
from ._redis_conn import JobRow, as_str, mapped

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ("Lease", "RedisListing")


class RedisListing:
    """Mixin: the listings of the Redis store."""

    _codec: PayloadCodec

    if TYPE_CHECKING:  # provided by the store

        def key(self, name: str) -> str:
            raise NotImplementedError

        def _client_or_fail(self) -> aioredis.Redis:
            raise NotImplementedError

        def _admission(self) -> Admission | None:
            raise NotImplementedError

    # -- what ``aioscheduler jobs`` shows ------------------------------------------------------

    async def describe_jobs(self) -> list[StoredJob]:
        """Every stored job with its next time, last outcome and running firings (node,
        attempt, lease left), read without importing the jobs' modules (for the CLI)."""
        client = self._client_or_fail()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(self.key("job"))
        pipe.hgetall(self.key("def"))
        states, blobs = await mapped(pipe.execute(), "listing jobs")
        ids = sorted(as_str(i) for i in states)
        pipe = client.pipeline(transaction=False)
        for job_id in ids:
            pipe.lindex(self.key(f"h:{job_id}"), 0)
        lasts = await mapped(pipe.execute(), "listing jobs") if ids else []
        running = by_job(await self.leases())
        out = []
        for job_id, last in zip(ids, lasts, strict=True):
            row = JobRow.parse(states[job_id.encode()])
            func, trigger, problem = describe_document(
                job_id, blobs.get(job_id.encode(), b""), self._codec, self._admission()
            )
            nxt = None if row.paused or row.run_at is None else to_datetime(row.run_at)
            out.append(
                StoredJob(
                    job_id, func, trigger, nxt, row.paused, last_outcome(last, self._codec),
                    running.get(job_id, ()), problem,
                )
            )  # fmt: skip
        out.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return out

    async def leases(self) -> list[Lease]:
        """The firings leased right now: job, slot, node, owner, attempt, seconds left."""
        client = self._client_or_fail()
        pipe = client.pipeline(transaction=False)
        pipe.time()
        pipe.zrange(self.key("run"), 0, -1, withscores=True)
        pipe.hgetall(self.key("fire"))
        (sec, usec), expiries, fires = await mapped(pipe.execute(), "listing leases")
        now = sec + usec / 1e6
        out = []
        for fid, until in expiries:
            raw = fires.get(fid)
            if raw is None:
                continue
            job_id, _, slot = as_str(fid).rpartition("@")
            attempt, _, _, _, _, node, owner = as_str(raw).split("|", 6)
            out.append(Lease(job_id, float(slot), node, owner, int(attempt), until - now))
        return out
