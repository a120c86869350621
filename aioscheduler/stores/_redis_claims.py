"""The Redis store's hot path: claim (with advance), lease renewal, fenced release.

A mixin of :class:`~aioscheduler.stores.redis.RedisStore`. One claim is two round trips: the
``READ`` script lists the due jobs and the firings whose lease ran out (by the server's
clock); Python plans the firings of each job (misfire, coalescing, next time); the ``CLAIM``
script then, atomically, checks that each job is still due and unchanged (its version),
advances it and creates its firings, each ``(job id, slot)`` once, and takes over the expired
leases. A node that loses a race for a job gets no firing of it: the winner advanced it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .._clock import to_datetime
from .._serialization import PayloadCodec
from .._values import JobSpec, Outcome, Run
from ._base import Claim, ReleaseResult, StoreContext
from ._codec import encode_run
from ._planning import MAX_BACKLOG_PER_ACQUIRE, jitter_offset, plan
from ._redis_conn import JobRow, Scripts, as_str, ts_or_none

__all__ = ("RedisClaims", "fid_of")

logger = logging.getLogger("aioscheduler.stores.redis")

#: A claim that lost races for some jobs reads again, at most this many times in all.
RACE_ROUNDS = 8
#: A job of ``overlap="queue"`` running on another node is looked at again after this long.
QUEUE_RETRY = 0.5
#: Due work this node cannot claim (a broken definition) is looked at again after this long.
STUCK_RETRY = 1.0


def fid_of(job_id: str, slot: float) -> str:
    """The id of the firing of ``job_id`` at nominal time ``slot``."""
    return f"{job_id}@{slot!r}"


def run_at_of(spec: JobSpec, nominal: float | None) -> float | None:
    if nominal is None:
        return None
    return nominal + jitter_offset(spec.id, nominal, spec.trigger.jitter)


def _pairs(items: Sequence[Any]) -> list[tuple[str, JobRow]]:
    """``(id, state)`` pairs of a reply (a job deleted meanwhile has no state: dropped)."""
    return [
        (as_str(items[i]), JobRow.parse(items[i + 1]))
        for i in range(0, len(items), 2)
        if items[i + 1]
    ]


def _failure_count(claim: Claim, run: Run) -> str:
    """How a run counts for ``pause_after_failures`` ('S' resets, 'F<k>' counts, '' neither):
    a failure counts when it is the firing's last attempt."""
    options = claim.spec.options
    k = options.pause_after_failures
    if k is None or run.outcome is None:
        return ""
    if run.outcome in (Outcome.ERROR, Outcome.TIMEOUT):
        retried = run.attempt <= options.retries and isinstance(run.error, options.retry_on)
        return "" if retried else f"F{k}"
    return "S" if run.outcome is Outcome.SUCCESS else ""


def _opt(value: float | None) -> str:
    return "" if value is None else repr(value)


class RedisClaims:
    """Mixin: claims, leases and releases of the Redis store (see the module docstring)."""

    _context: StoreContext | None
    _codec: PayloadCodec
    _history_limit: int
    _lease: float
    stale_completions: int
    claims_made: int
    _node_clock: bool
    _offset: float
    _server_time: float
    _head: float | None
    _lease_head: float | None
    _stuck_until: float
    _deferred: dict[str, float]
    _held: dict[str, int]
    _reservation: float
    #: due jobs the last claim read and reserved for this node's next claim
    _ahead: list[tuple[str, JobRow]]

    # provided by the store
    def _scripts_or_fail(self) -> Scripts:
        raise NotImplementedError

    def _spec_of(self, job_id: str, dver: int, blob: bytes | None) -> JobSpec | None:
        raise NotImplementedError

    async def _fetch_specs(self, wanted: dict[str, int]) -> None:
        raise NotImplementedError

    _epoch: str
    _releasing: dict[str, int]

    if TYPE_CHECKING:  # provided by the epoch mixin

        async def _wiped(self, current: str) -> NoReturn:
            raise NotImplementedError

    # -- time ----------------------------------------------------------------------------------

    def _node_now(self) -> float:
        context = self._context
        return context.time() if context is not None else time.time()

    async def _run(self, name: str, hint: float | None, *args: Any) -> list[Any]:
        """Run a script; keep the heads and the server-node offset from its reply."""
        context = self._context
        owner = context.node_id if context is not None else ""
        sent = self._node_now()
        now_arg = repr(sent if hint is None else hint) if self._node_clock else ""
        reply: list[Any] = await self._scripts_or_fail()(name, [now_arg, owner, self._epoch, *args])
        if reply[0] == b"wiped":  # the namespace is not the one this node knew
            await self._wiped(as_str(reply[1]))
        self._server_time = float(reply[0])
        if not self._node_clock:
            self._offset = self._server_time - (sent + self._node_now()) / 2
        self._head, self._lease_head = ts_or_none(reply[1]), ts_or_none(reply[2])
        return reply[3:]

    def _server_now(self, hint: float) -> float:
        return hint if self._node_clock else self._node_now() + self._offset

    def next_due(self) -> float | None:
        if self._ahead:
            return self._server_time - self._offset  # read ahead: due already
        times = [t for t in (self._head, self._lease_head) if t is not None]
        if self._deferred:
            times.append(min(self._deferred.values()))
        if not times:
            return None
        due = min(times)
        if self._stuck_until > due:
            due = self._stuck_until
        return due - self._offset

    # -- claim ---------------------------------------------------------------------------------

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        out: list[Claim] = []
        for _ in range(RACE_ROUNDS):
            got, lost_race = await self._claim_round(now, limit - len(out))
            out += got
            if not lost_race or len(out) >= limit:
                break  # a node that lost a race for some jobs looks at the others again
        return out

    async def _claim_round(self, now: float, limit: int) -> tuple[list[Claim], bool]:
        server_now = self._server_now(now)
        lease_head = self._lease_head
        if self._ahead and (lease_head is None or lease_head > server_now):
            # the last claim read (and reserved) this batch already; no lease to take over
            due, self._ahead = self._ahead[:limit], self._ahead[limit:]
            orphans: list[tuple[str, str, JobRow]] = []
        else:
            await self._lift_ahead(now)
            reply = await self._run("READ", now, limit, limit, self._reservation)
            server_now = self._server_time
            n = int(reply[0])
            due = _pairs(reply[1 : 1 + 2 * n])
            base = 2 + 2 * n
            orphans = [
                (as_str(reply[base + 3 * i]), as_str(reply[base + 1 + 3 * i]),
                 JobRow.parse(reply[base + 2 + 3 * i]))
                for i in range(int(reply[base - 1]))
            ]  # fmt: skip
        for job_id, until in list(self._deferred.items()):
            if until <= server_now:
                del self._deferred[job_id]
        seen = bool(due or orphans)
        due = [d for d in due if d[0] not in self._deferred]
        wanted = {job_id: row.dver for job_id, row in due}
        for fid, _, row in orphans:
            wanted[fid.rpartition("@")[0]] = row.dver
        await self._fetch_specs(wanted)

        context = self._context
        me = context.node_id if context is not None else ""
        node = (context.node_name if context is not None else "") or me
        jobs: list[Any] = []
        poisoned: list[Any] = []
        planned: list[tuple[JobSpec, list[Claim]]] = []
        for job_id, row in due:
            spec = self._spec_of(job_id, row.dver, None)
            if spec is None or row.nominal is None or row.paused:
                continue
            try:
                claims, nominal = self._plan(spec, row, server_now, me)
            except Exception as exc:  # a trigger that raises: pause the job, go on
                self._poisoned(job_id, exc)
                poisoned += [job_id, row.ver]
                continue
            planned.append((spec, claims))
            overlap = spec.options.overlap
            parts = [
                str(row.ver), _opt(nominal), _opt(run_at_of(spec, nominal)),
                overlap if overlap in ("queue", "replace") else "",
            ]  # fmt: skip
            for c in claims:
                parts += [repr(c.scheduled_at), repr(c.run_at), str(c.missed), "01"[c.run],
                          "01"[c.final]]  # fmt: skip
            jobs += [job_id, "|".join(parts)]
        recovered: list[tuple[str, Claim]] = []
        for fid, raw_fire, row in orphans:
            job_id, _, slot = fid.rpartition("@")
            spec = self._spec_of(job_id, row.dver, None)
            if spec is None or row.paused:
                continue
            recovered.append((fid, self._recover(spec, float(slot), raw_fire, server_now, me)))
        planned_ids = {spec.id for spec, _ in planned}
        skipped = [job_id for job_id, _ in due if job_id not in planned_ids]
        if not planned and not recovered:
            self._stuck(server_now, seen)
            if skipped or poisoned:  # lift the reservations, pause what cannot be planned
                await self._run(
                    "CLAIM", now, "", self._lease, 0, 0, 0, 0, len(poisoned) // 2, *poisoned,
                    *skipped,
                )  # fmt: skip
            return [], False
        # a full batch: more is probably due; read the next one in the same round trip
        prefetch = limit if len(due) >= limit and not self._ahead else 0
        args: list[Any] = [node.replace("|", "/"), self._lease, prefetch, self._reservation]
        args += [len(planned), *jobs]
        args.append(len(recovered))
        for fid, claim in recovered:
            args += [fid, claim.attempt - 1, int(claim.run)]
        args += [len(poisoned) // 2, *poisoned, *skipped]
        results = await self._run("CLAIM", now, *args)
        out: list[Claim] = []
        lost_race = False
        for (spec, claims), flags in zip(planned, results, strict=False):
            text = as_str(flags)
            if not text:
                lost_race = True
                continue
            kind, running, created = (text + ":").split(":")[:3]
            if kind == "q":
                self._deferred[spec.id] = server_now + QUEUE_RETRY
                continue
            for claim, flag in zip(claims, created, strict=True):
                if flag == "1":
                    out.append(claim._replace(running=int(running)) if int(running) else claim)
                    if claim.owner is not None:
                        self._held[fid_of(spec.id, claim.scheduled_at)] = 1
        tail = len(planned) + len(recovered)
        self._ahead += _pairs(results[tail + 1 : tail + 1 + 2 * int(results[tail])])
        for (fid, claim), taken in zip(recovered, results[len(planned) : tail], strict=True):
            if int(taken):
                out.append(claim)
                if claim.owner is not None:
                    self._held[fid] = claim.attempt
        if not out and not lost_race:
            self._stuck(server_now, seen)
        self.claims_made += len(out)
        return out, lost_race

    async def _lift_ahead(self, hint: float | None) -> None:
        """Give back the jobs read ahead and not claimed (their reservation is lifted)."""
        if self._ahead:
            ids, self._ahead = [job_id for job_id, _ in self._ahead], []
            await self._run("CLAIM", hint, "", self._lease, 0, 0, 0, 0, 0, *ids)

    def _poisoned(self, job_id: str, exc: Exception) -> None:
        reason = f"its trigger failed, job paused: {type(exc).__name__}: {exc}"
        logger.error("job %r: %s", job_id, reason, exc_info=exc)
        if self._context is not None:
            self._context.on_broken(job_id, reason)

    def _stuck(self, server_now: float, seen: bool) -> None:
        """Due work was seen but none could be claimed (a broken definition, a queue job
        running elsewhere, a paused job's orphan): look again later instead of spinning."""
        if seen:
            self._stuck_until = min([server_now + STUCK_RETRY, *self._deferred.values()])

    def _plan(
        self, spec: JobSpec, row: JobRow, now: float, me: str
    ) -> tuple[list[Claim], float | None]:
        options = spec.options
        nominal, run_at = row.nominal, row.run_at
        claims: list[Claim] = []
        for _ in range(MAX_BACKLOG_PER_ACQUIRE):
            assert nominal is not None
            jitter = run_at - nominal if run_at is not None else 0.0
            p = plan(spec.trigger, nominal, now, options.misfire_grace, options.coalesce, jitter)
            nominal = p.next_nominal
            claims.append(
                Claim(
                    spec, p.scheduled_at, run_at if run_at is not None else p.scheduled_at,
                    p.missed, p.run, nominal is None, owner=me if p.run else None,
                )
            )  # fmt: skip
            run_at = run_at_of(spec, nominal)
            if run_at is None or run_at > now:
                break
        return claims, nominal

    def _recover(self, spec: JobSpec, slot: float, raw: str, now: float, me: str) -> Claim:
        """The claim of a firing whose node's lease ran out."""
        attempt_s, _, run_at_s, missed_s, final_s, _ = raw.split("|", 5)
        attempt, run_at, missed = int(attempt_s) + 1, float(run_at_s), int(missed_s)
        final = final_s == "1"
        if spec.options.delivery == "at-most-once":
            return Claim(
                spec, slot, run_at, max(1, missed), False, final, attempt=attempt, lost=True
            )
        grace = spec.options.misfire_grace
        run = not (grace is not None and now - run_at > grace)  # recovered too late: missed
        return Claim(
            spec, slot, run_at, missed + (not run), run, final, attempt=attempt,
            owner=me if run else None,
        )  # fmt: skip

    # -- leases --------------------------------------------------------------------------------

    async def extend_leases(self, claims: Sequence[Claim]) -> list[Claim]:
        mine = [c for c in claims if c.owner is not None and c.claimed]
        if not mine:
            return []
        args: list[Any] = [self._lease]
        for c in mine:
            args += [fid_of(c.spec.id, c.scheduled_at), c.attempt]
        reply = await self._run("EXTEND", None, *args)
        # a firing released meanwhile (its release crossed this renewal) is not lost
        held = self._held
        lost = {fid for fid in map(as_str, reply) if fid in held}
        out = []
        for c in mine:
            fid = fid_of(c.spec.id, c.scheduled_at)
            if fid not in lost:
                continue
            if held.get(fid) == c.attempt:
                del held[fid]  # no longer this node's
            out.append(c)
        return out

    # -- release -------------------------------------------------------------------------------

    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> ReleaseResult | None:
        if not runs:
            return None
        args: list[Any] = [0, self._history_limit]
        held, releasing = self._held, self._releasing
        sent = []
        seal = self._codec.seal
        for claim, run in runs:
            leased = claim.claimed and claim.owner is not None
            if leased and held:
                fid = fid_of(claim.spec.id, claim.scheduled_at)
                attempt = held.pop(fid, None)
                if attempt is not None:  # leased again should a wipe be noticed meanwhile
                    releasing[fid] = attempt
                    sent.append(fid)
            record = seal(encode_run(run, run.attempt)) if self._history_limit else ""
            final = int(claim.final and claim.claimed)
            count = _failure_count(claim, run)
            what = f"{claim.scheduled_at!r}|{claim.attempt}|{final}|{int(leased)}|{count}"
            args += [claim.spec.id, what, record]
        try:
            results = await self._run("RELEASE", None, *args)
        finally:
            for fid in sent:
                releasing.pop(fid, None)
        codes, rest = results[: len(runs)], results[len(runs) :]
        paused = tuple((as_str(rest[i]), int(rest[i + 1])) for i in range(0, len(rest), 2))
        refused = tuple(
            claim for (claim, _), code in zip(runs, codes, strict=True) if not int(code)
        )
        if not refused:
            return ReleaseResult((), paused) if paused else None
        self.stale_completions += len(refused)
        for claim in refused:
            logger.warning(
                "refused the completion of job %r firing %s attempt %d: its lease was taken "
                "over by another node",
                claim.spec.id, to_datetime(claim.scheduled_at), claim.attempt,
            )  # fmt: skip
        return ReleaseResult(refused, paused)
