"""Activity counters: the ``Ticks`` jobs of this process, counted down by ``Scheduler.tick()``.

Counts live in memory only (a restart starts them afresh); a counter reaching zero pushes a
local firing of its job on the dispatcher's heap.
"""

from __future__ import annotations

from collections.abc import Callable

from ._values import JobSpec
from .triggers import Ticks

__all__ = ("TickCounters",)

#: Trigger class -> whether it is a ``Ticks`` (``isinstance`` through ``ABCMeta`` costs 0.1 µs
#: per ``add()``, the dict lookup 15 ns). A class is a ``Ticks`` or not for good: registering a
#: class as a virtual ``Ticks`` after one of its triggers was added is not supported.
_TICKS_CLASSES: dict[type, bool] = {}


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
        #: job id -> its counter, for every ``Ticks`` job counted here. Read-only to others:
        #: ``job_id in ticks.counted`` is the cheap "anything for this job?" check of a
        #: ``remove()`` (most jobs are not ``Ticks`` jobs; a call costs more than the check).
        self.counted: dict[str, str] = {}

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
                    del self.counted[job_id]
                    break
                remaining += trigger.n
            slot.remaining = remaining

    def register(self, spec: JobSpec, paused: bool) -> None:
        """A job was added or changed: (re)start its count if it is a ``Ticks`` job."""
        job_id = spec.id
        if job_id in self.counted:
            self.unregister(job_id)
        trigger = spec.trigger
        cls = trigger.__class__
        is_ticks = _TICKS_CLASSES.get(cls)
        if is_ticks is None:
            is_ticks = isinstance(trigger, Ticks)
            if len(_TICKS_CLASSES) < 64:  # bounded: the dict keeps its classes alive
                _TICKS_CLASSES[cls] = is_ticks
        if is_ticks:
            assert isinstance(trigger, Ticks)
            counter = trigger.counter
            self._counters.setdefault(counter, {})[job_id] = _Slot(trigger.n, spec, paused)
            self.counted[job_id] = counter

    def unregister(self, job_id: str) -> None:
        """The job is gone."""
        counter = self.counted.pop(job_id, None)
        if counter is not None:
            jobs = self._counters[counter]
            del jobs[job_id]
            if not jobs:
                del self._counters[counter]

    def set_paused(self, job_id: str, paused: bool) -> None:
        """The job was paused or resumed."""
        counter = self.counted.get(job_id)
        if counter is not None:
            self._counters[counter][job_id].paused = paused

    def __contains__(self, job_id: object) -> bool:
        return job_id in self.counted
