"""OpenTelemetry spans, checked with the SDK's in-memory exporter after FakeClock-driven runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aioscheduler import Every, Scheduler
from aioscheduler.integrations.otel import SchedulerTracing, instrument
from aioscheduler.testing import FakeClock

from ..conftest import START


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
async def traced(
    clock: FakeClock, provider: TracerProvider
) -> AsyncIterator[tuple[Scheduler, SchedulerTracing]]:
    s = Scheduler(clock=clock)
    tracing = instrument(s, tracer_provider=provider)
    await s.start()
    yield s, tracing
    await s.stop()


def ns(seconds: float) -> int:
    return int((START + timedelta(seconds=seconds)).timestamp() * 1_000_000_000)


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


async def test_a_successful_run_is_one_span_with_its_times_and_attributes(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, _ = traced
    gate = asyncio.Event()

    async def work() -> None:
        await gate.wait()

    await s.add(work, Every(seconds=10), id="work")
    await clock.advance(10)
    await clock.advance(2)  # the run takes 2 s of fake time
    gate.set()
    await clock.advance(0)
    await s.stop()
    (span,) = spans(exporter)
    assert span.name == "aioscheduler.run work"
    assert span.parent is None
    assert span.start_time == ns(10)
    assert span.end_time == ns(12)
    assert span.status.status_code is StatusCode.OK
    assert dict(span.attributes or {}) == {
        "aioscheduler.job.id": "work",
        "aioscheduler.run.scheduled_at": (START + timedelta(seconds=10)).isoformat(),
        "aioscheduler.run.attempt": 1,
        "aioscheduler.run.missed": 0,
        "aioscheduler.run.lateness": 0.0,
        "aioscheduler.run.outcome": "success",
    }


async def test_a_failed_run_has_error_status_and_the_exception_recorded(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, _ = traced

    def boom() -> None:
        raise ValueError("kaputt")

    await s.add(boom, Every(seconds=10), id="boom", executor="inline", retries=1)
    await clock.advance(10)
    await clock.advance(5)  # the retry, after at most the default backoff of 1 s
    await s.stop()
    first, retry = spans(exporter)
    assert first.status.status_code is StatusCode.ERROR
    assert first.status.description == "ValueError: kaputt"
    assert (first.attributes or {})["aioscheduler.run.outcome"] == "error"
    (exception,) = first.events
    assert exception.name == "exception"
    assert (exception.attributes or {})["exception.type"] == "ValueError"
    assert (retry.attributes or {})["aioscheduler.run.attempt"] == 2


async def test_a_timed_out_run_is_an_error_span_ending_at_the_deadline(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, _ = traced

    async def hang() -> None:
        await asyncio.Event().wait()

    await s.add(hang, Every(seconds=10), id="hang", timeout=3)
    await clock.advance(13)
    await s.stop()
    span = spans(exporter)[0]
    assert span.end_time == ns(13)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["aioscheduler.run.outcome"] == "timeout"


async def test_a_cancelled_run_keeps_an_unset_status_and_its_reason(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, _ = traced

    async def hang() -> None:
        await asyncio.Event().wait()

    await s.add(hang, Every(seconds=10), id="hang")
    await clock.advance(10)
    await s.stop(timeout=0)
    (span,) = spans(exporter)
    assert span.status.status_code is StatusCode.UNSET
    attributes = span.attributes or {}
    assert attributes["aioscheduler.run.outcome"] == "cancelled"
    assert attributes["aioscheduler.run.reason"] == "scheduler stopped"


async def test_overlapping_runs_of_one_job_get_their_own_spans(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, tracing = traced
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await s.add(slow, Every(seconds=1), id="slow", overlap="allow")
    await clock.advance(3)
    assert tracing.open_spans == 3
    gate.set()
    await clock.advance(0)
    await s.stop()
    assert sorted(span.start_time or 0 for span in spans(exporter)) == [ns(1), ns(2), ns(3)]
    assert tracing.open_spans == 0


async def test_timer_runs_are_spans_without_a_job_id(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, _ = traced

    async def once() -> None:
        return None

    s.call_later(1, once)
    await clock.advance(1)
    await s.stop()
    (span,) = spans(exporter)
    assert span.name == "aioscheduler.run <timer>"
    assert "aioscheduler.job.id" not in (span.attributes or {})


async def test_close_ends_open_spans_and_stops_recording(
    traced: tuple[Scheduler, SchedulerTracing], clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    s, tracing = traced
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    await s.add(slow, Every(seconds=10), id="slow")
    await clock.advance(10)
    tracing.close()
    (span,) = spans(exporter)
    assert (span.attributes or {})["aioscheduler.run.outcome"] == "unknown"
    gate.set()
    await clock.advance(10)
    assert len(spans(exporter)) == 1
