"""The store contract: where jobs live, and how due firings are claimed and released.

The dispatcher talks to a store only through this class. Firings are claimed in batches
(:meth:`Store.acquire_due`), run by the scheduler, and their finished runs are handed back in
batches (:meth:`Store.release`). A store plans each claimed firing with
:func:`aioscheduler.stores._planning.plan` so that misfire and coalescing rules are the same
everywhere, and it advances the job's next time in the same step as the claim.

Shared stores (:attr:`Store.shared`: PostgreSQL, Redis) let several schedulers ("nodes") work
one schedule. On top of the single-node contract they guarantee:

- **Exactly-once firing creation.** A firing is identified by ``(job id, nominal slot)``; the
  claim of a slot and the advance of the job's next time are one atomic step, so however many
  nodes claim, crash, retry or race, each slot is handed out once (:attr:`Claim.attempt` 1).
- **Leases.** A claimed firing is leased to its node (:attr:`Claim.owner`, the node's
  incarnation id) for :attr:`Store.lease` seconds. The engine renews all of its leases in one
  call of :meth:`Store.extend_leases` every ``lease / 3``. When a lease expires (the node died,
  froze or lost the store), any node may claim the firing again: ``attempt`` counts up and the
  owner changes. That (owner, attempt) pair is the fencing token.
- **Fenced completion.** :meth:`Store.release` records a leased firing only if its owner and
  attempt still match; otherwise the completion is refused, counted
  (:attr:`Store.stale_completions`), returned in :attr:`ReleaseResult.refused`, and never
  recorded as the run's outcome.
- **The store's clock decides.** Due-ness and lease expiry are judged by the server's clock;
  the ``now`` arguments are hints (a store may offer a test mode that trusts them). Every time a
  store *returns* to the engine (:meth:`Store.next_due`, wake-ups) is on the node's clock
  (:attr:`StoreContext.time`): the store measures the offset between the two and converts.
- **Policies for the job, not per node.** ``overlap`` and ``pause_after_failures`` are decided
  with the firings of every node in view (:attr:`Claim.running`, :attr:`ReleaseResult.paused`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .._admission import Admission
from .._crypto import PayloadCodec
from .._values import Job, JobSpec, Run
from ..errors import JobExists, JobNotFound

__all__ = ("Claim", "DeclareResult", "ReleaseResult", "Store", "StoreContext", "same_definition")


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What the scheduler hands a store when it opens it."""

    node_id: str
    """Identity of this scheduler incarnation: unique per :meth:`Store.open` (a shared store's
    lease owner). Two processes with the same :attr:`node_name` have different ids."""
    wakeup: Callable[[float], None]
    """Call with a due timestamp (node clock) when a job may now be due earlier than the store
    last said (a new job, a resume, a hint from another node). Must be called on the event loop
    thread; it only wakes the dispatcher, which then calls :meth:`Store.acquire_due`."""
    history_limit: int = 10
    """How many finished runs to keep per job."""
    on_broken: Callable[[str, str], None] = lambda job_id, reason: None
    """Call with ``(job_id, reason)`` for each stored job that cannot be loaded (tampered,
    unreadable, callable gone). The store skips such a job and keeps running the others. Must
    be called on the event loop thread."""
    node_name: str = ""
    """Human-readable name of this node (``Scheduler(node_name=...)``; default host and pid).
    Shared stores record it with leases and runs, for ``aioscheduler jobs`` and the logs."""
    time: Callable[[], float] = time.time
    """The node's wall clock (the scheduler's clock). A shared store uses it only to convert
    its server's times into node times (:meth:`Store.next_due`), never to judge due-ness."""
    admission: Admission = field(default_factory=Admission)
    """Which callables and classes stored rows may name (checked before anything is imported).
    Pass it to :func:`~aioscheduler.stores._codec.decode_spec` and
    :func:`~aioscheduler.stores._codec.open_run` for every row read. The default admits nothing
    but signed rows (and builtin exception classes)."""


class Claim(NamedTuple):
    """A firing claimed for this node (a named tuple: cheap, immutable, one per firing).

    When ``run`` is false the firing is not run but reported missed (``missed`` counts it and
    the firings folded with it); with ``lost`` it is reported lost instead (an
    ``delivery="at-most-once"`` firing whose node died mid-run). ``final`` says the job has no
    later firing: the store removes it once the claim is released. ``claimed`` is false for a
    local firing (``run_now``, a retry, a ``Ticks`` count) that the store did not hand out:
    releasing it only records the run. ``attempt`` is above 1 when the store hands out a firing
    again (its earlier claim was never released: the node died, froze or was cut off mid-run).
    """

    spec: JobSpec
    scheduled_at: float
    run_at: float
    missed: int
    run: bool
    final: bool
    claimed: bool = True
    attempt: int = 1
    backfill: bool = False
    owner: str | None = None
    """The lease owner (:attr:`StoreContext.node_id`) of a leased claim; ``None`` for stores
    without leases. With ``attempt`` it is the fencing token :meth:`Store.release` checks."""
    running: int = 0
    """How many firings of this job other nodes were running when this one was claimed (0 for
    single-node stores). The runner counts them for ``overlap="skip"`` and ``max_instances``."""
    lost: bool = False
    """The firing's earlier attempt was lost with its node and the job asks for at-most-once
    delivery: report it lost (with ``run`` false), never run it again."""


class ReleaseResult(NamedTuple):
    """What a shared store reports back from :meth:`Store.release`."""

    refused: tuple[Claim, ...] = ()
    """Leased claims whose completion was refused: the lease had been taken over (stale owner
    or attempt). Nothing of them was recorded."""
    paused: tuple[tuple[str, int], ...] = ()
    """``(job_id, failures)`` of jobs the store paused under ``pause_after_failures``, counted
    over every node's runs (stores with :attr:`Store.counts_failures`)."""


DeclareResult = Literal["added", "replaced", "unchanged"]


def same_definition(a: JobSpec, b: JobSpec) -> bool:
    """Whether two job definitions are the same (callable by identity or by import path and
    code, trigger, arguments, options): declaring ``b`` over ``a`` changes nothing."""
    if a == b:
        return True
    if not (
        a.trigger == b.trigger
        and a.options == b.options
        and a.args == b.args
        and dict(a.kwargs) == dict(b.kwargs)
    ):
        return False
    fa, fb = a.func, b.func
    return fa is fb or (
        getattr(fa, "__module__", None) == getattr(fb, "__module__", None)
        and getattr(fa, "__qualname__", None) == getattr(fb, "__qualname__", None)
        and getattr(fa, "__code__", None) is getattr(fb, "__code__", None)
    )


class Store(ABC):
    """Base class of job stores.

    Contract for every implementation:

    - Job ids are unique. ``add_job`` raises :class:`~aioscheduler.errors.JobExists` for a taken
      id unless ``replace`` is true; the methods taking an id raise
      :class:`~aioscheduler.errors.JobNotFound` for an unknown one.
    - ``acquire_due`` claims each due firing exactly once (across every scheduler sharing the
      store), applying the job's misfire and coalescing policy and advancing its next time in
      the same atomic step. A paused job is never claimed.
    - Stores never raise driver exceptions: they are wrapped in
      :class:`~aioscheduler.errors.StoreError`. A shared store that cannot reach its server
      raises :class:`~aioscheduler.errors.StoreError` promptly (bounded by a timeout) and works
      again once the server is back, without being reopened.
    - Every time is a UTC timestamp (float seconds since the epoch).

    Shared stores add the guarantees listed in the module docstring.
    """

    #: True for stores that can only hold callables by import path and serializable arguments.
    persistent: bool = False
    #: True for stores several schedulers may use at once (see the module docstring).
    shared: bool = False
    #: True when :meth:`release` counts consecutive failures for ``pause_after_failures`` and
    #: pauses jobs itself (reported in :attr:`ReleaseResult.paused`); the engine then does not
    #: count them per node.
    counts_failures: bool = False
    #: Completions refused by the fence since the store was created (see :meth:`release`).
    stale_completions: int = 0

    @property
    def lease(self) -> float | None:
        """Seconds a claimed firing stays leased to its node without renewal, or ``None`` for
        stores whose claims need no renewal (single-node stores). With a lease, the engine calls
        :meth:`extend_leases` every ``lease / 3`` and cancels its own runs (self-fencing) when
        it could not renew for ``lease`` minus a safety margin, on the monotonic clock."""
        return None

    @property
    def signs_payloads(self) -> bool:
        """Whether the rows this store writes are signed with a ``secret_key`` (so a signed row
        may name any callable). By default: whether the store keeps a
        :class:`~aioscheduler._crypto.PayloadCodec` with a key as ``self._codec`` (as the
        shipped stores do); a store that does otherwise overrides this."""
        codec = getattr(self, "_codec", None)
        return isinstance(codec, PayloadCodec) and codec.key_id is not None

    async def open(self, context: StoreContext) -> None:  # noqa: B027 - optional hook
        """Connect and prepare (schema, listeners). Called before any other method; may be
        called again after :meth:`close`."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release claims held by this node (a shared store makes them claimable by other
        nodes at once) and disconnect."""

    @abstractmethod
    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        """Add (or with ``replace``, replace) a job; compute its first firing from ``now``."""

    async def declare_job(
        self, spec: JobSpec, *, now: float, paused: bool
    ) -> tuple[Job, DeclareResult]:
        """Add a job declared in code (decorators, ``include()``) as one atomic step.

        A new id is added (``paused`` applies); an existing job with the same definition
        (:func:`same_definition`) is left untouched: its next time, paused state and history
        stay; a changed definition replaces it once, keeping its paused state and history.
        Any number of nodes may declare the same jobs at the same moment: none fails, and the
        schedule gets no doubled or lost firing. The default suits single-writer stores.

        Returns:
            The job's snapshot and what happened.
        """
        try:
            existing = await self.get_job(spec.id)
        except JobNotFound:
            try:
                return await self.add_job(spec, now=now, paused=paused, replace=False), "added"
            except JobExists:
                existing = await self.get_job(spec.id)
        if same_definition(existing.spec, spec):
            return existing, "unchanged"
        job = await self.add_job(spec, now=now, paused=existing.paused, replace=True)
        return job, "replaced"

    @abstractmethod
    async def remove_job(self, job_id: str) -> None:
        """Remove a job. Its pending firings are dropped (a running one finishes; its release
        records nothing). Returns nothing: no snapshot is read or built for a removal (read
        one with :meth:`get_job` first if needed)."""

    @abstractmethod
    async def get_job(self, job_id: str) -> Job:
        """Return a snapshot of one job."""

    @abstractmethod
    async def list_jobs(self, *, history: bool = True) -> list[Job]:
        """Return snapshots of every job, ordered by next run time (``None`` last), then id.

        With ``history=False`` the snapshots carry no run history (``Job.history`` is empty,
        ``Job.last_run`` is ``None``) and the store must not read it: listing a large store
        then costs only its job rows. One job's history: :meth:`get_job`."""

    @abstractmethod
    async def set_paused(self, job_id: str, paused: bool, *, now: float) -> Job:
        """Pause or resume a job. Resuming recomputes the next time from ``now`` without
        catching up the firings that fell inside the pause."""

    async def update_job(
        self,
        job_id: str,
        update: Callable[[JobSpec], JobSpec],
        *,
        now: float,
        reschedule: bool,
    ) -> Job:
        """Atomically change a job's definition: store ``update(current definition)``.

        The read of the current definition, the call and the write are one atomic step: no
        other change to the job (from this process or another node) can come in between, and
        two concurrent updates never lose one another (a store with optimistic transactions
        retries; ``update`` may then be called again, so it must be a pure function).
        ``update`` is synchronous, called on the event loop thread, and may raise: then
        nothing changes and its exception propagates. The returned definition keeps the id.

        The job keeps its paused state and its run history. With ``reschedule=False``
        (``Scheduler.modify``) its next firing time is kept as it is. With ``reschedule=True``
        (``Scheduler.reschedule``: the trigger changed) the next firing is computed afresh
        from ``now`` with the new trigger (``trigger.first_fire(now)``, plus its jitter), as
        for a new job; ``None`` (the trigger never fires again) leaves the job without a next
        time. Firings already claimed keep running with the definition they were claimed with;
        their release records history but never removes the updated job.

        Raises:
            JobNotFound: no job has this id.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement update_job()")

    @abstractmethod
    async def acquire_due(self, now: float, limit: int) -> list[Claim]:
        """Claim up to ``limit`` firings whose run time is ``<= now``, in due order.

        A shared store judges "due" and "lease expired" by its own clock (``now`` is a hint),
        claims firings whose lease expired (``attempt + 1``, or ``lost`` for an at-most-once
        job), sets :attr:`Claim.owner` and :attr:`Claim.running`, and does all of it for a
        job in one atomic step with the advance of its next time. It does not claim a firing
        of an ``overlap="queue"`` job while another node runs one (it stays due), and claiming
        a firing of an ``overlap="replace"`` job revokes the leases of that job's running
        firings (their owners learn it from :meth:`extend_leases` and cancel them).
        """

    @abstractmethod
    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> ReleaseResult | None:
        """Record the finished runs of claimed firings (history, lease release), and remove
        jobs whose claim was final.

        A shared store records a leased claim only while its (owner, attempt) still holds the
        lease; otherwise the completion is refused and counted (see :class:`ReleaseResult`).
        Returns ``None`` when there is nothing to report.
        """

    async def extend_leases(self, claims: Sequence[Claim]) -> list[Claim]:
        """Renew the leases of ``claims`` (held by this node) for another :attr:`lease`
        seconds, in one statement; return the claims that are no longer this node's (taken
        over by another node after expiry, or revoked by ``overlap="replace"``): the engine
        cancels their runs. A firing of a job removed meanwhile stays leased until released
        (like on every store, a removed job's running run finishes).

        Raises:
            StoreError: the store could not be reached; nothing is known to be renewed.
        """
        return []

    @abstractmethod
    def next_due(self) -> float | None:
        """The earliest known run time of any unpaused job (or lease expiry of another node's
        firing), on the node's clock, or ``None``. Cheap and synchronous: persistent stores
        answer from what they last read or were notified."""

    def io_in_flight(self) -> int:
        """How many of this store's operations are waiting on something outside the event loop
        right now (a worker thread, a network round trip). ``0`` when none.

        :class:`aioscheduler.testing.FakeClock` waits while this is above zero, so that time
        does not move on while a claim or a release is half done: tests on a persistent store
        are as deterministic as on the memory store. Stores that await I/O count each such
        operation from its start until its caller resumes.
        """
        return 0

    def poll_interval(self) -> float | None:
        """How often the scheduler should call :meth:`acquire_due` even without a known due
        time (``None``: never; in-process stores know everything). Shared stores poll as the
        safety net under their wake-up hints."""
        return None

    async def job_specs(self) -> list[tuple[JobSpec, bool]]:
        """Every job's definition and paused state, without history (the scheduler reads
        this at start). The default lists the jobs; stores with a cheaper way override it."""
        return [(job.spec, job.paused) for job in await self.list_jobs(history=False)]
