"""The Redis store: one schedule shared by any number of scheduler processes.

Jobs, their next times, the firings being run and the recent runs of each job live in Redis
under one key prefix (the layout: :mod:`aioscheduler.stores._redis_lua`). Every step that
must be atomic is one Lua script, and "due" and "lease expired" are judged by the server's
``TIME``:

- a claim reads the due jobs, plans each firing in Python, then one script checks that each
  job is still due and unchanged, advances its next time and creates its firings, each
  (job, slot) once (see :mod:`aioscheduler.stores._redis_claims`);
- a claimed firing is leased to its node, which renews all of its leases in one call; a lease
  that runs out is taken over by another node with the attempt counted up;
- a completion is fenced by owner and attempt: one from a node whose lease was taken over is
  refused and counted, never recorded as the run.

Nodes learn of earlier due times through pub/sub hints, with a bounded poll as safety net. A
wiped namespace (a restart without persistence, FLUSHDB) is noticed by every script and
reported, never read as an empty schedule (:mod:`aioscheduler.stores._redis_epoch`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .._admission import Admission
from .._serialization import PayloadCodec
from .._values import JobSpec
from ..errors import InvalidConfiguration, StoreError
from ._base import Store, StoreContext
from ._codec import decode_spec, encode_spec
from ._redis_claims import RedisClaims
from ._redis_conn import ClockMode, HintListener, Scripts, mapped, split_url
from ._redis_epoch import RedisEpoch
from ._redis_jobs import RedisJobs
from ._redis_listing import Lease, RedisListing
from ._redis_scripts import KEY_NAMES

__all__ = ("Lease", "RedisStore")

logger = logging.getLogger("aioscheduler.stores.redis")


def _seconds(value: float | timedelta, name: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidConfiguration(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class RedisStore(RedisEpoch, RedisListing, RedisJobs, RedisClaims, Store):
    """A store in Redis, shared by every scheduler pointed at the same server and prefix.

    Needs ``aioscheduler[redis]``. Jobs must be storable (an importable function and
    JSON-serializable arguments, checked at ``add()``), as with the SQLite store.

    Args:
        url: Where Redis is (``redis://host:6379/0``; ``rediss://`` for TLS). The query
            parameters ``prefix``, ``lease``, ``clock`` and ``poll`` set the options of the
            same name; the others go to redis-py.
        prefix: Namespace of every key (as the hash tag ``{prefix}``), so that applications
            can share a server.
        lease: Seconds a claimed firing stays leased to its node without renewal.
        secret_key: Sign every stored job and run (HMAC-SHA256).
        old_keys: Earlier secrets still accepted for reading.
        encrypt: Encrypt payloads too (``aioscheduler[crypto]``).
        accept_unsigned: With a key, still read unsigned payloads (migration).
        history_limit: Finished runs kept per job; ``None``: the scheduler's.
        poll: Seconds between claims when no hint arrives (the safety net).
        timeout: Seconds a Redis call may take before it fails with ``StoreError``
            (default: a third of the lease, at most 5).
        clock: ``"server"`` (default): Redis ``TIME`` decides what is due. ``"node"``: the
            scheduler's clock does (a test mode, for a fake clock).

    Raises:
        InvalidConfiguration: a malformed URL or option.
        SerializationError: a weak key, or ``encrypt`` without ``cryptography``.

    Example::

        scheduler = Scheduler(store="redis://localhost:6379/0?prefix=billing")
    """

    persistent = True
    shared = True
    counts_failures = True

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
        poll: float | timedelta = 5.0,
        timeout: float | timedelta | None = None,
        clock: ClockMode = "server",
    ) -> None:
        driver_url, in_url = split_url(url)
        prefix = in_url.get("prefix", prefix)
        clock = in_url.get("clock", clock)
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}"):
            raise InvalidConfiguration(
                f"prefix must be a non-empty string without braces, got {prefix!r}"
            )
        if clock not in ("server", "node"):
            raise InvalidConfiguration(f"clock must be 'server' or 'node', got {clock!r}")
        if history_limit is not None and (
            isinstance(history_limit, bool)
            or not isinstance(history_limit, int)
            or history_limit < 0
        ):
            raise InvalidConfiguration(
                f"history_limit must be an int >= 0 or None, got {history_limit!r}"
            )
        self._url = driver_url
        self.prefix = prefix
        self._lease = _seconds(in_url.get("lease", lease), "lease")
        # how long a node may hold due jobs it is planning (a crash in between delays them)
        self._reservation = min(5.0, max(0.5, self._lease / 3))
        self._poll = _seconds(in_url.get("poll", poll), "poll")
        self._timeout = (
            min(5.0, max(0.5, self._lease / 3)) if timeout is None else _seconds(timeout, "timeout")
        )
        self._node_clock = clock == "node"
        self._codec = PayloadCodec(
            secret_key, old_keys=old_keys, encrypt=encrypt, accept_unsigned=accept_unsigned
        )
        self._history_option = history_limit
        self._history_limit = 10 if history_limit is None else history_limit
        self._keys = [self.key(name) for name in KEY_NAMES]
        self._client: aioredis.Redis | None = None
        self._scripts: Scripts | None = None
        self._listener: HintListener | None = None
        self._context: StoreContext | None = None
        self.stale_completions = 0
        #: Firings this store object handed out (claims and takeovers), for tests and stats.
        self.claims_made = 0
        self._declared: dict[str, tuple[JobSpec, bool]] = {}
        self._calls: dict[str, int] = {}
        self._reset()

    def _reset(self) -> None:
        self._offset = 0.0  # server clock - node clock
        self._server_time = 0.0  # the server's clock at the last reply
        self._head: float | None = None  # server time of the earliest due job
        self._lease_head: float | None = None  # earliest lease expiry of another node
        self._stuck_until = 0.0
        self._deferred: dict[str, float] = {}
        self._held: dict[str, int] = {}  # firing id -> attempt, leased to this node
        self._ahead = []
        self._epoch = ""
        self._releasing: dict[str, int] = {}
        self._specs: dict[str, tuple[int, JobSpec]] = {}
        self._broken: dict[str, tuple[tuple[int, int], str]] = {}  # id -> ((dver, gen), why)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Build a store from ``redis://host:port/db?prefix=app&lease=10``; keyword options
        go to the constructor (the URL's parameters win)."""
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r}, lease={self._lease}, codec={self._codec!r})"

    @property
    def signs_payloads(self) -> bool:
        """Whether stored payloads are signed (or encrypted) with a ``secret_key``."""
        return self._codec.key_id is not None

    @property
    def url(self) -> str:
        """The server's URL as redis-py gets it (without the store's own options)."""
        return self._url

    @property
    def poll(self) -> float:
        """Seconds between claims when no hint arrives (1 s at most while the hint channel is
        down)."""
        return self._poll

    @property
    def lease(self) -> float:
        """Seconds a claimed firing stays leased to its node without renewal."""
        return self._lease

    def key(self, name: str) -> str:
        """The full name of one of the namespace's keys (``due``, ``job``, ``h:<job id>``...)."""
        return f"{{{self.prefix}}}:{name}"

    # -- plumbing ------------------------------------------------------------------------------

    def _client_or_fail(self) -> aioredis.Redis:
        if self._client is None:
            raise StoreError("the Redis store is not open")
        return self._client

    def _scripts_or_fail(self) -> Scripts:
        if self._scripts is None:
            raise StoreError("the Redis store is not open")
        return self._scripts

    def _admission(self) -> Admission | None:
        return self._context.admission if self._context is not None else None

    def _to_node(self, server_time: float) -> float:
        return server_time - self._offset

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, context: StoreContext) -> None:
        if self._client is not None:
            await self.close()
        self._reset()
        self._context = context
        if self._history_option is None:
            self._history_limit = context.history_limit
        client = aioredis.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),  # a retried script could run twice: never retry
        )
        self._client = client
        self._scripts = Scripts(client, self._keys, self._calls)
        try:
            await self._open_epoch()  # reachable? the namespace's epoch (created if new)
            await self._run("READ", None, 0, 0)  # learn the heads and the offset
        except BaseException:
            self._client = self._scripts = None
            self._context = None
            await client.aclose()
            raise
        try:
            await self._load_all()  # decode every definition once; report the broken ones
        except BaseException:
            await self.close()
            raise
        self._listener = HintListener(client, self.key("hint"), self._on_hint)
        await self._listener.start(wait=self._timeout)
        if self._head is not None:
            context.wakeup(self._to_node(self._head))

    async def close(self) -> None:
        try:
            if self._ahead and self._scripts is not None:
                await self._lift_ahead(None)
            if self._held and self._scripts is not None:
                # let peers take over at once what this node still holds
                await self._run("EXTEND", None, -1, *(x for kv in self._held.items() for x in kv))
        except StoreError as exc:
            logger.warning("could not hand over the leases of this node: %s", exc)
        finally:
            self._held.clear()
            if self._listener is not None:
                await self._listener.stop()
                self._listener = None
            client, self._client, self._scripts = self._client, None, None
            self._context = None
            if client is not None:
                await client.aclose()

    async def _abandon(self) -> None:
        """Test hook: let go like a killed process (leases stay until they run out)."""
        self._held.clear()
        await self.close()

    def _on_hint(self, run_at: float | None) -> None:
        if self._context is None:
            return
        if run_at is None:  # the listener (re)connected: hints may have been lost
            self._context.wakeup(0.0)
            return
        if self._head is None or run_at < self._head:
            self._head = run_at
        self._stuck_until = 0.0
        self._context.wakeup(self._to_node(run_at))

    def poll_interval(self) -> float | None:
        listener = self._listener
        return self._poll if listener is not None and listener.up else min(1.0, self._poll)

    # -- definitions ---------------------------------------------------------------------------

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
            spec = decode_spec(job_id, blob, self._codec, self._admission())
        except Exception as exc:  # tampered, refused, unimportable, malformed: report, skip
            reason = f"{type(exc).__name__}: {exc}"
            if self._broken.get(job_id, ((0, 0), ""))[0] != self._broken_key(dver):
                self._broken[job_id] = (self._broken_key(dver), reason)
                logger.error("stored job %r is broken and skipped: %s", job_id, reason)
                if self._context is not None:
                    self._context.on_broken(job_id, reason)
            return None
        self._broken.pop(job_id, None)
        if len(self._specs) > 100_000:
            self._specs.clear()
        self._specs[job_id] = (dver, spec)
        return spec

    def _broken_key(self, dver: int) -> tuple[int, int]:
        """A broken row is tried again when redefined or when the admission policy grows."""
        return dver, getattr(self._admission(), "generation", 0)

    async def _fetch_specs(self, wanted: dict[str, int]) -> None:
        missing = [i for i, dver in wanted.items() if self._specs.get(i, (-1,))[0] != dver]
        missing = [
            i
            for i in missing
            if self._broken.get(i, ((-1, 0), ""))[0] != self._broken_key(wanted[i])
        ]
        if missing:
            blobs = await mapped(self._client_or_fail().hmget(self.key("def"), missing), "read")
            for job_id, blob in zip(missing, blobs, strict=True):
                self._spec_of(
                    job_id, wanted[job_id], blob.encode() if isinstance(blob, str) else blob
                )

    def script_calls(self) -> dict[str, int]:
        """How many times this store ran each of its Lua scripts since it was last opened."""
        return dict(self._calls)

    def io_in_flight(self) -> int:
        """Script calls awaiting their reply (a fake clock waits for them)."""
        return self._scripts.in_flight if self._scripts is not None else 0
