"""The memory store's state of one job (:class:`Entry`, its kept runs as plain records) and
its due heap (:class:`JobHeap`), both shaped for the cyclic garbage collector.

With 1e5 jobs, whatever a firing leaves behind for longer than a few collections is a
"long-lived" object to the collector, and enough of them set off a full collection (a pause
of 100 ms and more on the firing path). So a kept run is a tuple of plain values, and a heap
item is ``(run_at, seq, job_id)``: a float, an int and a str, which the collector untracks.
"""

from __future__ import annotations

import dataclasses
import heapq
from datetime import datetime
from itertools import count
from typing import TYPE_CHECKING, Any, Protocol, cast

from .._clock import to_datetime
from .._tracebacks import release_locals
from .._values import Job, JobSpec, Outcome, Run

if TYPE_CHECKING:
    from ._base import Claim

__all__ = ("Entry", "FinishedFiring", "JobHeap", "Record", "new_job")

#: ``Outcome`` by value: a kept record holds the plain string (see ``Entry.record``).
_OUTCOMES = {o.value: o for o in Outcome}
#: And back (a dict lookup: ``Outcome.value`` is a Python-level descriptor).
_OUTCOME_VALUES = {o: o.value for o in Outcome}

#: A kept run: the fields of a :class:`Run`, the outcome as its string.
Record = tuple[Any, ...]

#: ``Job``'s fields in order, as :class:`_JobBuilder` has them.
_JOB_FIELDS = (
    "id",
    "func",
    "trigger",
    "args",
    "kwargs",
    "options",
    "next_run_at",
    "paused",
    "last_run",
    "history",
)
if tuple(f.name for f in dataclasses.fields(Job)) != _JOB_FIELDS:  # pragma: no cover
    raise RuntimeError("Job's fields changed: update _memory_jobs._JobBuilder")


class _JobBuilder:
    """A ``Job``'s slots, in its order, settable: :func:`new_job` fills one and makes it a
    ``Job`` by ``__class__`` assignment (allowed between classes with the same slots), as
    ``_specs._SpecBuilder`` does for a ``JobSpec``."""

    __slots__ = _JOB_FIELDS

    def __init__(
        self, spec: JobSpec, next_run_at: datetime | None, paused: bool, history: tuple[Run, ...]
    ) -> None:
        self.id = spec.id
        self.func = spec.func
        self.trigger = spec.trigger
        self.args = spec.args
        self.kwargs = spec.kwargs
        self.options = spec.options
        self.next_run_at = next_run_at
        self.paused = paused
        self.last_run = history[-1] if history else None
        self.history = history


def new_job(
    spec: JobSpec, next_run_at: datetime | None, paused: bool, history: tuple[Run, ...]
) -> Job:
    """``Job.of(spec, ...)`` in a third of the time (0.25 against 0.8 µs; slot descriptors'
    ``__set__``: 0.45 µs): a frozen dataclass's ``__init__`` calls ``object.__setattr__`` once
    per field. ``add()`` returns one per call. Same object: a test compares the two."""
    job: Any = _JobBuilder(spec, next_run_at, paused, history)
    job.__class__ = Job
    return cast(Job, job)


class FinishedFiring(Protocol):
    """A finished job firing, as the engine hands it to :meth:`MemoryStore.release` in place
    of a :class:`Run`: the run is then built only if someone reads the history."""

    @property
    def claim(self) -> Claim | None: ...
    @property
    def started(self) -> float | None: ...
    @property
    def finished(self) -> float | None: ...
    @property
    def attempt(self) -> int: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def missed(self) -> int: ...
    @property
    def result(self) -> Any: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def node(self) -> str | None: ...


def _when(t: datetime | float | None) -> datetime | None:
    return to_datetime(t) if t.__class__ is float else t  # type: ignore[return-value]


#: An entry's ``heap_item`` before its first push (never in a heap).
_NO_ITEM: tuple[float, int, str] = (0.0, -1, "")


class Entry:
    """One job's state in the memory store (also its heap entry).

    Its history is a list, made with the entry, of plain records, not ``Run`` objects: a
    ``Run`` holds an ``Outcome`` member, so the cyclic garbage collector tracks every one, and
    kept for 1e5 jobs they were what made full collections (100-400 ms) land on the firing
    path. A tuple of strings, numbers and datetimes is untracked by the collector the first
    time it looks at it (unless a result or an error is itself a container), so a firing
    leaves nothing tracked behind. Not a new tuple of records per firing: the collector
    often checks such an outer tuple before the record it has just made, so the outer one
    stayed tracked and reached the oldest generation, one per firing (measured); and not one
    flat tuple of fields: over 512 bytes, it costs a malloc per firing (1.5 µs a firing more
    at 10k jobs every 100 ms). Runs are built again on read.
    """

    __slots__ = (
        "heap_item",
        "heap_seq",
        "history",
        "history_limit",
        "nominal",
        "paused",
        "pending",
        "run_at",
        "spec",
        "successor",
    )

    def __init__(self, spec: JobSpec, history_limit: int) -> None:
        self.heap_seq = -1
        self.heap_item = _NO_ITEM  # its last heap item (JobHeap's bookkeeping)
        self.spec = spec
        self.nominal: float | None = None
        self.run_at: float | None = None
        self.paused = False
        self.pending = 0  # claims handed out and not yet released
        self.history: list[Record] = []  # oldest first; shared with a successor
        self.history_limit = history_limit
        # the entry of the job's next definition (replaced or updated), which took over the
        # history: runs of claims of this one still in flight are kept there
        self.successor: Entry | None = None

    def record(self, run: Run | FinishedFiring) -> None:
        error = run.error
        if error is not None:
            release_locals(error)  # keep the traceback, not its frames' locals
        target = self
        while target.successor is not None:
            target = target.successor
        limit = target.history_limit
        if not limit:
            return
        if isinstance(run, Run):
            outcome = run.outcome
            rec: Record = (*run[:5], None if outcome is None else outcome.value, *run[6:])
        else:  # times stay floats until read
            claim = run.claim
            assert claim is not None
            rec = (
                claim.spec.id,
                claim.scheduled_at,
                run.started,
                run.finished,
                run.attempt,
                _OUTCOME_VALUES[run.outcome],
                run.reason,
                run.missed,
                run.result,
                error,
                None,
                claim.backfill,
                run.node,
            )
        history = target.history
        history.append(rec)
        if len(history) > limit:  # the oldest goes
            del history[: len(history) - limit]

    def trim(self, limit: int) -> None:
        """Keep at most ``limit`` runs (the newest) from now on."""
        self.history_limit = limit
        if len(self.history) > limit:
            del self.history[: len(self.history) - limit]

    def take_over(self, old: Entry) -> None:
        """This entry is the next definition of ``old``'s job: it keeps the history (the same
        list: ``old``'s late runs are recorded through ``successor`` into it anyway)."""
        self.history = old.history
        old.successor = self

    def snapshot(self, *, with_history: bool = True) -> Job:
        kept = self.history
        history = (
            ()
            if not with_history or not kept
            else tuple(
                Run._make(
                    (
                        rec[0],
                        *(_when(t) for t in rec[1:4]),
                        rec[4],
                        None if rec[5] is None else _OUTCOMES[rec[5]],
                        *rec[6:],
                    )
                )
                for rec in kept
            )
        )
        run_at = None if self.paused or self.run_at is None else to_datetime(self.run_at)
        return new_job(self.spec, run_at, self.paused, history)


#: Compact (rebuild without dead items) once more than three quarters of the heap are dead and
#: it holds at least this many items. ``DueHeap`` compacts at half: at three quarters, removing
#: 1e5 jobs one by one walks a third as many live items (``remove()`` 1.26-1.36 -> 1.07-1.28 µs
#: at 1e5, amortised, probe), for at most 3 dead items per live one (about 120 bytes each).
COMPACT_MIN_SIZE = 256


class JobHeap:
    """The due times of the jobs of one memory store, with O(1) removal by lazy deletion.

    Items are ``(run_at, seq, job_id)``. One is live while the job's current entry (looked up
    by id in the store's ``jobs``) has ``heap_seq`` equal to its ``seq``: discarding an entry
    or pushing it again makes its old item dead, dropped when it reaches the top or at the next
    compaction. An entry that leaves ``jobs`` (removed, replaced) must be discarded first.
    Unlike a heap of entries, no item holds an object the collector tracks.
    """

    __slots__ = ("_counter", "_dead", "_heap", "_jobs", "_last_due")

    def __init__(self, jobs: dict[str, Entry]) -> None:
        self._jobs = jobs
        self._heap: list[tuple[float, int, str]] = []
        self._counter = count()
        self._dead = 0
        self._last_due = -1.0

    def push(self, due: float, entry: Entry) -> None:
        """Put ``entry`` (which is in ``jobs``) at ``due``; its previous item goes dead.

        Items due at the same time as the item pushed before share its float object: two
        items compare ``run_at`` by identity then, not by value (a burst of jobs due together:
        heappop 0.45 -> 0.39 µs with 1e4 items, measured)."""
        if due == self._last_due:
            due = self._last_due
        else:
            self._last_due = due
        if entry.heap_seq >= 0:
            self._dead += 1
        seq = entry.heap_seq = next(self._counter)
        item = entry.heap_item = (due, seq, entry.spec.id)
        heapq.heappush(self._heap, item)

    def discard(self, entry: Entry) -> None:
        """Take ``entry`` out in O(1); a no-op if it is not in the heap."""
        if entry.heap_seq >= 0:
            entry.heap_seq = -1
            self._dead += 1
            if self._dead > COMPACT_MIN_SIZE and self._dead > (len(self._heap) >> 2) * 3:
                self._compact()

    def _compact(self) -> None:
        """Keep only the live items. Each live entry holds its own (``heap_item``): when the
        store's ``jobs`` are no more than the heap's items, they are walked in insertion order
        (entries and ids in memory order) rather than the items in heap order with a ``jobs``
        lookup each, which touched the dict, the entry and the seq at random places, a cache
        miss each at 1e5 jobs (about 1 µs of a ``remove()`` at 1e5, amortised; measured). The
        live items are kept, not rebuilt, so only the dead ones are freed. Many jobs out of the
        heap (paused, done): the heap's items are walked. At most a quarter of the items are
        live: amortised O(1) per discard."""
        jobs = self._jobs
        if len(jobs) <= len(self._heap):
            self._heap = [e.heap_item for e in jobs.values() if e.heap_seq >= 0]
        else:
            self._heap = [
                item
                for item in self._heap
                if (e := jobs.get(item[2])) is not None and e.heap_seq == item[1]
            ]
        heapq.heapify(self._heap)
        self._dead = 0

    def peek(self) -> float | None:
        """The earliest live due time, or ``None``."""
        heap, jobs = self._heap, self._jobs
        while heap:
            due, seq, job_id = heap[0]
            entry = jobs.get(job_id)
            if entry is not None and entry.heap_seq == seq:
                return due
            heapq.heappop(heap)
            self._dead -= 1
        return None

    def pop_due(self, now: float, limit: int) -> list[Entry]:
        """Take out up to ``limit`` live entries due at or before ``now``, in due order (FIFO
        among equal times); each comes out with ``heap_seq`` -1."""
        heap, jobs = self._heap, self._jobs
        pop = heapq.heappop
        out: list[Entry] = []
        append = out.append
        while heap and heap[0][0] <= now and limit != 0:
            _, seq, job_id = pop(heap)
            entry = jobs.get(job_id)
            if entry is not None and entry.heap_seq == seq:
                entry.heap_seq = -1
                append(entry)
                limit -= 1
            else:
                self._dead -= 1
        return out
