"""The Redis store's jobs: add, declare, update, pause, remove, read (a mixin of
:class:`~aioscheduler.stores.redis.RedisStore`). Every change is one Lua script; a change
computed from the current state (pause, update) is fenced by the job's version and retried
when a claim or another node changed the job meanwhile."""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from .._admission import Admission
from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import Job, JobSpec, Run
from ..errors import JobExists, JobNotFound, StoreError
from ._base import DeclareResult, StoreContext
from ._codec import encode_spec, open_run
from ._redis_claims import run_at_of
from ._redis_conn import JobRow, as_str, mapped

__all__ = ("RedisJobs",)

logger = logging.getLogger("aioscheduler.stores.redis")


def _opt(value: float | None) -> str:
    return "" if value is None else repr(value)


class RedisJobs:
    """Mixin: the job operations of the Redis store (see the module docstring)."""

    _codec: PayloadCodec
    _context: StoreContext | None
    _history_limit: int
    _broken: dict[str, tuple[tuple[int, int], str]]
    _specs: dict[str, tuple[int, JobSpec]]
    _stuck_until: float

    _epoch: str

    if TYPE_CHECKING:  # provided by the store and its claims mixin

        @property
        def url(self) -> str:
            raise NotImplementedError

        def key(self, name: str) -> str:
            raise NotImplementedError

        def _client_or_fail(self) -> aioredis.Redis:
            raise NotImplementedError

        def _admission(self) -> Admission | None:
            raise NotImplementedError

        def _to_node(self, server_time: float) -> float:
            raise NotImplementedError

        def _server_now(self, hint: float) -> float:
            raise NotImplementedError

        def _spec_of(self, job_id: str, dver: int, blob: bytes | None) -> JobSpec | None:
            raise NotImplementedError

        async def _run(self, name: str, hint: float | None, *args: Any) -> list[Any]:
            raise NotImplementedError

        _declared: dict[str, tuple[JobSpec, bool]]

        def _declared_job(self, spec: JobSpec, paused: bool) -> None:
            raise NotImplementedError

        def _changed_job(
            self, job_id: str, spec: JobSpec | None = None, *, paused: bool | None = None
        ) -> None:
            raise NotImplementedError

    async def _load(self, job_ids: list[str]) -> dict[str, tuple[JobRow, JobSpec]]:
        if not job_ids:
            return {}
        pipe = self._client_or_fail().pipeline(transaction=False)
        pipe.hmget(self.key("job"), job_ids)
        pipe.hmget(self.key("def"), job_ids)
        states, blobs = await mapped(pipe.execute(), "reading jobs")
        out = {}
        for job_id, raw, blob in zip(job_ids, states, blobs, strict=True):
            if raw is None or blob is None:
                continue
            row = JobRow.parse(raw)
            spec = self._spec_of(job_id, row.dver, blob)
            if spec is not None:
                out[job_id] = (row, spec)
        return out

    async def _load_all(self) -> None:
        ids = [
            as_str(i) for i in await mapped(self._client_or_fail().hkeys(self.key("job")), "open")
        ]
        for lo in range(0, len(ids), 1000):
            await self._load(ids[lo : lo + 1000])

    async def _history(self, job_ids: list[str]) -> dict[str, tuple[Run, ...]]:
        if not job_ids or not self._history_limit:
            return {}
        pipe = self._client_or_fail().pipeline(transaction=False)
        for job_id in job_ids:
            pipe.lrange(self.key(f"h:{job_id}"), 0, self._history_limit - 1)
        lists = await mapped(pipe.execute(), "reading history")
        pairs = zip(job_ids, lists, strict=True)
        return {job_id: self._runs(job_id, records) for job_id, records in pairs}

    def _runs(self, job_id: str, records: Sequence[bytes]) -> tuple[Run, ...]:
        runs = []
        for record in reversed(records):  # stored newest first
            try:
                runs.append(open_run(job_id, record, self._codec, self._admission()))
            except Exception as exc:  # a damaged record hides one run, never the job
                logger.warning("skipping unreadable run record of job %r: %s", job_id, exc)
        return tuple(runs[-self._history_limit :]) if self._history_limit else ()

    def _snapshot(self, spec: JobSpec, row: JobRow, history: tuple[Run, ...]) -> Job:
        run_at = None if row.paused or row.run_at is None else to_datetime(row.run_at)
        return Job.of(spec, next_run_at=run_at, paused=row.paused, history=history)

    async def _put(self, spec: JobSpec, now: float, paused: bool, mode: str) -> tuple[str, Job]:
        document = encode_spec(spec)
        first = spec.trigger.first_fire(to_datetime(self._server_now(now)))
        nominal = None if first is None else first.timestamp()
        run_at = run_at_of(spec, nominal)
        status, stored_paused = await self._run(
            "ADD", now, spec.id, self._codec.seal(document),
            hashlib.sha256(document).hexdigest(), int(paused), _opt(nominal), _opt(run_at), mode,
        )  # fmt: skip
        status, paused = as_str(status), as_str(stored_paused) == "1"
        if status == "exists":
            raise JobExists(spec.id)
        if status == "unchanged":
            return status, await self.get_job(spec.id)
        self._broken.pop(spec.id, None)
        if run_at is not None and not paused and self._context is not None:
            self._stuck_until = 0.0
            self._context.wakeup(self._to_node(run_at))
        history = (await self._history([spec.id])).get(spec.id, ())
        return status, self._snapshot(spec, JobRow(0, 0, paused, nominal, run_at), history)

    async def write_new_jobs(self, specs: Iterable[JobSpec], nominal: float) -> int:
        """Write many new jobs, each first due at ``nominal`` (plus its jitter), in a few
        pipelines and without ``add()``'s checks: an existing id is overwritten, no hint is
        sent, no node is woken. For benchmarks and tests that need 10,000s of jobs at once; the
        store need not be open (an open one's namespace must exist). Returns how many."""
        client = aioredis.from_url(self.url)
        count = 0
        try:
            epoch = self._epoch or uuid.uuid4().hex  # a new namespace gets an epoch
            await mapped(client.set(self.key("epoch"), epoch, nx=True), "write jobs")
            batch = iter(specs)
            while chunk := list(itertools.islice(batch, 5000)):
                pipe = client.pipeline(transaction=False)
                for spec in chunk:
                    document = encode_spec(spec)
                    run_at = run_at_of(spec, nominal) or nominal
                    pipe.hset(self.key("job"), spec.id, f"1|1|0|{nominal!r}|{run_at!r}|")
                    pipe.hset(self.key("def"), spec.id, self._codec.seal(document))
                    pipe.hset(self.key("dig"), spec.id, hashlib.sha256(document).hexdigest())
                    pipe.zadd(self.key("due"), {spec.id: run_at})
                await mapped(pipe.execute(), "write jobs")
                count += len(chunk)
        finally:
            await client.aclose()
        return count

    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        job = (await self._put(spec, now, paused, "replace" if replace else "add"))[1]
        self._changed_job(spec.id, spec, paused=paused)
        return job

    async def declare_job(
        self, spec: JobSpec, *, now: float, paused: bool
    ) -> tuple[Job, DeclareResult]:
        status, job = await self._put(spec, now, paused, "declare")
        self._declared_job(spec, paused)  # declared again should the namespace be wiped
        return job, "added" if status == "added" else (
            "replaced" if status == "replaced" else "unchanged"
        )

    async def remove_job(self, job_id: str) -> None:
        got = await self._run("REMOVE", None, job_id)
        self._specs.pop(job_id, None)
        self._declared.pop(job_id, None)
        broken = self._broken.pop(job_id, None)
        if not got or broken is not None:  # a broken job is no job (as for get_job)
            raise JobNotFound(job_id)

    async def get_job(self, job_id: str) -> Job:
        loaded = await self._load([job_id])
        if job_id not in loaded:
            raise JobNotFound(job_id)
        row, spec = loaded[job_id]
        history = (await self._history([job_id])).get(job_id, ())
        return self._snapshot(spec, row, history)

    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        ids = [
            as_str(i) for i in await mapped(self._client_or_fail().hkeys(self.key("job")), "list")
        ]
        loaded = await self._load(ids)
        histories = await self._history(list(loaded)) if history else {}
        jobs = [
            self._snapshot(spec, row, histories.get(job_id, ()))
            for job_id, (row, spec) in loaded.items()
        ]
        jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return jobs

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        for _ in range(100):  # retried while claims advance the job under our feet
            loaded = await self._load([job_id])
            if job_id not in loaded:
                raise JobNotFound(job_id)
            row, spec = loaded[job_id]
            if row.paused == paused:
                return await self.get_job(job_id)
            nominal, run_at = row.nominal, row.run_at
            server_now = self._server_now(now)
            if not paused and nominal is not None and run_at is not None and run_at <= server_now:
                # firings inside the pause are not caught up: continue after now
                nxt = spec.trigger.next_after(to_datetime(nominal), to_datetime(server_now))
                nominal = None if nxt is None else nxt.timestamp()
                run_at = run_at_of(spec, nominal)
            [code] = await self._run(
                "SET_STATE", now, job_id, row.ver, int(paused), _opt(nominal), _opt(run_at)
            )
            if int(code) == -1:
                raise JobNotFound(job_id)
            if int(code) == 1:
                self._changed_job(job_id, paused=paused)
                if not paused and run_at is not None and self._context is not None:
                    self._context.wakeup(self._to_node(run_at))
                return await self.get_job(job_id)
        raise StoreError(f"job {job_id!r} kept changing while being paused or resumed")

    async def update_job(
        self,
        job_id: str,
        update: Callable[[JobSpec], JobSpec],
        *,
        now: float,
        reschedule: bool,
    ) -> Job:
        """Atomically store ``update(current definition)`` (fenced by the job's version:
        ``update`` is called again if another node changed the job meanwhile); keeps the
        paused state and history; ``reschedule`` recomputes the next time from ``now``.

        Raises:
            JobNotFound: no job has this id.
        """
        for _ in range(100):
            loaded = await self._load([job_id])
            if job_id not in loaded:
                raise JobNotFound(job_id)
            row, spec = loaded[job_id]
            new = update(spec)
            document = encode_spec(new)
            nominal, run_at = row.nominal, row.run_at
            if reschedule:
                first = new.trigger.first_fire(to_datetime(self._server_now(now)))
                nominal = None if first is None else first.timestamp()
                run_at = run_at_of(new, nominal)
            [code] = await self._run(
                "UPDATE", now, job_id, row.ver, self._codec.seal(document),
                hashlib.sha256(document).hexdigest(), int(reschedule), _opt(nominal), _opt(run_at),
            )  # fmt: skip
            if int(code) == -1:
                raise JobNotFound(job_id)
            if int(code) == 1:
                self._changed_job(job_id, new)
                if reschedule and run_at is not None and not row.paused and self._context:
                    self._stuck_until = 0.0
                    self._context.wakeup(self._to_node(run_at))
                return await self.get_job(job_id)
        raise StoreError(f"job {job_id!r} kept changing while being updated")
