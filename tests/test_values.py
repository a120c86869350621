"""The value types refuse bad input at construction, each with a message naming the value."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aioscheduler import Backoff, Every, Job, JobOptions, Outcome, Run
from aioscheduler._values import JobSpec, make_options
from aioscheduler.errors import InvalidJob

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

BAD_OPTIONS = [
    pytest.param({"timeout": "5"}, "timeout must be seconds", id="timeout-text"),
    pytest.param({"timeout": True}, "timeout must be seconds", id="timeout-bool"),
    pytest.param({"max_instances": 2.0}, "max_instances must be an int", id="max-instances-float"),
    pytest.param({"max_instances": True}, "max_instances must be an int", id="max-instances-bool"),
    pytest.param({"coalesce": 1}, "coalesce must be True or False", id="coalesce-int"),
    pytest.param({"retries": True}, "retries must be an int >= 0", id="retries-bool"),
    pytest.param({"backoff": 5}, "backoff must be a Backoff", id="backoff-number"),
    pytest.param({"pause_after_failures": 0}, "pause_after_failures must be", id="pause-zero"),
    pytest.param({"delivery": "exactly-once"}, "delivery must be one of", id="delivery"),
    pytest.param({"executor": "gpu"}, "executor must be one of", id="executor"),
    pytest.param({"overlap": "sometimes"}, "overlap must be one of", id="overlap"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_bad_job_options_are_refused_naming_the_value(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidJob, match=message) as caught:
        JobOptions(**options)
    assert repr(next(iter(options.values()))) in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"initial": -1}, "Backoff.initial must be a finite number >= 0", id="initial"),
        pytest.param({"max": math.inf}, "Backoff.max must be a finite number >= 0", id="max-inf"),
        pytest.param({"initial": True}, "Backoff.initial must be", id="initial-bool"),
        pytest.param({"factor": 0.5}, "Backoff.factor must be a finite number >= 1", id="factor"),
        pytest.param({"factor": "2"}, "Backoff.factor must be", id="factor-text"),
    ],
)
def test_a_bad_backoff_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        Backoff(**options)


def test_timeouts_may_be_timedeltas() -> None:
    options = JobOptions(timeout=timedelta(seconds=1.5))  # type: ignore[arg-type]  # as add() passes it
    assert options.timeout == 1.5


def test_identical_options_are_one_shared_value_and_unhashable_ones_still_validate() -> None:
    assert make_options(retries=2) is make_options(retries=2)
    with pytest.raises(InvalidJob, match="retry_on must be an exception class or a tuple"):
        make_options(retry_on=[KeyError])  # a list: not cacheable, validated all the same
    with pytest.raises(TypeError, match="unexpected keyword argument 'retry'"):
        make_options(retry=3)


def test_a_run_knows_its_duration_only_once_it_started_and_finished() -> None:
    done = Run("j", T, T + timedelta(seconds=1), T + timedelta(seconds=3), 1, Outcome.SUCCESS)
    assert done.duration == timedelta(seconds=2)
    assert done._replace(finished_at=None).duration is None
    assert done._replace(started_at=None).duration is None


async def noop() -> None:
    pass


def test_a_job_exposes_its_options() -> None:
    options = JobOptions(overlap="queue", misfire_grace=5, coalesce=False)
    job = Job.of(
        JobSpec("j", noop, Every(seconds=1), (), {}, options),
        next_run_at=T,
        paused=False,
        history=(),
    )
    assert (job.overlap, job.misfire_grace, job.coalesce) == ("queue", 5.0, False)
