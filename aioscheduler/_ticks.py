"""Activity counters: the ``Ticks`` jobs of this process, counted down by ``Scheduler.tick()``.

Counts live in memory only (a restart starts them afresh); a counter reaching zero pushes a
local firing of its job on the dispatcher's heap.
"""

from __future__ import annotations

from collections.abc import Callable

from ._values import JobSpec
from .triggers import Ticks

__all__ = ("TickCounters",)


class _Slot:
    __slots__ = ("paused", "remaining", "spec")

    def __init__(self, remaining: int, spec: JobSpec, paused: bool) -> None:
        self.remaining = remaining
        self.spec = spec
        self.paused = paused


class TickCounters:
    """The counters of one scheduler: counter name -> job id -> its slot."""

    def __init__(self, fire: Callable[[JobSpec, bool], None]) -> None:
        self._fire = fire  # fire(spec, final): push a firing of the job now
        self._counters: dict[str, dict[str, _Slot]] = {}

    def tick(self, counter: str, n: int) -> None:
        """Count ``n`` on ``counter``; fire every unpaused job whose count is reached."""
        jobs = self._counters.get(counter)
        if not jobs:
            return
        for job_id, slot in list(jobs.items()):
            if slot.paused:
                continue
            remaining = slot.remaining - n
            trigger = slot.spec.trigger
            assert isinstance(trigger, Ticks)
            while remaining <= 0:
                final = not trigger.repeat
                self._fire(slot.spec, final)
                if final:
                    del jobs[job_id]
                    break
                remaining += trigger.n
            slot.remaining = remaining

    def register(self, spec: JobSpec, paused: bool) -> None:
        """A job was added or changed: (re)start its count if it is a ``Ticks`` job."""
        if self._counters:
            self.unregister(spec.id)
        trigger = spec.trigger
        if isinstance(trigger, Ticks):
            self._counters.setdefault(trigger.counter, {})[spec.id] = _Slot(trigger.n, spec, paused)

    def unregister(self, job_id: str) -> None:
        """The job is gone."""
        for jobs in self._counters.values():
            jobs.pop(job_id, None)

    def set_paused(self, job_id: str, paused: bool) -> None:
        """The job was paused or resumed."""
        for jobs in self._counters.values():
            slot = jobs.get(job_id)
            if slot is not None:
                slot.paused = paused

    def __contains__(self, job_id: object) -> bool:
        return any(job_id in jobs for jobs in self._counters.values())
