"""Prometheus metrics, checked by reading the registry after FakeClock-driven runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client import REGISTRY, CollectorRegistry

from aioscheduler import Every, Scheduler
from aioscheduler.integrations.prometheus import TIMER_LABEL, SchedulerMetrics, instrument
from aioscheduler.testing import FakeClock


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def instrumented(
    clock: FakeClock, registry: CollectorRegistry
) -> AsyncIterator[tuple[Scheduler, SchedulerMetrics]]:
    s = Scheduler(clock=clock)
    metrics = instrument(s, registry)
    await s.start()
    yield s, metrics
    await s.stop()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def delivered(predicate: Callable[[], bool]) -> None:
    """Let the metrics subscriber catch up (loop iterations only, no real time)."""
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("the metrics subscriber did not catch up")


async def test_runs_are_counted_by_job_and_outcome(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented

    def boom() -> None:
        raise ValueError("kaputt")

    await s.add(lambda: None, Every(seconds=10), id="ok", executor="inline")
    await s.add(boom, Every(seconds=20), id="bad", executor="inline")
    await clock.advance(60)
    await s.stop()
    assert value(registry, "aioscheduler_runs_total", job_id="ok", outcome="success") == 6
    assert value(registry, "aioscheduler_runs_total", job_id="bad", outcome="error") == 3
    assert value(registry, "aioscheduler_runs_total", job_id="ok", outcome="error") == 0


async def test_lateness_and_duration_histograms_observe_every_run(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await s.add(slow, Every(seconds=10), id="slow")
    await clock.advance(10)
    gate.set()
    await clock.advance(0)
    await s.stop()
    count = "aioscheduler_run_lateness_seconds_count"
    assert value(registry, count, job_id="slow") == 1
    assert value(registry, "aioscheduler_run_lateness_seconds_sum", job_id="slow") == 0
    assert value(registry, "aioscheduler_run_duration_seconds_count", job_id="slow") == 1
    bucket = "aioscheduler_run_duration_seconds_bucket"
    assert value(registry, bucket, job_id="slow", le="0.01") == 1  # no fake time passed


async def test_the_running_gauge_counts_runs_in_progress(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await s.add(slow, Every(seconds=10), id="slow", overlap="allow")
    await clock.advance(20)
    await delivered(lambda: value(registry, "aioscheduler_runs_running", job_id="slow") == 2)
    gate.set()
    await clock.advance(0)
    await delivered(lambda: value(registry, "aioscheduler_runs_running", job_id="slow") == 0)


async def test_the_jobs_gauge_follows_adds_pauses_and_removals(
    instrumented: tuple[Scheduler, SchedulerMetrics], registry: CollectorRegistry
) -> None:
    s, _ = instrumented

    def jobs(state: str) -> Callable[[], float]:
        return lambda: value(registry, "aioscheduler_jobs", state=state)

    await s.add(lambda: None, Every(seconds=10), id="a", executor="inline")
    await s.add(lambda: None, Every(seconds=10), id="b", executor="inline")
    await s.pause("b")
    await delivered(lambda: (jobs("active")(), jobs("paused")()) == (1, 1))
    await s.remove("a")
    await s.remove("b")
    await delivered(lambda: (jobs("active")(), jobs("paused")()) == (0, 0))


async def test_job_events_do_not_list_every_job(
    clock: FakeClock, registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 10 item 4: listing 100k stored jobs per job event made 20 add() calls take 41 s
    s = Scheduler(clock=clock)
    instrument(s, registry)
    listed = 0
    jobs = s.jobs

    async def counting(*, history: bool = True) -> list[object]:
        nonlocal listed
        listed += 1
        return list(await jobs(history=history))

    monkeypatch.setattr(s, "jobs", counting)
    async with s:
        for i in range(20):
            await s.add(lambda: None, Every(seconds=10), id=f"j{i}", executor="inline")
        await s.pause("j0")
        await s.resume("j0")
        await s.pause("j1")
        await s.remove("j2")
        await delivered(
            lambda: (
                (
                    value(registry, "aioscheduler_jobs", state="active"),
                    value(registry, "aioscheduler_jobs", state="paused"),
                )
                == (18, 1)
            )
        )
    assert listed == 1, "listed once, at start"


async def test_jobs_added_before_start_are_counted_at_start(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    s = Scheduler(clock=clock)
    await s.add(lambda: None, Every(seconds=10), id="a", executor="inline")
    instrument(s, registry)
    async with s:
        await delivered(lambda: value(registry, "aioscheduler_jobs", state="active") == 1)


async def test_missed_firings_and_clock_jumps_are_counted(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented
    await s.add(
        lambda: None, Every(seconds=10), id="m", misfire_grace=5, coalesce=False, executor="inline"
    )
    await clock.advance(1)
    clock.jump(37)  # now 38: firings at 10, 20, 30 are beyond the 5 s grace
    await clock.advance(0)
    await s.stop()
    assert value(registry, "aioscheduler_missed_firings_total", job_id="m") == 3
    assert value(registry, "aioscheduler_runs_total", job_id="m", outcome="missed") == 1
    assert value(registry, "aioscheduler_clock_jumps_total") == 1


async def test_coalesced_firings_are_counted(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented
    await s.add(lambda: None, Every(seconds=1), id="c", executor="inline")
    clock.jump(10.5)
    await clock.advance(0)
    await s.stop()
    assert value(registry, "aioscheduler_coalesced_firings_total", job_id="c") == 9
    assert value(registry, "aioscheduler_runs_total", job_id="c", outcome="success") == 1


async def test_skipped_firings_are_counted_with_their_reason(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await s.add(slow, Every(seconds=1), id="s")
    await clock.advance(3)
    gate.set()
    await s.stop()
    reason = "previous run still running"
    assert value(registry, "aioscheduler_skipped_runs_total", job_id="s", reason=reason) == 2
    assert value(registry, "aioscheduler_runs_total", job_id="s", outcome="skipped") == 2


async def test_timer_firings_share_one_label(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented

    async def once() -> None:
        return None

    for delay in (1, 2, 3):
        s.call_later(delay, once)
    await clock.advance(5)
    await s.stop()
    assert value(registry, "aioscheduler_runs_total", job_id=TIMER_LABEL, outcome="success") == 3


async def test_jobs_paused_after_failures_are_counted(
    instrumented: tuple[Scheduler, SchedulerMetrics], clock: FakeClock, registry: CollectorRegistry
) -> None:
    s, _ = instrumented

    def boom() -> None:
        raise ValueError("kaputt")

    await s.add(boom, Every(seconds=1), id="p", executor="inline", pause_after_failures=2)
    await clock.advance(5)
    await s.stop()
    assert value(registry, "aioscheduler_jobs_paused_after_failures_total", job_id="p") == 1
    assert value(registry, "aioscheduler_jobs", state="paused") == 1


async def test_dropped_events_are_exposed(
    instrumented: tuple[Scheduler, SchedulerMetrics], registry: CollectorRegistry
) -> None:
    _, metrics = instrumented
    assert value(registry, "aioscheduler_metrics_events_dropped_total") == 0
    metrics.subscription.dropped = 4
    assert value(registry, "aioscheduler_metrics_events_dropped_total") == 4


async def test_instrumenting_twice_on_one_registry_fails_and_leaves_it_unchanged(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    s = Scheduler(clock=clock)
    instrument(s, registry)
    before = {m.name for m in registry.collect()}
    with pytest.raises(ValueError, match="Duplicated"):
        instrument(Scheduler(clock=clock), registry)
    assert {m.name for m in registry.collect()} == before
    instrument(Scheduler(clock=clock), registry, namespace="other")  # a namespace separates


async def test_close_unsubscribes_and_unregisters(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    s = Scheduler(clock=clock)
    metrics = instrument(s, registry)
    metrics.close()
    assert list(registry.collect()) == []
    assert not metrics.subscription.active


async def test_the_default_registry_is_used_without_one(clock: FakeClock) -> None:
    metrics = instrument(Scheduler(clock=clock), namespace="aioscheduler_default_test")
    try:
        assert REGISTRY.get_sample_value("aioscheduler_default_test_clock_jumps_total") == 0
    finally:
        metrics.close()


async def test_loop_stalls_are_counted_by_the_job_that_blocked(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    import time

    s = Scheduler(clock=clock, loop_lag_threshold=0.2)
    instrument(s, registry)

    def blocker() -> None:
        time.sleep(0.8)  # blocks the loop: an inline callable

    await s.add(blocker, Every(seconds=10), id="b", executor="inline")
    async with s:
        await clock.advance(10)
        deadline = time.monotonic() + 10  # real time: the stall is real (generous bound)
        while not value(registry, "aioscheduler_loop_stalls_total", job_id="b"):
            assert time.monotonic() < deadline, "no loop stall counted"
            await asyncio.sleep(0.01)
    assert value(registry, "aioscheduler_loop_stalled_seconds_total") >= 0.5
