"""The ``coalesce=False`` backlog: missed firings of a job run one at a time, in order.

When a job without coalescing falls behind (downtime with a persistent store, a stalled loop, a
suspended host, a clock step), the store hands out every firing still within the misfire grace,
often in one batch. Run through the overlap policy as they come, they would all be ``skipped``
but the first (``overlap="skip"``) or all start at once (``"allow"``). Instead, a firing is part
of a backlog when the job's next firing after it is already due; from then on, every firing of
the job joins the job's chain and starts only when no run of the job is running, in order of
due time, whatever the overlap policy. The chain ends when it is empty and its last run has
finished. A chained firing whose turn comes later than its ``misfire_grace`` is reported
missed instead of run.

The runner owns the chain (:class:`Backlog` holds it); nothing here touches asyncio.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._firing import Firing

__all__ = ("Backlog",)


class Backlog:
    """Per-job chains of backlog firings waiting for the job's previous run to finish."""

    __slots__ = ("_chains",)

    def __init__(self) -> None:
        # job id -> firings waiting, oldest first; an empty deque: a chain whose last popped
        # firing still runs (later firings of the job must still join it)
        self._chains: dict[str, deque[Firing]] = {}

    def __len__(self) -> int:
        return sum(len(chain) for chain in self._chains.values())

    def active(self, job_id: str) -> bool:
        """Whether job ``job_id`` is working off a backlog."""
        return job_id in self._chains

    def waiting(self, job_id: str) -> bool:
        """Whether firings of job ``job_id`` wait in its chain."""
        return bool(self._chains.get(job_id))

    def hold(self, firing: Firing, now: float, busy: bool) -> bool:
        """Decide whether ``firing`` (of a ``coalesce=False`` job, to run) must wait its turn.

        Returns true when it joined the job's chain (the runner starts it later, from
        :meth:`pop`); false when it starts now (it may be the head of a new chain).
        """
        claim = firing.claim
        assert claim is not None
        spec = claim.spec
        job_id = spec.id
        chains = self._chains
        if chains:  # no chain at all: the steady state, without a lookup
            chain = chains.get(job_id)
            if chain is not None:
                chain.append(firing)
                return True
        nxt = spec.trigger.next_after_ts(claim.scheduled_at)
        if nxt is None or nxt > now:
            return False  # on time (or the job's last firing): the overlap policy applies
        if busy:  # a run of the job is still running: the backlog waits for it
            self._chains[job_id] = deque((firing,))
            return True
        self._chains[job_id] = deque()
        return False

    def pop(self, job_id: str) -> Firing | None:
        """The job's next waiting firing (its previous run has finished), or ``None``, which
        also ends the chain."""
        chain = self._chains.get(job_id)
        if chain is None:
            return None
        if chain:
            return chain.popleft()
        del self._chains[job_id]
        return None

    def drop(self, job_id: str) -> Collection[Firing]:
        """End the job's chain; return the firings that were waiting (no list is made when the
        job has no chain: the common case of a ``remove()``)."""
        chain = self._chains.pop(job_id, None)
        return () if chain is None else chain

    def drop_all(self) -> list[Firing]:
        """End every chain; return the firings that were waiting."""
        waiting = [f for chain in self._chains.values() for f in chain]
        self._chains.clear()
        return waiting
