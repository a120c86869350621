"""When the cyclic garbage collector is told to leave the registered jobs alone
(``gc.freeze()``): during a long burst of ``add()`` calls, and once after it.

A full collection walks every tracked object that is not frozen. With 1e5 jobs registered,
their objects (store entry, spec, trigger, history list...) are most of them, so a full pass
paused the loop for 19-55 ms, about ten times in 12 s of firings (``benchmarks/workloads/
gcpause.py``). Frozen objects are not walked. So:

- while jobs are added: ``gc.freeze()`` once :data:`FREEZE_AFTER` jobs were added, then at
  every FREEZE_AFTER more. Constant-time; it keeps the full passes *during* a long
  registration short: at every doubling (before), the jobs added between the freezes at 40k
  and 80k were walked by 4 full passes in a 1e5 burst (``add()`` 1.0 µs of collector time
  per job); every 10k, none (0.45 µs). One freeze per FREEZE_AFTER jobs added.
- after a burst: on the first loop turn after a run of ``add()`` calls (``call_soon``: an
  awaited ``add()`` on the memory store never yields, so a loop of them is one run), if at
  least :data:`SETTLE_MIN` jobs came since the last freeze, ``gc.collect()`` then
  ``gc.freeze()`` (only ``gc.freeze()`` below FREEZE_AFTER in all): for jobs, whatever their
  total (``Freezer(small_bursts=True)``); for timers, only past FREEZE_AFTER in all (see
  below). The collection frees what is already
  garbage instead of freezing it, and walks only what is not frozen yet: what came since the
  last freeze (11 ms after 1e5 jobs, once). Without this, the last 20k-50k jobs of a 1e5
  burst stayed in the collector's view, and every full pass while they fired walked them.

A registration of 1,000 jobs is frozen too (session 5): with nothing frozen, a full pass in
a process holding 1,000 ``Cron`` jobs walked ~29,000 objects (the imported modules, the jobs)
and, landing among 1,000 firings due in the same second, made the last of them 20-30 ms later
(p99 of ``benchmarks/run.py``'s aligned cell 3.99x raw in one run; every such second had a
generation-2 pass in it; none once frozen). Below FREEZE_AFTER jobs the freeze comes without
a collection first: a full collection of the process cost 5-7 ms there, counted by the
benchmark's ``add()`` cell at 1e3 (10.6 -> 15.4 µs per add in one full run).

What is left for a full pass while jobs fire is what was made since: mostly firings in
flight, promoted when a generation-1 pass lands mid-batch. Measured at 1e5 jobs, 12 s of
firings: full passes 10 → 9 (the promotions still trigger them), longest 19 → 0.4 ms, total
182 → 2.5 ms (see devnotes/2026-11-27-s4/issue-11-perfadd.md).

Timers (``call_at``/``call_later``) get the same policy from the dispatcher's own
:class:`Freezer`, counting timers instead of jobs, except that a burst is settled only past
FREEZE_AFTER timers in all: timers are often per-connection work, whose objects should not be
frozen by a burst of a thousand connections: 1e5 pending timers made a burst of them
spend 0.8 of 1.4 s in the collector (devnotes/2026-11-27-s4/issue-11-timers.md).

Frozen objects are never collected: a reference cycle that becomes garbage after a freeze
stays in memory. The freeze is process-wide, like the collector; ``gc.unfreeze()`` undoes it.
An application that never adds SETTLE_MIN jobs in one burst, nor FREEZE_AFTER jobs or
timers, is never frozen.
"""

from __future__ import annotations

import asyncio
import gc

__all__ = ("FREEZE_AFTER", "SETTLE_MIN", "Freezer")

#: ``gc.freeze()`` once this many jobs were added, then every this many more.
FREEZE_AFTER = 10_000
#: Collect and freeze after a burst of at least this many jobs (timers: past FREEZE_AFTER).
SETTLE_MIN = 1_000


class Freezer:
    """Counts the jobs one scheduler adds and freezes as the module docstring says."""

    __slots__ = ("_added", "_freeze_at", "_pending", "_since", "_watch_from")

    def __init__(self, *, small_bursts: bool = False) -> None:
        """``small_bursts``: settle a burst of SETTLE_MIN even before FREEZE_AFTER in all."""
        self._added = 0
        self._watch_from = 0 if small_bursts else FREEZE_AFTER
        self._freeze_at = FREEZE_AFTER
        self._since = 0  # jobs added since the last freeze
        # the loop on which a settle() is scheduled (a loop closed before running it: the next
        # add() on another loop schedules one there)
        self._pending: asyncio.AbstractEventLoop | None = None

    def added(self) -> None:
        """A job was added (on the loop)."""
        added = self._added = self._added + 1
        if added < self._watch_from:
            return  # timers, most applications: nothing more
        if added >= self._freeze_at:
            self._freeze_at += FREEZE_AFTER
            self._since = 0
            gc.freeze()
            return
        self._since += 1
        if self._since >= SETTLE_MIN:
            loop = asyncio.get_running_loop()
            if self._pending is not loop:
                self._pending = loop
                loop.call_soon(self.settle)

    def settle(self) -> None:
        """The burst is over (a loop turn came): freeze what is alive, after a collection
        once FREEZE_AFTER jobs were added in all."""
        self._pending = None
        if self._since >= SETTLE_MIN:
            self._since = 0
            if self._added >= FREEZE_AFTER:
                gc.collect()
            # a first registration of SETTLE_MIN to FREEZE_AFTER jobs: frozen without a
            # collection first, as at each FREEZE_AFTER (constant time): a full collection of
            # the process there cost 5-7 ms, +5 µs per add() of a 1,000-job burst
            gc.freeze()
