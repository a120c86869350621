"""The dashboard's row building, without a server: pure functions over jobs and runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from aioscheduler import At, Every, Outcome, Run
from aioscheduler._clock import to_datetime
from aioscheduler.dashboard._views import (
    JobView,
    callable_name,
    describe_trigger,
    failure_streak,
    format_error,
    lateness_ms,
    next_firings,
    running_by_job,
    view_of,
)
from aioscheduler.stores import MemoryStore
from aioscheduler.testing.conformance import T0, spec

START = to_datetime(T0)


def run(outcome: Outcome | None, *, started: float | None = 0.25, error: Any = None) -> Run:
    return Run(
        job_id="j",
        scheduled_at=START,
        started_at=None if started is None else START + timedelta(seconds=started),
        finished_at=None,
        attempt=1,
        outcome=outcome,
        error=error,
    )


class Opaque(Every):
    """A third-party trigger whose describe() fails: the page shows its repr."""

    def describe(self) -> str:
        raise RuntimeError("no words")

    def __repr__(self) -> str:
        return "Opaque()"


def test_a_trigger_is_described_in_words_or_by_its_repr() -> None:
    assert describe_trigger(Every(seconds=5)) == Every(seconds=5).describe()
    assert describe_trigger(Opaque(seconds=1)) == "Opaque()"


def test_a_callable_is_named_by_module_and_qualname_or_by_its_repr() -> None:
    assert callable_name(run) == f"{__name__}.run"
    assert callable_name(42) == "42"


@pytest.mark.parametrize(
    ("outcomes", "streak"),
    [
        pytest.param([], 0, id="no-history"),
        pytest.param([Outcome.SUCCESS, Outcome.ERROR, Outcome.TIMEOUT], 2, id="two-failures"),
        pytest.param([Outcome.ERROR, Outcome.CANCELLED], 0, id="ended-by-cancel"),
        pytest.param([Outcome.ERROR, Outcome.SKIPPED, Outcome.ERROR], 2, id="skips-do-not-break"),
    ],
)
def test_the_failure_streak_counts_the_latest_failures(
    outcomes: list[Outcome], streak: int
) -> None:
    assert failure_streak(run(o) for o in outcomes) == streak


def test_lateness_is_in_milliseconds_and_none_for_a_run_that_never_started() -> None:
    assert lateness_ms(run(Outcome.SUCCESS)) == 250.0
    assert lateness_ms(run(Outcome.MISSED, started=None)) is None
    assert lateness_ms(None) is None


def raised() -> ValueError:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        return exc


def test_a_failed_run_shows_its_traceback_or_its_type_and_message() -> None:
    assert format_error(run(Outcome.SUCCESS)) is None
    assert format_error(run(Outcome.TIMEOUT)) == "timed out"
    assert format_error(run(Outcome.ERROR, error=KeyError("k"))) == "KeyError: 'k'"
    shown = format_error(run(Outcome.ERROR, error=raised()))
    assert shown is not None
    assert shown.startswith("Traceback") and "in raised" in shown and "ValueError: boom" in shown


async def test_the_next_firings_follow_the_trigger_or_the_preview_of_a_paused_job() -> None:
    store = MemoryStore()
    active = await store.add_job(spec("a"), now=T0, paused=False, replace=False)
    paused = await store.add_job(spec("p"), now=T0, paused=True, replace=False)
    once = await store.add_job(
        spec("o", At(START + timedelta(seconds=5))), now=T0, paused=False, replace=False
    )
    assert next_firings(active, 3) == [START + timedelta(seconds=s) for s in (0, 10, 20)]
    assert next_firings(once, 3) == [START + timedelta(seconds=5)]
    assert paused.next_run_at is None  # resuming would plan from now
    assert next_firings(paused, 2, now=START + timedelta(seconds=1)) == [
        START + timedelta(seconds=10),
        START + timedelta(seconds=20),
    ]
    assert next_firings(dataclasses.replace(once, next_run_at=None), 3) == []


async def test_a_row_shows_the_state_of_its_job() -> None:
    store = MemoryStore()
    job = await store.add_job(spec("a"), now=T0, paused=False, replace=False)
    row = view_of(job)
    assert row.state == "active" and row.running is None and row.last_outcome is None
    assert "conformance_job" in row.search_text
    assert view_of(job, {"a": ("n1 (attempt 1)",)}).running == ("n1 (attempt 1)",)
    assert view_of(job, {}).running == ()
    assert JobView("x", "f", "t", None, True, None, None, 0).state == "paused"
    assert JobView("x", "f", "t", START, False, "error", None, 2).state == "failing"
    assert JobView("x", "f", "t", None, False, None, None, 0).state == "idle"


class Lease:
    def __init__(self, job_id: str, node: str, attempt: int, expires_in: float | None) -> None:
        self.job_id, self.node, self.attempt, self.expires_in = job_id, node, attempt, expires_in


class LeasingStore:
    def __init__(self, leases: list[Lease] | Exception) -> None:
        self._leases = leases

    async def leases(self) -> list[Lease]:
        if isinstance(self._leases, Exception):
            raise self._leases
        return self._leases


class SyncLeasingStore:
    def leases(self) -> Iterator[Lease]:
        yield Lease("a", "n2", 2, None)


async def test_the_leased_firings_are_listed_by_job() -> None:
    store = LeasingStore(
        [Lease("a", "n1", 1, 9.6), Lease("a", "n2", 3, None), Lease("b", "n1", 1, 2)]
    )
    assert await running_by_job(store) == {
        "a": ("n1 (attempt 1, lease 10 s)", "n2 (attempt 3)"),
        "b": ("n1 (attempt 1, lease 2 s)",),
    }
    assert await running_by_job(SyncLeasingStore()) == {"a": ("n2 (attempt 2)",)}
    assert await running_by_job(MemoryStore()) is None


async def test_a_store_failing_to_list_its_leases_leaves_the_column_empty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await running_by_job(LeasingStore(ConnectionError("down"))) is None
    assert "reading the leases of" in caplog.text and "down" in caplog.text
