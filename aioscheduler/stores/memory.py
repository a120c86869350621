"""The in-memory store: jobs in a dict, due times in a heap (see ``_memory_jobs``).

Nothing here awaits: each method finishes in one step on the loop, so claim and advance are
atomic by construction and the hot path stays O(log n) per firing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._clock import to_datetime
from .._values import Job, JobSpec, Run
from ..errors import JobExists, JobNotFound, SchedulerStateError
from ._base import Claim, Store, StoreContext
from ._memory_jobs import Entry, FinishedFiring, JobHeap, new_job
from ._planning import MAX_BACKLOG_PER_ACQUIRE, jitter_offset, plan

__all__ = ("FinishedFiring", "MemoryStore")


#: Builds a ``Claim`` from a full tuple of its fields in C (the named tuple's ``__new__`` is a
#: Python function: one call less per firing).
_tuple_new = tuple.__new__
#: ``Claim``'s fields after ``final`` at their defaults, as ``acquire_due`` writes them out
#: (a test checks them against ``Claim``).
CLAIM_DEFAULTS = (True, 1, False, None, 0, False)


class MemoryStore(Store):
    """The default store: fast, process-local, forgets everything at exit.

    Accepts any callable, closures and lambdas included.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, Entry] = {}
        self._heap = JobHeap(self._jobs)
        self._context: StoreContext | None = None
        self._history_limit = 10
        self._removed: set[Entry] = set()

    async def open(self, context: StoreContext) -> None:
        if self._context is not None and self._context.node_id != context.node_id:
            raise SchedulerStateError(
                "this MemoryStore is already used by another running scheduler"
            )
        self._context = context
        self._history_limit = context.history_limit
        for entry in self._jobs.values():
            entry.trim(self._history_limit)
            if entry.run_at is not None and not entry.paused:
                context.wakeup(entry.run_at)

    async def close(self) -> None:
        self._context = None

    def _schedule(self, entry: Entry, nominal: float | None, notify: bool = True) -> None:
        entry.nominal = nominal
        if nominal is None:
            entry.run_at = None
            self._heap.discard(entry)
            return
        run_at = nominal + jitter_offset(entry.spec.id, nominal, entry.spec.trigger.jitter)
        entry.run_at = run_at
        if entry.paused:
            return
        self._heap.push(run_at, entry)
        if notify and self._context is not None:
            self._context.wakeup(run_at)

    def _get(self, job_id: str) -> Entry:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound(job_id) from None

    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        return self.add_job_now(spec, now, paused, replace)

    def add_job_now(self, spec: JobSpec, now: float, paused: bool, replace: bool) -> Job:
        """:meth:`add_job` without a coroutine (nothing here awaits): the registry's direct
        path for ``add()`` on a running scheduler."""
        old = self._jobs.get(spec.id)
        if old is not None and not replace:
            raise JobExists(spec.id)
        first = spec.trigger.first_fire_ts(now)
        entry = Entry(spec, self._history_limit)
        entry.paused = paused
        if old is not None:
            self._heap.discard(old)
            entry.take_over(old)
            self._removed.add(old) if old.pending else None
        self._jobs[spec.id] = entry
        self._schedule(entry, first)
        if old is not None:
            return entry.snapshot()  # with the history it took over
        run_at = entry.run_at
        return new_job(spec, None if paused or run_at is None else to_datetime(run_at), paused, ())

    async def update_job(
        self,
        job_id: str,
        update: Callable[[JobSpec], JobSpec],
        *,
        now: float,
        reschedule: bool,
    ) -> Job:
        old = self._get(job_id)
        spec = update(old.spec)  # nothing awaits from here on: atomic on the loop
        if spec.id != job_id:
            raise ValueError(f"update_job() must keep the id {job_id!r}, got {spec.id!r}")
        entry = Entry(spec, self._history_limit)
        entry.paused = old.paused
        entry.take_over(old)  # runs of claims in flight on the old definition are kept too
        self._heap.discard(old)
        if old.pending:  # claims of the old definition still record their runs on it
            self._removed.add(old)
        self._jobs[job_id] = entry
        if reschedule:
            first = spec.trigger.first_fire(to_datetime(now))
            self._schedule(entry, first.timestamp() if first is not None else None)
        else:
            entry.nominal, entry.run_at = old.nominal, old.run_at
            if old.run_at is not None and not old.paused:
                self._heap.push(old.run_at, entry)
        return entry.snapshot()

    async def remove_job(self, job_id: str) -> None:
        self.remove_job_now(job_id)

    def remove_job_now(self, job_id: str) -> None:
        """:meth:`remove_job` without a coroutine (see :meth:`add_job_now`)."""
        entry = self._jobs.pop(job_id, None)
        if entry is None:
            raise JobNotFound(job_id)
        self._heap.discard(entry)
        if entry.pending:
            self._removed.add(entry)

    async def get_job(self, job_id: str) -> Job:
        return self._get(job_id).snapshot()

    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        jobs = [e.snapshot(with_history=history) for e in self._jobs.values()]
        jobs.sort(key=lambda j: (j.next_run_at is None, j.next_run_at or 0, j.id))
        return jobs

    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        entry = self._get(job_id)
        if paused == entry.paused:
            return entry.snapshot()
        entry.paused = paused
        if paused:
            self._heap.discard(entry)
        elif entry.nominal is not None:
            nominal = entry.nominal
            if entry.run_at is not None and entry.run_at <= now:
                # firings inside the pause are not caught up: continue after now
                nxt = entry.spec.trigger.next_after(to_datetime(nominal), to_datetime(now))
                self._schedule(entry, nxt.timestamp() if nxt is not None else None)
            else:
                self._schedule(entry, nominal)
        return entry.snapshot()

    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        popped = self._heap.pop_due(now, limit)
        claims: list[Claim] = []
        append = claims.append
        push = self._heap.push
        for entry in popped:
            spec = entry.spec
            trigger = spec.trigger
            nominal = entry.nominal
            run_at = entry.run_at
            assert nominal is not None and run_at is not None
            nxt = trigger.next_after_ts(nominal)
            if nxt is not None and nxt <= now:  # more firings due: the general path
                self._plan_backlog(entry, now, claims)
                continue
            # The common case, as plan() decides it: this one firing is due, the next is not
            # (the same rule and arithmetic as plan(), without its Plan and Claim calls).
            grace = spec.options.misfire_grace
            run = grace is None or not now - nominal - (run_at - nominal) > grace
            # Claim(spec, nominal, run_at, missed, run, final) with the other fields at their
            # defaults (claimed, attempt 1, no backfill, owner, running, lost: CLAIM_DEFAULTS)
            append(
                _tuple_new(
                    Claim,
                    (
                        spec,
                        nominal,
                        run_at or nominal,
                        0 if run else 1,
                        run,
                        nxt is None,
                        True,
                        1,
                        False,
                        None,
                        0,
                        False,
                    ),
                )
            )
            entry.pending += 1
            # no wake-up: the dispatcher is the caller and reads next_due() right after
            entry.nominal = nxt
            if nxt is None:
                entry.run_at = None
            else:
                jitter = trigger.jitter
                run_at = nxt + jitter_offset(spec.id, nxt, jitter) if jitter else nxt
                entry.run_at = run_at
                if not entry.paused:
                    push(run_at, entry)
        return claims

    def _plan_backlog(self, entry: Entry, now: float, claims: list[Claim]) -> None:
        """Claim the firings of a job with more than one firing due (coalescing, misfires,
        a ``coalesce=False`` backlog). A firing within its grace and not coalesced is decided
        inline, as :func:`plan` decides it (run it, nothing folded): the backlog's common
        case, without a ``Plan`` and a ``Claim`` call per firing."""
        spec = entry.spec
        options = spec.options
        trigger = spec.trigger
        grace = options.misfire_grace
        coalesce = options.coalesce
        jitter = trigger.jitter
        append = claims.append
        nominal = entry.nominal
        for _ in range(MAX_BACKLOG_PER_ACQUIRE):
            assert nominal is not None
            claim_at = entry.run_at
            offset = claim_at - nominal if claim_at is not None else 0.0
            if not coalesce and (grace is None or not now - nominal - offset > grace):
                scheduled, missed, run = nominal, 0, True
                nominal = trigger.next_after_ts(nominal)
            else:
                scheduled, run, missed, nominal = plan(
                    trigger, nominal, now, grace, coalesce, offset
                )
            final = nominal is None
            run_at = (
                (nominal + jitter_offset(spec.id, nominal, jitter) if jitter else nominal)
                if nominal is not None
                else 0.0
            )
            # Claim(spec, scheduled, run_at, missed, run, final) + CLAIM_DEFAULTS, as above
            append(
                _tuple_new(
                    Claim,
                    (spec, scheduled, claim_at or scheduled, missed, run, final, *CLAIM_DEFAULTS),
                )
            )
            entry.pending += 1
            if final or run_at > now:
                break
            entry.run_at = run_at
        # no wake-up: the dispatcher is the caller and reads next_due() right after
        self._schedule(entry, nominal, notify=False)

    async def release(self, runs: Sequence[tuple[Claim, Run | FinishedFiring]]) -> None:
        self.release_now(runs)

    def release_now(self, runs: Sequence[tuple[Claim, Run | FinishedFiring]]) -> None:
        """:meth:`release` without a coroutine (nothing here awaits): the recorder writes the
        plain memory store's history in a loop callback, not a task per batch."""
        jobs = self._jobs
        for claim, run in runs:
            spec = claim.spec
            entry = jobs.get(spec.id)
            if entry is not None and entry.spec is spec:  # the common case
                entry.pending -= claim.claimed
                entry.record(run)
                if claim.final and entry.pending <= 0 and entry.nominal is None:
                    del jobs[spec.id]
                continue
            if entry is not None and not claim.claimed:
                # a local firing (run_now, a retry of one) carries a copy of the definition
                # taken from a snapshot, maybe of an older definition: it is a run of the job
                # with this id (as in the SQLite store), and it holds no claim to release
                entry.record(run)
                continue
            # removed or replaced meanwhile: the old entry still records what happened
            entry = next((e for e in self._removed if e.spec is spec), None)
            if entry is None:
                continue
            entry.pending -= claim.claimed
            entry.record(run)
            if entry.pending <= 0:
                self._removed.discard(entry)

    def next_due(self) -> float | None:
        return self._heap.peek()
