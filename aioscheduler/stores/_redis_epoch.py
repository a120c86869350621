"""A wiped Redis namespace, noticed and reported (a mixin of
:class:`~aioscheduler.stores.redis.RedisStore`).

A namespace is created with a random token in ``{prefix}:epoch``; every script is sent with
the token the store knows and refuses to run when the key holds another one or none (see
:mod:`._redis_lua`). A Redis server restarted without persistence, or a ``FLUSHDB``, empties
the namespace: the next claim, lease renewal or change of any node is refused instead of
reading an empty schedule. That node then, once per wipe:

- logs CRITICAL (the prefix, what was lost, what to do) and raises :class:`StoreWiped` from
  the call that noticed it (the scheduler treats it as a store outage: a ``StoreUnavailable``
  event, a retry with backoff);
- creates the epoch again, or adopts the one another node created first;
- leases again the firings it is still running (their runs go on and are recorded);
- declares again the jobs it declared (decorated jobs): a new job's high-water mark starts at
  the server's now, so no slot up to then is created twice, whether it ran before the wipe
  or not. Declaring is atomic, so every node may do it at once; a node started after the wipe
  declares its jobs at start as on a first deployment.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, NoReturn

from .._values import JobSpec
from ..errors import StoreWiped
from ._base import StoreContext
from ._redis_conn import as_str

if TYPE_CHECKING:
    from ._redis_conn import Scripts

__all__ = ("RedisEpoch",)

logger = logging.getLogger("aioscheduler.stores.redis")


class RedisEpoch:
    """Mixin: the namespace's epoch, and what a node does when it finds it gone."""

    prefix: str
    _context: StoreContext | None
    _node_clock: bool
    _lease: float
    _held: dict[str, int]
    _specs: dict[str, tuple[int, JobSpec]]
    _broken: dict[str, tuple[tuple[int, int], str]]
    _deferred: dict[str, float]
    _ahead: list[Any]
    _stuck_until: float
    #: the namespace's token as this node knows it ('' before open)
    _epoch: str = ""
    #: firings being released right now (fid -> attempt): leased again if a wipe is noticed
    _releasing: dict[str, int]
    #: jobs this node declared (id -> (definition, paused)): declared again after a wipe
    _declared: dict[str, tuple[JobSpec, bool]]
    _restoring: bool = False
    #: wipes this store noticed (for tests and metrics)
    wipes_seen: int = 0

    if TYPE_CHECKING:  # provided by the store and its mixins

        def _scripts_or_fail(self) -> Scripts:
            raise NotImplementedError

        def _node_now(self) -> float:
            raise NotImplementedError

        async def _put(self, spec: JobSpec, now: float, paused: bool, mode: str) -> tuple[str, Any]:
            raise NotImplementedError

    def _script_head(self) -> list[str]:
        context = self._context
        owner = context.node_id if context is not None else ""
        return [repr(self._node_now()) if self._node_clock else "", owner]

    async def _open_epoch(self) -> None:
        """Learn the namespace's epoch; create it if the namespace is new (or was wiped
        while no node of it was running: nothing can tell those apart)."""
        reply = await self._scripts_or_fail()("EPOCH", [*self._script_head(), _token()])
        self._epoch = as_str(reply[0])

    def _declared_job(self, spec: JobSpec, paused: bool) -> None:
        self._declared[spec.id] = (spec, paused)

    def _changed_job(self, job_id: str, spec: JobSpec | None = None, *, paused: bool | None = None
                     ) -> None:  # fmt: skip
        """Keep what a wipe would restore in step with the job's later changes."""
        known = self._declared.get(job_id)
        if known is not None:
            self._declared[job_id] = (
                spec or known[0], known[1] if paused is None else paused
            )  # fmt: skip

    async def _wiped(self, current: str) -> NoReturn:
        """A script found the namespace wiped (its epoch is ``current``, '' if none): report
        it, restore what this node can, and raise :class:`StoreWiped`."""
        if self._restoring:
            raise StoreWiped(f"Redis namespace {self.prefix!r} changed again while restoring")
        self._restoring = True
        try:
            restored, status = await self._restore()
        finally:
            self._restoring = False
        self.wipes_seen += 1
        lost = (
            f"Redis namespace {self.prefix!r} was wiped (a server restarted without persistence, "
            "or FLUSHDB/FLUSHALL): its jobs, next times, paused states, leases and run history "
            f"are gone. {status}; this node declared its {restored} declared job(s) again, "
            "from now on (firings due meanwhile are lost); "
            f"{len(self._held)} firing(s) it is running stay leased. Jobs added at run time "
            "must be added again. Turn on Redis persistence (appendonly yes) to keep the "
            "schedule across restarts."
        )
        logger.critical(lost)
        raise StoreWiped(lost)

    async def _restore(self) -> tuple[int, str]:
        held = {**self._held, **self._releasing}
        context = self._context
        node = ((context.node_name or context.node_id) if context is not None else "") or "?"
        args = [*self._script_head(), _token(), node.replace("|", "/"), self._lease]
        for fid, attempt in held.items():
            args += [fid, attempt]
        epoch, status = map(as_str, await self._scripts_or_fail()("RESTORE", args))
        self._epoch = epoch
        # nothing read before the wipe holds: definitions are renumbered, reservations gone
        self._specs.clear()
        self._broken.clear()
        self._deferred.clear()
        self._ahead = []
        self._stuck_until = 0.0
        for spec, paused in list(self._declared.values()):
            await self._put(spec, self._node_now(), paused, "restore")
        if context is not None:
            context.wakeup(0.0)
        who = "This node" if status == "recreated" else "Another node had already"
        return len(self._declared), f"{who} re-created the namespace"


def _token() -> str:
    return f"{uuid.uuid4().hex}@{time.time():.0f}"
