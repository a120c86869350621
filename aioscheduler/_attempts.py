"""The attempt budget of a firing that a crash interrupted (issue 10, item 1).

A store hands out again a firing whose claim was never released (the process died mid-run)
with ``Claim.attempt`` counted up: the interrupted run counts as an attempt. A job allows
``retries + 1`` attempts; a recovered firing past that budget is not run again but reported
lost (event :class:`~aioscheduler.events.RunLost`, a ``missed`` run in the history), so a job
that kills its process (segfault, OOM killer) cannot crash-loop the scheduler.
"""

from __future__ import annotations

from ._values import JobSpec

__all__ = ("lost_reason", "over_budget")


def over_budget(store: object, spec: JobSpec, attempt: int) -> bool:
    """Whether a firing of ``spec`` handed out again by ``store`` as attempt ``attempt``
    exceeds its retry budget.

    Only for single-writer stores (SQLite), where a firing handed out again means its process
    died holding the claim. Shared stores (``store.shared``: PostgreSQL, Redis) also hand a
    firing out again when it never ran (a lease released at ``stop()``, a claim whose reply
    was lost, a frozen node fenced) and keep their own rules (``delivery``).
    """
    return not getattr(store, "shared", False) and attempt > spec.options.retries + 1


def lost_reason(spec: JobSpec, attempt: int) -> str:
    """The reason recorded for a firing lost during ``attempt`` (its last allowed one)."""
    retries = spec.options.retries
    return (
        f"lost: the process stopped during attempt {attempt} "
        f"({retries} {'retry' if retries == 1 else 'retries'} allowed); not run again"
    )
