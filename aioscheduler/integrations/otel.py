"""OpenTelemetry spans for a scheduler's runs, built from its event stream.

Install with ``pip install aioscheduler[otel]``, then::

    from aioscheduler.integrations.otel import instrument

    tracing = instrument(scheduler)   # uses the global tracer provider

Each run becomes one span, named ``aioscheduler.run <job id>`` (``aioscheduler.run <timer>``
for timers), started at ``RunStarted`` and ended at ``RunFinished`` with the run's own
``started_at`` and ``finished_at`` as the span's timestamps. Because the spans are recorded
from events rather than around the callback, they are root spans, and spans the callback
itself creates are not their children; use ``aioscheduler.current_run()`` inside the callback
to tag its own spans.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from .. import __version__
from .._values import Outcome, Run
from ..events import Event, RunFinished, RunStarted, SchedulerStopped

if TYPE_CHECKING:
    from .._events import Subscription
    from .._scheduler import Scheduler

__all__ = ("ATTRIBUTE_PREFIX", "SchedulerTracing", "instrument")

#: Prefix of the span attributes this integration sets.
ATTRIBUTE_PREFIX = "aioscheduler."
#: Outcomes recorded with an ERROR status.
_FAILED = (Outcome.ERROR, Outcome.TIMEOUT)

_RunKey = tuple[Any, datetime, int, "datetime | None"]


def _key(run: Run) -> _RunKey:
    # The same firing's RunStarted and RunFinished carry equal values, not the same object.
    owner = run.job_id if run.job_id is not None else id(run.timer)
    return (owner, run.scheduled_at, run.attempt, run.started_at)


def _ns(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000_000)


class SchedulerTracing:
    """The span recorder of one instrumented scheduler (returned by :func:`instrument`)."""

    def __init__(self, scheduler: Scheduler, tracer_provider: TracerProvider | None) -> None:
        self._tracer = trace.get_tracer(
            "aioscheduler", __version__, tracer_provider=tracer_provider
        )
        self._open: dict[_RunKey, list[Span]] = {}
        self.subscription: Subscription = scheduler.subscribe(
            self._on_event, RunStarted, RunFinished, SchedulerStopped
        )

    @property
    def open_spans(self) -> int:
        """Spans started and not yet ended (runs in progress)."""
        return sum(len(spans) for spans in self._open.values())

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event.run)
        elif isinstance(event, RunFinished):
            self._finish(event.run)
        elif isinstance(event, SchedulerStopped):
            self._end_all(_ns(event.at))

    def _start(self, run: Run) -> None:
        name = "<timer>" if run.job_id is None else run.job_id
        attributes: dict[str, str | int | float] = {
            "aioscheduler.run.scheduled_at": run.scheduled_at.isoformat(),
            "aioscheduler.run.attempt": run.attempt,
            "aioscheduler.run.missed": run.missed,
        }
        if run.job_id is not None:
            attributes["aioscheduler.job.id"] = run.job_id
        if run.lateness is not None:
            attributes["aioscheduler.run.lateness"] = run.lateness.total_seconds()
        span = self._tracer.start_span(
            f"aioscheduler.run {name}",
            context=Context(),  # a root span, whatever context the delivery task inherited
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(run.started_at),
        )
        self._open.setdefault(_key(run), []).append(span)

    def _finish(self, run: Run) -> None:
        spans = self._open.get(_key(run))
        if not spans:
            return  # never started (cancelled while queued) or started before instrument()
        span = spans.pop(0)
        if not spans:
            del self._open[_key(run)]
        span.set_attribute("aioscheduler.run.outcome", str(run.outcome))
        if run.reason is not None:
            span.set_attribute("aioscheduler.run.reason", run.reason)
        if run.outcome in _FAILED:
            if run.error is not None:
                span.record_exception(run.error, timestamp=_ns(run.finished_at))
            description = None if run.error is None else f"{type(run.error).__name__}: {run.error}"
            span.set_status(Status(StatusCode.ERROR, description))
        elif run.outcome is Outcome.SUCCESS:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(run.finished_at))

    def _end_all(self, end_time: int | None) -> None:
        # a copy: the subscriber's worker thread may still be adding a span (close() runs on
        # the loop thread)
        for spans in list(self._open.values()):
            for span in spans:
                span.set_attribute("aioscheduler.run.outcome", "unknown")
                span.end(end_time=end_time)
        self._open.clear()

    def close(self) -> None:
        """Stop recording; spans of runs still in progress are ended now."""
        self.subscription.cancel()
        self._end_all(None)


def instrument(
    scheduler: Scheduler, tracer_provider: TracerProvider | None = None
) -> SchedulerTracing:
    """Record an OpenTelemetry span for every run of ``scheduler``.

    Span attributes: ``aioscheduler.job.id`` (jobs only), ``aioscheduler.run.scheduled_at``
    (ISO 8601), ``aioscheduler.run.attempt``, ``aioscheduler.run.missed`` (firings coalesced
    into the run), ``aioscheduler.run.lateness`` (seconds), ``aioscheduler.run.outcome`` and,
    for skipped or cancelled runs, ``aioscheduler.run.reason``. A failed or timed-out run
    has status ERROR with the exception recorded as a span event; a successful one, OK.

    Args:
        scheduler: The scheduler to observe.
        tracer_provider: Where spans go; ``None``: the global tracer provider.

    Returns:
        The recorder; ``close()`` stops it.
    """
    return SchedulerTracing(scheduler, tracer_provider)
