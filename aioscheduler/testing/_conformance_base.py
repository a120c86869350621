"""The conformance suite's fixtures: its start instant, its job and job definitions.

Kept apart from the test classes so that the tampering tests can use them without an import
cycle. :func:`conformance_job` is published as ``aioscheduler.testing.conformance:
conformance_job`` (its import path in stored rows), and :data:`JOBS_MODULE` is the module a
scheduler of the suite's jobs allows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .._admission import Admission
from .._clock import to_datetime
from .._values import JobOptions, JobSpec, Outcome, Run
from ..stores import Claim
from ..triggers import (
    After,
    AllOf,
    AnyOf,
    At,
    CalendarInterval,
    Cron,
    Every,
    Ticks,
    Trigger,
)

__all__ = (
    "JOBS_MODULE",
    "T0",
    "admission",
    "conformance_job",
    "finished",
    "spec",
    "stored_triggers",
)

#: The public module the suite's job is imported from (what its stored rows name).
JOBS_MODULE = "aioscheduler.testing.conformance"

#: The instant every test starts at: 2026-03-02 12:00:00 UTC.
T0 = 1_772_452_800.0


async def conformance_job(*args: Any, **kwargs: Any) -> None:
    """The callable of every job in the suite (importable, so persistent stores accept it)."""


def spec(
    job_id: str = "job",
    trigger: Trigger | None = None,
    *,
    args: tuple[Any, ...] = (),
    misfire_grace: float | None = None,
    coalesce: bool = True,
) -> JobSpec:
    """A job definition for the suite (every 10 s from ``T0`` unless ``trigger`` is given).
    Passed to a shared-store test as a positional ``job_id``, a name only."""
    return JobSpec(
        job_id,
        conformance_job,
        trigger or Every(seconds=10, start_at=to_datetime(T0)),
        args,
        {"k": "v"},
        JobOptions(executor="async", misfire_grace=misfire_grace, coalesce=coalesce),
    )


def stored_triggers() -> list[Trigger]:
    """One trigger of every kind, with the options that change their stored form."""
    start = to_datetime(T0)
    return [
        Cron("0 9 L-3 * fri#2", timezone="Europe/Berlin", dst_gap="shift", dst_repeat="last"),
        Cron("*/20 * * * * *", timezone="UTC", start_at=start, end_at=start + timedelta(days=9)),
        CalendarInterval(months=1, hour=9, timezone="America/New_York", start_at=start),
        CalendarInterval(weeks=2, timezone="UTC").anchor(start),
        AnyOf(Cron("0 9 * * *", timezone="UTC"), Every(90)).anchor(start),
        AllOf(Cron("0 0 * * fri", timezone="UTC"), Cron("0 0 13 * *", timezone="UTC")),
        Every(2.5, start_at=start, jitter=1),
        At(start + timedelta(days=1)),
        After(3),
        Ticks(4, "c", repeat=True),
    ]


def finished(
    claim: Claim, outcome: Outcome = Outcome.SUCCESS, *, attempt: int | None = None
) -> Run:
    """The run a scheduler would release for ``claim`` (its attempt is the claim's)."""
    started = max(claim.run_at, claim.scheduled_at)
    return Run(
        job_id=claim.spec.id,
        scheduled_at=to_datetime(claim.scheduled_at),
        started_at=to_datetime(started),
        finished_at=to_datetime(started + 1),
        attempt=claim.attempt if attempt is None else attempt,
        outcome=outcome if claim.run else Outcome.MISSED,
        missed=claim.missed,
    )


def admission() -> Admission:
    """What the scheduler of the suite's jobs admits: the module of :func:`conformance_job`."""
    return Admission(allow=[JOBS_MODULE])


# Published (and stored, for conformance_job) under the public module that re-exports them:
# ``aioscheduler.testing.conformance:conformance_job`` stays the stored path whichever private
# module defines it, and a forged reference to a helper names the public module.
for _public in (conformance_job, spec, stored_triggers, finished):
    _public.__module__ = JOBS_MODULE
