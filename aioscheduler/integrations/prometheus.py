"""Prometheus metrics for a scheduler, fed by its event stream.

Install with ``pip install aioscheduler[prometheus]``, then::

    from prometheus_client import CollectorRegistry
    from aioscheduler.integrations.prometheus import instrument

    registry = CollectorRegistry()
    metrics = instrument(scheduler, registry)   # before scheduler.start()

The metrics are updated by a :meth:`~aioscheduler.Scheduler.subscribe` callback, so the
dispatcher never waits on them. Runs are labelled ``job_id`` (not ``job``, which Prometheus
attaches to every scraped series as the scrape job and would rename ``exported_job``); timer
firings all share ``job_id="<timer>"`` so that timers cannot grow the label set without bound.
See ``docs/observability.md`` for every metric with example queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ..events import (
    ClockJumped,
    Event,
    JobAdded,
    JobPaused,
    JobPausedAfterFailures,
    JobRemoved,
    JobResumed,
    JobUpdated,
    LoopStalled,
    RunEvent,
    RunFinished,
    RunMissed,
    RunSkipped,
    RunStarted,
    SchedulerStarted,
)

if TYPE_CHECKING:
    from .._events import Subscription
    from .._scheduler import Scheduler
    from .._values import Run

__all__ = ("DURATION_BUCKETS", "LATENESS_BUCKETS", "TIMER_LABEL", "SchedulerMetrics", "instrument")

#: The ``job_id`` label of every timer firing (timers have no id; one label keeps the series
#: count bounded however many timers come and go).
TIMER_LABEL = "<timer>"
#: Seconds between a firing's due time and its start: from on-time to badly stalled.
LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: Seconds a run took: from a quick poll to an hour-long batch.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

#: Events that change the jobs gauge (recounted from the store only at start).
_RECOUNT = (
    SchedulerStarted,
    JobAdded,
    JobUpdated,
    JobRemoved,
    JobPaused,
    JobResumed,
    JobPausedAfterFailures,
)


def _job_label(run: Run) -> str:
    return TIMER_LABEL if run.job_id is None else run.job_id


class _DroppedEvents(Collector):
    """Exposes how many events the metrics subscription had to drop (metrics then lag)."""

    def __init__(self, name: str, metrics: SchedulerMetrics) -> None:
        self._name = name
        self._metrics = metrics

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            self._name, "Scheduler events the metrics subscriber dropped as it fell behind."
        )

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        family.add_metric([], float(self._metrics.subscription.dropped))
        yield family

    def describe(self) -> Iterable[Metric]:
        yield self._family()


class SchedulerMetrics:
    """The metrics of one instrumented scheduler (returned by :func:`instrument`).

    Attributes are the ``prometheus_client`` metric objects, for tests and custom exports:
    ``runs``, ``lateness``, ``duration``, ``running``, ``jobs``, ``missed_firings``,
    ``coalesced_firings``, ``skipped``, ``paused_after_failures``, ``clock_jumps``.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        registry: CollectorRegistry,
        namespace: str,
        lateness_buckets: Sequence[float],
        duration_buckets: Sequence[float],
    ) -> None:
        self._scheduler = scheduler
        self._registry = registry
        ns = namespace
        self.runs = Counter(
            "runs",
            "Firings by job and outcome (success, error, timeout, cancelled, skipped, missed).",
            ["job_id", "outcome"],
            namespace=ns,
            registry=None,
        )
        self.lateness = Histogram(
            "run_lateness_seconds",
            "Seconds between a run's scheduled time and its start.",
            ["job_id"],
            buckets=tuple(lateness_buckets),
            namespace=ns,
            registry=None,
        )
        self.duration = Histogram(
            "run_duration_seconds",
            "Seconds from a run's start to its end.",
            ["job_id"],
            buckets=tuple(duration_buckets),
            namespace=ns,
            registry=None,
        )
        self.running = Gauge(
            "runs_running",
            "Runs in progress.",
            ["job_id"],
            namespace=ns,
            registry=None,
        )
        self.jobs = Gauge(
            "jobs",
            "Scheduled jobs by state (active or paused).",
            ["state"],
            namespace=ns,
            registry=None,
        )
        self.missed_firings = Counter(
            "missed_firings",
            "Firings not run because they were later than the job's misfire grace.",
            ["job_id"],
            namespace=ns,
            registry=None,
        )
        self.coalesced_firings = Counter(
            "coalesced_firings",
            "Late firings folded into a single run by coalescing.",
            ["job_id"],
            namespace=ns,
            registry=None,
        )
        self.skipped = Counter(
            "skipped_runs",
            "Firings skipped by the overlap policy, by reason.",
            ["job_id", "reason"],
            namespace=ns,
            registry=None,
        )
        self.paused_after_failures = Counter(
            "jobs_paused_after_failures",
            "Times a job was paused by pause_after_failures.",
            ["job_id"],
            namespace=ns,
            registry=None,
        )
        self.clock_jumps = Counter(
            "clock_jumps",
            "Wall-clock jumps or host suspends the scheduler detected.",
            namespace=ns,
            registry=None,
        )
        self.loop_stalls = Counter(
            "loop_stalls",
            "Times the event loop was blocked past loop_lag_threshold, by the job running "
            "then ('' when it was not a job).",
            ["job_id"],
            namespace=ns,
            registry=None,
        )
        self.loop_stalled = Counter(
            "loop_stalled_seconds",
            "Seconds the event loop spent blocked past loop_lag_threshold, in all.",
            namespace=ns,
            registry=None,
        )
        self._collectors: list[Collector] = [
            self.runs,
            self.lateness,
            self.duration,
            self.running,
            self.jobs,
            self.missed_firings,
            self.coalesced_firings,
            self.skipped,
            self.paused_after_failures,
            self.clock_jumps,
            self.loop_stalls,
            self.loop_stalled,
            _DroppedEvents(
                f"{ns}_metrics_events_dropped" if ns else "metrics_events_dropped", self
            ),
        ]
        self._paused: dict[str, bool] | None = None  # job id -> paused, once counted
        self._paused_total = 0
        self.subscription: Subscription = scheduler.subscribe(self._on_event)
        registered: list[Collector] = []
        try:
            for collector in self._collectors:
                registry.register(collector)
                registered.append(collector)
        except ValueError:  # a name is taken: leave the registry and the scheduler as they were
            for collector in registered:
                registry.unregister(collector)
            self.subscription.cancel()
            raise

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, RunEvent):
            self._on_run(event)
        elif isinstance(event, _RECOUNT):
            if isinstance(event, JobPausedAfterFailures):
                self.paused_after_failures.labels(event.job_id).inc()
            if isinstance(event, SchedulerStarted) or self._paused is None:
                await self.refresh()  # a full count once; job events then update it
            else:
                self._count(event)
        elif isinstance(event, ClockJumped):
            self.clock_jumps.inc()
        elif isinstance(event, LoopStalled):
            self.loop_stalls.labels(event.job_id or "").inc()
            self.loop_stalled.inc(event.duration.total_seconds())

    def _on_run(self, event: RunEvent) -> None:
        run = event.run
        job = _job_label(run)
        if isinstance(event, RunStarted):
            self.running.labels(job).inc()
            if run.lateness is not None:
                self.lateness.labels(job).observe(max(0.0, run.lateness.total_seconds()))
            if run.missed:
                self.coalesced_firings.labels(job).inc(run.missed)
            return
        outcome = str(run.outcome)
        self.runs.labels(job, outcome).inc()
        if isinstance(event, RunFinished):
            if run.started_at is not None:  # a queued firing cancelled at stop never started
                self.running.labels(job).dec()
            if run.duration is not None:
                self.duration.labels(job).observe(run.duration.total_seconds())
        elif isinstance(event, RunMissed):
            self.missed_firings.labels(job).inc(run.missed)
        elif isinstance(event, RunSkipped):
            self.skipped.labels(job, run.reason or "").inc()

    async def refresh(self) -> None:
        """Recount the jobs gauge from the store (done at start; each job event then adjusts
        the count in O(1), without listing the jobs)."""
        jobs = await self._scheduler.jobs(history=False)
        self._paused = {job.id: job.paused for job in jobs}
        self._paused_total = sum(1 for job in jobs if job.paused)
        self._set_gauge()

    def _count(self, event: Event) -> None:
        known = self._paused
        assert known is not None
        if isinstance(event, JobAdded | JobUpdated):
            self._mark(event.job.id, event.job.paused)
        elif isinstance(event, JobRemoved):
            self._paused_total -= known.pop(event.job_id, False)
        elif isinstance(event, JobPaused | JobPausedAfterFailures):
            if event.job_id in known:
                self._mark(event.job_id, True)
        elif isinstance(event, JobResumed) and event.job_id in known:
            self._mark(event.job_id, False)
        self._set_gauge()

    def _mark(self, job_id: str, paused: bool) -> None:
        assert self._paused is not None
        self._paused_total += paused - self._paused.get(job_id, False)
        self._paused[job_id] = paused

    def _set_gauge(self) -> None:
        total = len(self._paused or ())
        self.jobs.labels("active").set(total - self._paused_total)
        self.jobs.labels("paused").set(self._paused_total)

    def close(self) -> None:
        """Stop updating and unregister every metric from the registry."""
        self.subscription.cancel()
        for collector in self._collectors:
            self._registry.unregister(collector)


def instrument(
    scheduler: Scheduler,
    registry: CollectorRegistry | None = None,
    namespace: str = "aioscheduler",
    *,
    lateness_buckets: Sequence[float] = LATENESS_BUCKETS,
    duration_buckets: Sequence[float] = DURATION_BUCKETS,
) -> SchedulerMetrics:
    """Export ``scheduler``'s runs, jobs and clock jumps as Prometheus metrics.

    Call it before :meth:`~aioscheduler.Scheduler.start` so that the jobs gauge is counted at
    start (called later, it is counted at the next job event, or ``await metrics.refresh()``).

    Args:
        scheduler: The scheduler to observe.
        registry: Where the metrics are registered; ``None``: ``prometheus_client.REGISTRY``.
        namespace: Prefix of every metric name (``aioscheduler_runs_total``...).
        lateness_buckets: Histogram buckets of ``run_lateness_seconds``.
        duration_buckets: Histogram buckets of ``run_duration_seconds``.

    Returns:
        The metrics; ``close()`` unsubscribes and unregisters them.

    Raises:
        ValueError: the registry already holds metrics with these names (instrument each
            scheduler on its own registry, or give each a ``namespace``).
    """
    return SchedulerMetrics(
        scheduler,
        REGISTRY if registry is None else registry,
        namespace,
        lateness_buckets,
        duration_buckets,
    )
