"""Pure planning of a due firing: misfire grace, coalescing, next time, jitter.

Every store calls :func:`plan` while it holds a job's claim, so that all stores decide the
same way. It never iterates over an unbounded number of missed times: triggers skip ahead.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from ..triggers import Trigger

__all__ = ("Plan", "jitter_offset", "plan")

#: At most this many firings of one job are planned in one acquire when coalescing is off.
MAX_BACKLOG_PER_ACQUIRE = 100
#: Counting missed firings stops here (the count is reported as at least this).
MAX_MISSED_COUNT = 100_000


class Plan(NamedTuple):
    """What to do with the firing due at a nominal time.

    ``run`` false means the firing (and ``missed`` - 1 more folded into it) is reported missed.
    ``next_nominal`` is the following nominal time, ``None`` when the trigger is exhausted.
    """

    scheduled_at: float
    run: bool
    missed: int
    next_nominal: float | None


def jitter_offset(job_id: str, nominal: float, jitter: float | None) -> float:
    """Deterministic jitter in ``[0, jitter)`` for a (job, slot): the same on every node."""
    if not jitter:
        return 0.0
    digest = hashlib.blake2b(f"{job_id}@{nominal!r}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 * jitter


def _latest(trigger: Trigger, due: float, until: float) -> tuple[float, int]:
    """Latest firing ``<= until`` of the sequence through ``due`` and how many follow ``due``."""
    if until <= due:
        return due, 0
    return trigger.latest_at_or_before_ts(due, until, MAX_MISSED_COUNT)


def plan(
    trigger: Trigger,
    due: float,
    now: float,
    misfire_grace: float | None,
    coalesce: bool,
    offset: float = 0.0,
) -> Plan:
    """Decide the fate of the firing nominally due at ``due`` (``<= now``) and the next time.

    ``offset`` is the firing's jitter: lateness is measured from ``due + offset``, the time it
    was meant to run, so jitter never counts against ``misfire_grace``.

    - ``coalesce``: every firing in ``[due, now]`` folds into one, scheduled at the latest of
      them; it runs if that one is within ``misfire_grace``, else all are reported missed.
    - no coalescing: the firing at ``due`` runs if within the grace; otherwise it and every
      later firing also outside the grace are reported missed together, and the next time is the
      first firing still within the grace (which the caller plans next).
    """
    nxt_ts = trigger.next_after_ts(due)
    if nxt_ts is None or nxt_ts > now:  # the common case: no later firing is due yet
        if misfire_grace is not None and now - due - offset > misfire_grace:
            return Plan(due, False, 1, nxt_ts)
        return Plan(due, True, 0, nxt_ts)
    # next_after_ts(t) is next_after(t).timestamp() (the trigger contract): no datetimes here
    if coalesce:
        latest, folded = _latest(trigger, due, now)
        next_nominal = trigger.next_after_ts(latest)
        if misfire_grace is not None and now - latest - offset > misfire_grace:
            return Plan(latest, False, folded + 1, next_nominal)
        return Plan(latest, True, folded, next_nominal)
    if misfire_grace is not None and now - due - offset > misfire_grace:
        latest, more = _latest(trigger, due, now - offset - misfire_grace)
        return Plan(due, False, more + 1, trigger.next_after_ts(latest))
    return Plan(due, True, 0, nxt_ts)
