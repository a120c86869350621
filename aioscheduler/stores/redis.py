"""The Redis store: one schedule shared by any number of scheduler processes.

Jobs, their next times, the firings being run and the recent runs of each job live in Redis
under one key prefix (see :mod:`aioscheduler.stores._redis_scripts` for the layout). Every step
that must be atomic is one Lua script, and "due" and "lease expired" are judged by the
server's ``TIME``:

- a claim reads the due jobs, plans each firing in Python (misfire, coalescing, next time:
  :func:`~aioscheduler.stores._planning.plan`), then one script checks that each job is still
  due and unchanged, advances its next time and creates its firings, each (job, slot) once;
  a node that loses the race to another simply gets fewer claims;
- a claimed firing is leased to its node, which renews all of its leases in one call; a
  lease that runs out is taken over by another node with the attempt counted up;
- a completion is fenced by owner and attempt: one from a node whose lease was taken over is
  refused and counted, never recorded as the run.

Nodes learn of earlier due times through pub/sub hints and a bounded poll.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import Job, JobSpec, Run
from ..errors import InvalidJob, JobExists, JobNotFound, StoreError
from ._base import Claim, Store, StoreContext
from ._codec import decode_run, decode_spec, encode_run, encode_spec
from ._planning import MAX_BACKLOG_PER_ACQUIRE, jitter_offset, plan
from ._redis_conn import ClockMode, HintListener, Scripts, mapped, split_url
from ._redis_scripts import KEY_NAMES

__all__ = ("RedisStore",)

logger = logging.getLogger("aioscheduler.stores.redis")

#: How long a finished slot is remembered, so that it is never created again (seconds).
DEFAULT_KEEP = 24 * 3600.0
#: When more jobs are due than a claim takes, each node picks among this many times the limit,
#: at random, so that racing nodes mostly claim different jobs.
SPREAD = 4


def _seconds(value: float | timedelta, name: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidJob(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _ts(text: str | bytes) -> float | None:
    return float(text) if text not in ("", b"") else None


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _slot(value: float | None) -> str:
    return "" if value is None else repr(value)


class _State:
    """A job's row: ``ver|dver|paused|nominal|run_at``."""

    __slots__ = ("dver", "nominal", "paused", "run_at", "ver")

    def __init__(self, raw: str | bytes) -> None:
        ver, dver, paused, nominal, run_at = _s(raw).split("|")
        self.ver, self.dver, self.paused = int(ver), int(dver), paused == "1"
        self.nominal, self.run_at = _ts(nominal), _ts(run_at)


class RedisStore(Store):
    """A store in Redis, shared by every scheduler pointed at the same server and prefix.

    Needs ``aioscheduler[redis]``. Jobs must be storable (an importable function and
    JSON-serializable arguments, checked at ``add()``), as with the SQLite store.

    Args:
        url: Where Redis is (``redis://host:6379/0``; ``rediss://`` for TLS). Query parameters
            ``prefix``, ``lease``, ``clock`` and ``poll`` set the options of the same name;
            the others go to redis-py.
        prefix: Namespace of every key (as the hash tag ``{prefix}``), so that applications
            can share a server.
        lease: Seconds a claimed firing stays reserved for its node without renewal.
        secret_key: Sign every stored job and run (HMAC-SHA256).
        old_keys: Earlier secrets still accepted for reading.
        encrypt: Encrypt payloads too (``aioscheduler[crypto]``).
        accept_unsigned: With a key, still read unsigned payloads (migration).
        history_limit: Finished runs kept per job; ``None``: the scheduler's.
        keep: Seconds a finished slot is remembered so it is never created again.
        poll: Seconds between claims when no hint arrives (the safety net).
        clock: ``"server"`` (default): Redis ``TIME`` decides what is due. ``"node"``: the
            ``now`` the scheduler passes decides (tests driven by a fake clock).

    Raises:
        InvalidJob: a malformed URL or option.
        SerializationError: a weak key, or ``encrypt`` without ``cryptography``.

    Example::

        scheduler = Scheduler(store="redis://localhost:6379/0?prefix=billing")
    """

    persistent = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "aioscheduler",
        lease: float | timedelta = 30.0,
        secret_key: str | bytes | None = None,
        old_keys: Sequence[str | bytes] = (),
        encrypt: bool = False,
        accept_unsigned: bool = False,
        history_limit: int | None = None,
        keep: float | timedelta = DEFAULT_KEEP,
        poll: float | timedelta = 5.0,
        clock: ClockMode = "server",
    ) -> None:
        driver_url, from_url = split_url(url)
        prefix = from_url.get("prefix", prefix)
        lease = from_url.get("lease", lease)
        poll = from_url.get("poll", poll)
        clock = from_url.get("clock", clock)
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}"):
            raise InvalidJob(f"prefix must be a non-empty string without braces, got {prefix!r}")
        if clock not in ("server", "node"):
            raise InvalidJob(f"clock must be 'server' or 'node', got {clock!r}")
        if history_limit is not None and (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or history_limit < 0
        ):
            raise InvalidJob(f"history_limit must be an int >= 0 or None, got {history_limit!r}")
        self._url = driver_url
        self.prefix = prefix
        self.lease = _seconds(lease, "lease")
        self._keep = _seconds(keep, "keep")
        self._poll = _seconds(poll, "poll")
        self._node_clock = clock == "node"
        self._codec = PayloadCodec(
            secret_key, old_keys=old_keys, encrypt=encrypt, accept_unsigned=accept_unsigned
        )
        self._history_option = history_limit
        self._history_limit = 10 if history_limit is None else history_limit
        self._keys = [f"{{{prefix}}}:{name}" for name in KEY_NAMES]
        self._client: aioredis.Redis | None = None
        self._scripts: Scripts | None = None
        self._listener: HintListener | None = None
        self._context: StoreContext | None = None
        self._reset()

    def _reset(self) -> None:
        self._offset = 0.0  # server time - node time
        self._last_now: float | None = None  # the last time the scheduler passed (clock="node")
        self._head: float | None = None  # server time of the earliest due job
        self._lease_head: float | None = None  # earliest lease expiry of another node
        self._stuck_until = 0.0
        self._specs: dict[str, tuple[int, JobSpec]] = {}
        self._broken: dict[str, tuple[int, str]] = {}
        self._held: dict[str, int] = {}  # firing id -> attempt, leased to this node
        #: Completions refused because this node's lease had been taken over.
        self.refused = 0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Build a store from ``redis://host:port/db?prefix=app&lease=10``; keyword options
        are passed to the constructor (URL parameters win)."""
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r}, lease={self.lease}, codec={self._codec!r})"

    def key(self, name: str) -> str:
        """The full name of one of the namespace's keys (``due``, ``job``, ``def``...)."""
        return f"{{{self.prefix}}}:{name}"

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def _node(self) -> str:
        return self._context.node_id if self._context is not None else ""

    def _now_arg(self, now: float | None) -> str:
        if not self._node_clock:
            return ""
        if now is None:
            now = self._last_now
        else:
            self._last_now = now
        return "" if now is None else repr(now)

    async def _run(self, name: str, now: float | None, *args: Any) -> list[Any]:
        if self._scripts is None:
            raise StoreError("the Redis store is not open")
        reply: list[Any] = await self._scripts(name, [self._now_arg(now), self._node, *args])
        server_now = float(reply[0])
        if now is not None and not self._node_clock:
            self._offset = server_now - now
        self._head, self._lease_head = _ts(reply[1]), _ts(reply[2])
        return reply[3:]

    def _client_or_fail(self) -> aioredis.Redis:
        if self._client is None:
            raise StoreError("the Redis store is not open")
        return self._client

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, context: StoreContext) -> None:
        if self._client is not None:
            await self.close()
        self._reset()
        self._context = context
        if self._history_option is None:
            self._history_limit = context.history_limit
        client = aioredis.from_url(self._url)
        try:
            await mapped(client.ping(), "connecting")
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._scripts = Scripts(client, self._keys)
        await self._run("READ", None, 0, 0)  # learn the heads
        self._listener = HintListener(client, self.key("hint"), self._on_hint)
        self._listener.start()
        if self._head is not None:
            context.wakeup(self._head - self._offset)

    async def close(self) -> None:
        try:
            if self._held and self._scripts is not None:
                # let peers take over at once what this node still holds
                await self._extend(list(self._held.items()), 0.001)
        except StoreError as exc:
            logger.warning("could not release the leases of %s: %s", self._node, exc)
        finally:
            if self._listener is not None:
                await self._listener.stop()
                self._listener = None
            client, self._client, self._scripts = self._client, None, None
            self._context = None
            if client is not None:
                await client.aclose()

    def _on_hint(self, run_at: float | None) -> None:
        if self._context is None:
            return
        if run_at is None:
            self._context.wakeup(0.0)
            return
        if self._head is None or run_at < self._head:
            self._head = run_at
        self._context.wakeup(run_at - self._offset)

    # -- jobs ----------------------------------------------------------------------------------

    def check_spec(self, spec: JobSpec) -> None:
        """Refuse, at ``add()``, a job this store could not write or load again.

        Raises:
            SerializationError: the callable has no import path or an argument is not
                storable.
        """
        encode_spec(spec)

    def broken_jobs(self) -> list[tuple[str, str]]:
        """The stored jobs this node could not load, as ``(id, reason)``."""
        return sorted((job_id, reason) for job_id, (_, reason) in self._broken.items())

    def _spec_of(self, job_id: str, dver: int, blob: bytes | None) -> JobSpec | None:
        cached = self._specs.get(job_id)
        if cached is not None and cached[0] == dver:
            return cached[1]
        if blob is None:
            return None
        try:
            spec = decode_spec(job_id, blob, self._codec)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if self._broken.get(job_id, (0, ""))[0] != dver:
                self._broken[job_id] = (dver, reason)
                logger.error("stored job %r is broken and skipped: %s", job_id, reason)
                if self._context is not None:
                    self._context.on_broken(job_id, reason)
            return None
        self._broken.pop(job_id, None)
        self._specs[job_id] = (dver, spec)
        return spec

    async def _load(self, job_ids: list[str]) -> dict[str, tuple[_State, JobSpec | None]]:
        client = self._client_or_fail()
        if not job_ids:
            return {}
        pipe = client.pipeline(transaction=False)
        pipe.hmget(self.key("job"), job_ids)
        pipe.hmget(self.key("def"), job_ids)
        states, blobs = await mapped(pipe.execute(), "reading jobs")
        out = {}
        for job_id, raw, blob in zip(job_ids, states, blobs, strict=True):
            if raw is None or blob is None:
                continue
            state = _State(raw)
            out[job_id] = (state, self._spec_of(job_id, state.dver, blob))
        return out

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
                runs.append(decode_run(job_id, self._codec.open(record)))
            except Exception as exc:  # a damaged record hides one run, never the job
                logger.warning("skipping unreadable run record of job %r: %s", job_id, exc)
        return tuple(runs[-self._history_limit :]) if self._history_limit else ()

    def _snapshot(self, spec: JobSpec, state: _State, history: tuple[Run, ...]) -> Job:
        run_at = None if state.paused or state.run_at is None else to_datetime(state.run_at)
        return Job.of(spec, next_run_at=run_at, paused=state.paused, history=history)

    def _server_now(self, now: float) -> float:
        return now if self._node_clock else now + self._offset

    def _run_at(self, spec: JobSpec, nominal: float | None) -> float | None:
        if nominal is None:
            return None
        return nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)

    async def add_job(
        self, spec: JobSpec, *, now: float, paused: bool, replace: bool, keep_same: bool = False
    ) -> Job:
        blob = self._codec.seal(encode_spec(spec))
        first = spec.trigger.first_fire(to_datetime(self._server_now(now)))
        nominal = None if first is None else first.timestamp()
        run_at = self._run_at(spec, nominal)
        [status] = await self._run(
            "ADD", now, spec.id, blob, int(paused), _slot(nominal), _slot(run_at),
            int(replace), int(keep_same),
        )  # fmt: skip
        status = _s(status)
        if status == "exists":
            raise JobExists(spec.id)
        if status == "same":
            return await self.get_job(spec.id)
        self._broken.pop(spec.id, None)
        if run_at is not None and not paused and self._context is not None:
            self._context.wakeup(run_at - (0.0 if self._node_clock else self._offset))
        state = _State(f"0|0|{int(paused)}|{_slot(nominal)}|{_slot(run_at)}")
        history = (await self._history([spec.id])).get(spec.id, ())
        return self._snapshot(spec, state, history)

    async def remove_job(self, job_id: str) -> Job:
        got = await self._run("REMOVE", None, job_id)
        if not got:
            raise JobNotFound(job_id)
        state = _State(got[0])
        self._specs.pop(job_id, None)
        if self._broken.pop(job_id, None) is not None:
            raise JobNotFound(job_id)  # pragma: no cover - a broken job has no snapshot
        spec = decode_spec(job_id, got[1], self._codec)
        return self._snapshot(spec, state, self._runs(job_id, got[2:]))

    async def get_job(self, job_id: str) -> Job:
        loaded = await self._load([job_id])
        if job_id not in loaded or loaded[job_id][1] is None:
            raise JobNotFound(job_id)
        state, spec = loaded[job_id]
        assert spec is not None
        history = (await self._history([job_id])).get(job_id, ())
        return self._snapshot(spec, state, history)

    async def list_jobs(self) -> list[Job]:
        ids = [_s(i) for i in await mapped(self._client_or_fail().hkeys(self.key("job")), "list")]
        loaded = await self._load(ids)
        histories = await self._history(list(loaded))
        jobs = [
            self._snapshot(spec, state, histories.get(job_id, ()))
            for job_id, (state, spec) in loaded.items()
            if spec is not None
        ]
        jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return jobs

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        for _ in range(100):
            loaded = await self._load([job_id])
            if job_id not in loaded or loaded[job_id][1] is None:
                raise JobNotFound(job_id)
            state, spec = loaded[job_id]
            assert spec is not None
            if state.paused == paused:
                return await self.get_job(job_id)
            nominal, run_at = state.nominal, state.run_at
            server_now = self._server_now(now)
            if not paused and nominal is not None and run_at is not None and run_at <= server_now:
                # firings inside the pause are not caught up: continue after now
                nxt = spec.trigger.next_after(to_datetime(nominal), to_datetime(server_now))
                nominal = None if nxt is None else nxt.timestamp()
                run_at = self._run_at(spec, nominal)
            [code] = await self._run(
                "SET_STATE", now, job_id, state.ver, int(paused), _slot(nominal), _slot(run_at)
            )
            if int(code) == -1:
                raise JobNotFound(job_id)
            if int(code) == 1:
                if not paused and run_at is not None and self._context is not None:
                    self._context.wakeup(run_at - (0.0 if self._node_clock else self._offset))
                return await self.get_job(job_id)
        raise StoreError(f"job {job_id!r} kept changing while being paused or resumed")

    # -- claims, leases, releases: in _redis_claims --------------------------------------------

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        reply = await self._run("READ", now, limit * SPREAD, limit)
        server_now = self._server_now(now)
        n = int(reply[0])
        due = [(_s(reply[1 + 3 * i]), float(reply[2 + 3 * i]), reply[3 + 3 * i]) for i in range(n)]
        base = 2 + 3 * n
        orphans = [
            (_s(reply[base + 3 * i]), _s(reply[base + 1 + 3 * i]), reply[base + 2 + 3 * i])
            for i in range(int(reply[base - 1]))
        ]
        if len(due) >= SPREAD * limit:
            # a herd: racing nodes pick different jobs (in due order among those picked)
            due = sorted(random.sample(due, limit), key=lambda d: d[1])
        else:
            due = due[:limit]
        states = {job_id: _State(raw) for job_id, _, raw in due if raw}
        wanted = {job_id: state.dver for job_id, state in states.items()}
        for fid, _, raw in orphans:
            wanted[fid.rpartition("@")[0]] = _State(raw).dver
        missing = [i for i, dver in wanted.items() if self._specs.get(i, (-1,))[0] != dver]
        if missing:
            blobs: list[bytes | None] = await mapped(
                self._client_or_fail().hmget(self.key("def"), missing), "reading jobs"
            )
            for job_id, blob in zip(missing, blobs, strict=True):
                self._spec_of(job_id, wanted[job_id], blob)

        args: list[Any] = [self.lease, 0]
        planned: list[tuple[JobSpec, list[Claim]]] = []
        for job_id, _, _ in due:
            state = states.get(job_id)
            spec = self._spec_of(job_id, state.dver, None) if state is not None else None
            if state is None or spec is None or state.nominal is None or state.paused:
                continue
            claims, nominal = self._plan(spec, state, server_now)
            planned.append((spec, claims))
            args += [job_id, state.ver, _slot(nominal), _slot(self._run_at(spec, nominal))]
            args.append(len(claims))
            for c in claims:
                args += [repr(c.scheduled_at), repr(c.run_at), c.missed, int(c.run), int(c.final)]
        args[1] = len(planned)
        recovered: list[tuple[str, Claim]] = []
        for fid, raw_fire, raw_state in orphans:
            job_id, _, slot = fid.rpartition("@")
            spec = self._spec_of(job_id, _State(raw_state).dver, None)
            if spec is None or _State(raw_state).paused:
                continue
            attempt, _, run_at, missed, run, final, _ = raw_fire.split("|", 6)
            claim = Claim(
                spec, float(slot), float(run_at), int(missed), run == "1", final == "1",
                attempt=int(attempt) + 1,
            )  # fmt: skip
            grace = spec.options.misfire_grace
            if claim.run and grace is not None and server_now - claim.run_at > grace:
                claim = claim._replace(run=False, missed=claim.missed + 1)  # recovered too late
            recovered.append((fid, claim))
        args.append(len(recovered))
        for fid, claim in recovered:
            args += [fid, claim.attempt - 1]
        if not planned and not recovered:
            self._note_stuck(server_now, due or orphans)
            return []
        results = await self._run("CLAIM", now, *args)
        out: list[Claim] = []
        lost = 0
        for (spec, claims), flags in zip(planned, results, strict=False):
            flags = _s(flags)
            if not flags:
                lost += 1
                continue
            for claim, flag in zip(claims, flags[2:], strict=True):
                if flag == "1":
                    out.append(claim)
                    self._held[f"{spec.id}@{claim.scheduled_at!r}"] = 1
        for (fid, claim), taken in zip(recovered, results[len(planned) :], strict=True):
            if int(taken):
                out.append(claim)
                self._held[fid] = claim.attempt
        if not out and not lost:
            self._note_stuck(server_now, due or orphans)
        return out

    def _note_stuck(self, server_now: float, seen: Sequence[Any]) -> None:
        """Due work that cannot be claimed (broken, paused orphan): look again after a while
        instead of spinning."""
        if seen:
            self._stuck_until = server_now + min(1.0, self._poll)

    def _plan(self, spec: JobSpec, state: _State, now: float) -> tuple[list[Claim], float | None]:
        options = spec.options
        nominal, run_at = state.nominal, state.run_at
        claims: list[Claim] = []
        for _ in range(MAX_BACKLOG_PER_ACQUIRE):
            assert nominal is not None
            jitter = run_at - nominal if run_at is not None else 0.0
            p = plan(spec.trigger, nominal, now, options.misfire_grace, options.coalesce, jitter)
            nominal = p.next_nominal
            claims.append(
                Claim(
                    spec, p.scheduled_at, run_at or p.scheduled_at, p.missed, p.run, nominal is None
                )
            )
            run_at = self._run_at(spec, nominal)
            if run_at is None or run_at > now:
                break
        return claims, nominal

    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> None:
        if not runs:
            return
        args: list[Any] = [self._keep, self._history_limit]
        for claim, run in runs:
            fid = f"{claim.spec.id}@{claim.scheduled_at!r}" if claim.claimed else ""
            record = self._codec.seal(encode_run(run, run.attempt)) if self._history_limit else ""
            args += [claim.spec.id, fid, claim.attempt, record]
        results = await self._run("RELEASE", None, *args)
        for (claim, _), code in zip(runs, results, strict=True):
            if claim.claimed:
                self._held.pop(f"{claim.spec.id}@{claim.scheduled_at!r}", None)
            if int(code) == 0:
                self.refused += 1
                logger.warning(
                    "completion of job %r (slot %s, attempt %d) refused: its lease was taken "
                    "over by another node",
                    claim.spec.id, to_datetime(claim.scheduled_at).isoformat(), claim.attempt,
                )  # fmt: skip

    async def _extend(self, items: Sequence[tuple[str, int]], lease: float) -> list[str]:
        args: list[Any] = [lease]
        for fid, attempt in items:
            args += [fid, attempt]
        return [_s(fid) for fid in await self._run("EXTEND", None, *args)]

    async def extend_leases(self) -> list[str]:
        """Renew every lease this node holds, in one call; return the firing ids it lost."""
        lost = await self._extend(list(self._held.items()), self.lease)
        for fid in lost:
            self._held.pop(fid, None)
        return lost

    def next_due(self) -> float | None:
        times = [t for t in (self._head, self._lease_head) if t is not None]
        if not times:
            return None
        return max(min(times), self._stuck_until) - (0.0 if self._node_clock else self._offset)

    def poll_interval(self) -> float | None:
        listener = self._listener
        return self._poll if listener is not None and listener.up else min(1.0, self._poll)

    async def _abandon(self) -> None:
        """Test hook: let go like a killed process (leases stay in Redis until they run out)."""
        self._held.clear()
        await self.close()
