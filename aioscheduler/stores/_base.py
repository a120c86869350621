"""The store contract: where jobs live, and how due firings are claimed and released.

The dispatcher talks to a store only through this class. Firings are claimed in batches
(:meth:`Store.acquire_due`), run by the scheduler, and their finished runs are handed back in
batches (:meth:`Store.release`). A store plans each claimed firing with
:func:`aioscheduler.stores._planning.plan` so that misfire and coalescing rules are the same
everywhere, and it advances the job's next time in the same step as the claim.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .._admission import Admission
from .._crypto import PayloadCodec
from .._values import Job, JobSpec, Run

__all__ = ("Claim", "Store", "StoreContext")


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What the scheduler hands a store when it opens it."""

    node_id: str
    """Identity of this scheduler instance (for leases in shared stores)."""
    wakeup: Callable[[float], None]
    """Call with a due timestamp when a job may now be due earlier than the store last said
    (a new job, a resume). Must be called on the event loop thread."""
    history_limit: int = 10
    """How many finished runs to keep per job."""
    on_broken: Callable[[str, str], None] = lambda job_id, reason: None
    """Call with ``(job_id, reason)`` for each stored job that cannot be loaded (tampered,
    unreadable, callable gone). The store skips such a job and keeps running the others. Must
    be called on the event loop thread."""
    admission: Admission = field(default_factory=Admission)
    """Which callables and classes stored rows may name (checked before anything is imported).
    Pass it to :func:`~aioscheduler.stores._codec.decode_spec` and
    :func:`~aioscheduler.stores._codec.open_run` for every row read. The default admits nothing
    but signed rows (and builtin exception classes)."""


class Claim(NamedTuple):
    """A firing claimed for this node (a named tuple: cheap, immutable, one per firing).

    When ``run`` is false the firing is not run but reported missed (``missed`` counts it and
    the firings folded with it). ``final`` says the job has no later firing: the store removes it
    once the claim is released. ``claimed`` is false for a local firing (``run_now``, a retry,
    a ``Ticks`` count) that the store did not hand out: releasing it only records the run.
    ``attempt`` is above 1 when the store hands out a firing again (its earlier claim was
    never released: the process died mid-run).
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
      :class:`~aioscheduler.errors.StoreError`.
    - Every time is a UTC timestamp (float seconds since the epoch).
    """

    #: True for stores that can only hold callables by import path and serializable arguments.
    persistent: bool = False

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
        """Release claims held by this node and disconnect."""

    @abstractmethod
    async def add_job(self, spec: JobSpec, *, now: float, paused: bool, replace: bool) -> Job:
        """Add (or with ``replace``, replace) a job; compute its first firing from ``now``."""

    @abstractmethod
    async def remove_job(self, job_id: str) -> Job:
        """Remove a job and return its last snapshot. Its pending firings are dropped."""

    @abstractmethod
    async def get_job(self, job_id: str) -> Job:
        """Return a snapshot of one job."""

    @abstractmethod
    async def list_jobs(self) -> list[Job]:
        """Return snapshots of every job, ordered by next run time (``None`` last), then id."""

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
        """Claim up to ``limit`` firings whose run time is ``<= now``, in due order."""

    @abstractmethod
    async def release(self, runs: Sequence[tuple[Claim, Run]]) -> None:
        """Record the finished runs of claimed firings (history, lease release), and remove
        jobs whose claim was final."""

    @abstractmethod
    def next_due(self) -> float | None:
        """The earliest known run time of any unpaused job, or ``None``. Cheap and
        synchronous: persistent stores answer from what they last read or were notified."""

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
        time (``None``: never; in-process stores know everything)."""
        return None

    async def job_specs(self) -> list[tuple[JobSpec, bool]]:
        """Every job's definition and paused state, without history (the scheduler reads
        this at start). The default lists the jobs; stores with a cheaper way override it."""
        return [(job.spec, job.paused) for job in await self.list_jobs()]
