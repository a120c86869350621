"""Frozen values shared by every layer: run outcomes, runs, retry backoff, job options, jobs."""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, TypedDict

from ._limits import capped_delay, misfire_grace_zero
from .errors import InvalidJob
from .triggers import Trigger

__all__ = (
    "Backoff",
    "Delivery",
    "Executor",
    "Job",
    "JobOptions",
    "JobOptionsKw",
    "JobSpec",
    "ModifyKw",
    "Outcome",
    "Overlap",
    "Run",
)

#: What happens when a job's firing comes while an earlier run of it is still running.
Overlap = Literal["skip", "allow", "queue", "replace"]
#: Where a callable runs. ``None`` in options means "by the callable": coroutine functions on the
#: loop (``"async"``), plain functions on a worker thread (``"thread"``).
Executor = Literal["async", "thread", "inline", "process"]

#: What happens to a firing whose node died mid-run (shared stores): run it again on another
#: node (``"at-least-once"``), or report it lost (``"at-most-once"``).
Delivery = Literal["at-least-once", "at-most-once"]

OVERLAPS: tuple[str, ...] = ("skip", "allow", "queue", "replace")
DELIVERIES: tuple[str, ...] = ("at-least-once", "at-most-once")
EXECUTORS: tuple[str, ...] = ("async", "thread", "inline", "process")


class Outcome(enum.StrEnum):
    """The fate of one firing."""

    SUCCESS = "success"
    """The callable returned."""
    ERROR = "error"
    """The callable raised; ``Run.error`` holds the exception."""
    TIMEOUT = "timeout"
    """The run exceeded the job's ``timeout``."""
    CANCELLED = "cancelled"
    """The run was cancelled: by ``stop()``, by ``overlap="replace"``, or a retry dropped."""
    SKIPPED = "skipped"
    """The firing did not run; ``Run.reason`` says why (overlap, paused, removed...)."""
    MISSED = "missed"
    """The firing came later than ``misfire_grace`` allows; ``Run.missed`` counts the firings."""

    def __str__(self) -> str:
        return self.value


def _seconds(
    value: float | timedelta | None, name: str, *, allow_zero: bool = False
) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidJob(f"{name} must be seconds (a number or timedelta), got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidJob(f"{name} must be a finite number of seconds {bound}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between retries: ``initial * factor**(attempt-1)``, capped at ``max``.

    With ``jitter=True`` each delay is drawn uniformly from ``[delay/2, delay]`` so that many
    jobs failing together do not retry in lockstep.
    """

    initial: float = 1.0
    factor: float = 2.0
    max: float = 300.0
    jitter: bool = True

    def __post_init__(self) -> None:
        for name in ("initial", "max"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value >= 0)
            ):
                raise InvalidJob(f"Backoff.{name} must be a finite number >= 0, got {value!r}")
        if (
            isinstance(self.factor, bool)
            or not isinstance(self.factor, int | float)
            or not (math.isfinite(self.factor) and self.factor >= 1)
        ):
            raise InvalidJob(f"Backoff.factor must be a finite number >= 1, got {self.factor!r}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first retry).

        Never overflows: past the attempt where the delay reaches ``max`` it stays ``max``,
        for any attempt number.
        """
        delay = capped_delay(self.initial, self.factor, self.max, attempt)
        if self.jitter and delay > 0:
            delay = (rng or random).uniform(delay / 2, delay)
        return delay


@dataclass(frozen=True, slots=True)
class JobOptions:
    """A job's policies, validated at registration. See :meth:`Scheduler.add` for each field."""

    overlap: Overlap = "skip"
    max_instances: int | None = None
    misfire_grace: float | None = None
    coalesce: bool = True
    executor: Executor | None = None
    timeout: float | None = None
    retries: int = 0
    backoff: Backoff = field(default_factory=Backoff)
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    pause_after_failures: int | None = None
    delivery: Delivery = "at-least-once"

    def __post_init__(self) -> None:
        if self.overlap not in OVERLAPS:
            raise InvalidJob(f"overlap must be one of {OVERLAPS}, got {self.overlap!r}")
        if self.max_instances is not None:
            if isinstance(self.max_instances, bool) or not isinstance(self.max_instances, int):
                raise InvalidJob(f"max_instances must be an int >= 1, got {self.max_instances!r}")
            if self.max_instances < 1:
                raise InvalidJob(f"max_instances must be >= 1, got {self.max_instances!r}")
            if self.overlap != "allow":
                raise InvalidJob(
                    f"max_instances={self.max_instances} only applies to overlap='allow', "
                    f"not overlap={self.overlap!r}"
                )
        grace = _seconds(self.misfire_grace, "misfire_grace", allow_zero=True)
        if grace == 0:
            raise InvalidJob(misfire_grace_zero(self.misfire_grace))
        object.__setattr__(self, "misfire_grace", grace)
        object.__setattr__(self, "timeout", _seconds(self.timeout, "timeout"))
        if not isinstance(self.coalesce, bool):
            raise InvalidJob(f"coalesce must be True or False, got {self.coalesce!r}")
        if self.executor is not None and self.executor not in EXECUTORS:
            raise InvalidJob(f"executor must be one of {EXECUTORS} or None, got {self.executor!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise InvalidJob(f"retries must be an int >= 0, got {self.retries!r}")
        if not isinstance(self.backoff, Backoff):
            raise InvalidJob(f"backoff must be a Backoff, got {self.backoff!r}")
        retry_on = self.retry_on
        if isinstance(retry_on, type):
            retry_on = (retry_on,)
            object.__setattr__(self, "retry_on", retry_on)
        if not isinstance(retry_on, tuple) or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in retry_on
        ):
            raise InvalidJob(
                f"retry_on must be an exception class or a tuple of them, got {retry_on!r}"
            )
        k = self.pause_after_failures
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise InvalidJob(f"pause_after_failures must be an int >= 1 or None, got {k!r}")
        if self.delivery not in DELIVERIES:
            raise InvalidJob(f"delivery must be one of {DELIVERIES}, got {self.delivery!r}")


@functools.lru_cache(maxsize=512)
def _cached_options(items: tuple[tuple[str, Any], ...]) -> JobOptions:
    return JobOptions(**dict(items))


def make_options(**kwargs: Any) -> JobOptions:
    """Build (validated) :class:`JobOptions`, reusing an identical earlier instance.

    Most jobs share a handful of option sets, so caching saves validation and memory per job.
    """
    items = tuple(kwargs.items())
    try:
        return _cached_options(items)
    except TypeError as exc:  # unhashable value: validate without the cache
        if "unhashable" not in str(exc):
            raise
        return JobOptions(**kwargs)


@functools.lru_cache(maxsize=512)
def with_executor(options: JobOptions, executor: Executor) -> JobOptions:
    """``options`` with ``executor`` filled in (cached: options are immutable values)."""
    return dataclasses.replace(options, executor=executor)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job's definition: what to call, when, and how (validated; stores keep this)."""

    id: str
    func: Callable[..., Any]
    trigger: Trigger
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    options: JobOptions = field(default_factory=JobOptions)


class Run(NamedTuple):
    """One firing of a job or a timer, and its fate (an immutable named tuple: one is made
    for every firing, so it must be cheap).

    A run in progress (seen through :func:`aioscheduler.current_run` or a ``RunStarted`` event)
    has ``outcome=None`` and no ``finished_at``.
    """

    job_id: str | None
    """The job's id, or ``None`` for a timer firing (then ``timer`` is set)."""
    scheduled_at: datetime
    """The nominal due time (aware UTC), before jitter."""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 1
    """1 for the regular run, 2 for the first retry, and so on."""
    outcome: Outcome | None = None
    reason: str | None = None
    """Why a firing was skipped or cancelled (for ``skipped``/``cancelled``)."""
    missed: int = 0
    """How many firings were missed (``missed``) or folded into this run by coalescing."""
    result: Any = None
    error: BaseException | None = None
    timer: Any = None
    """The :class:`~aioscheduler.Timer` for a timer firing."""
    backfill: bool = False
    """A run started by :meth:`Scheduler.backfill` for a past firing (``scheduled_at``)."""
    node: str | None = None
    """The name of the node that ran it (``Scheduler(node_name=...)``), where known."""

    @property
    def lateness(self) -> timedelta | None:
        """``started_at - scheduled_at``, or ``None`` if the run never started."""
        if self.started_at is None:
            return None
        return self.started_at - self.scheduled_at

    @property
    def duration(self) -> timedelta | None:
        """``finished_at - started_at``, or ``None`` unless both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of a scheduled job, as returned by ``Scheduler.add/get/jobs``.

    Snapshots do not change; call ``await scheduler.get(id)`` again for fresh state.
    """

    id: str
    func: Callable[..., Any]
    trigger: Trigger
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    options: JobOptions
    next_run_at: datetime | None
    """The next due time (aware UTC, jitter included), or ``None`` (paused, exhausted, Ticks)."""
    paused: bool
    last_run: Run | None = None
    """The latest finished run."""
    history: tuple[Run, ...] = ()
    """Recent finished runs, oldest first (bounded)."""

    @classmethod
    def of(
        cls, spec: JobSpec, *, next_run_at: datetime | None, paused: bool, history: tuple[Run, ...]
    ) -> Job:
        """Build a snapshot from a job's definition and its state (used by the stores)."""
        return cls(  # positional: the order of the fields (cheaper than keywords)
            spec.id,
            spec.func,
            spec.trigger,
            spec.args,
            spec.kwargs,
            spec.options,
            next_run_at,
            paused,
            history[-1] if history else None,
            history,
        )

    @property
    def overlap(self) -> Overlap:
        """The job's overlap policy."""
        return self.options.overlap

    @property
    def misfire_grace(self) -> float | None:
        """Seconds a firing may be late and still run (``None``: no limit)."""
        return self.options.misfire_grace

    @property
    def coalesce(self) -> bool:
        """Whether firings that came due together fold into one run."""
        return self.options.coalesce

    @property
    def spec(self) -> JobSpec:
        """The job's definition."""
        return JobSpec(self.id, self.func, self.trigger, self.args, self.kwargs, self.options)


class ModifyKw(TypedDict, total=False):
    """What ``Scheduler.modify`` can change: a job's arguments and options."""

    args: tuple[Any, ...] | list[Any]
    kwargs: Mapping[str, Any]
    overlap: Overlap
    misfire_grace: float | timedelta | None
    coalesce: bool
    max_instances: int | None
    executor: Executor | None
    timeout: float | timedelta | None
    retries: int
    backoff: Backoff
    retry_on: type[BaseException] | tuple[type[BaseException], ...]
    pause_after_failures: int | None


class JobOptionsKw(TypedDict, total=False):
    """The job options accepted by the decorators (the same as ``Scheduler.add``)."""

    id: str
    args: tuple[Any, ...] | list[Any]
    kwargs: Mapping[str, Any]
    overlap: Overlap
    misfire_grace: float | timedelta | None
    coalesce: bool
    paused: bool
    replace: bool
    max_instances: int | None
    executor: Executor | None
    timeout: float | timedelta | None
    retries: int
    backoff: Backoff | None
    retry_on: type[BaseException] | tuple[type[BaseException], ...]
    pause_after_failures: int | None
    run_at_start: bool
    delivery: Delivery
