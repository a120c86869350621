"""Declaring jobs apart from a scheduler: module-level ``every``/``cron`` marks, ``inline``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from ._values import Backoff, Delivery, Executor, Overlap
from .errors import InvalidJob
from .triggers import Cron, Every, Trigger
from .triggers._cronzone import GapPolicy, RepeatPolicy

if TYPE_CHECKING:
    from ._scheduler import Scheduler
    from ._values import JobSpec

__all__ = (
    "JobOptionsKw",
    "ModifyKw",
    "cron",
    "declared_jobs",
    "declared_now",
    "every",
    "inline",
)

logger = logging.getLogger("aioscheduler")

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__aioscheduler_jobs__"
_INLINE = "__aioscheduler_inline__"


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


def _mark(func: Callable[..., Any], trigger: Trigger, options: JobOptionsKw) -> None:
    if not callable(func):
        raise InvalidJob(f"can only declare jobs on callables, got {func!r}")
    marks: list[tuple[Trigger, JobOptionsKw]] | None = getattr(func, _MARK, None)
    if marks is None:
        marks = []
        try:
            setattr(func, _MARK, marks)
        except AttributeError:
            raise InvalidJob(f"cannot mark {func!r} as a job (no attribute dict)") from None
    marks.append((trigger, options))


async def declared_now(
    scheduler: Scheduler,
    func: Callable[..., Any],
    trigger: Trigger,
    options: JobOptionsKw,
    spec: JobSpec,
) -> None:
    """Add a job declared while the scheduler runs, once the declaring module has bound its name.

    The decorator returns before the module binds the function's name, so the store's check
    (an import path that resolves to the function) runs here, on the next loop turn. A job that
    cannot be stored is logged with its id and not added; nothing else stops.
    """
    try:
        spec = scheduler._spec_from_kw(func, trigger, options)
        job = await scheduler._reconcile(spec, options)
        if options.get("run_at_start"):
            scheduler._run_once_now(job.spec)
    except Exception as exc:
        logger.error("declared job %r was not added: %s", spec.id, exc, extra={"job_id": spec.id})


def declared_jobs(func: Callable[..., Any]) -> list[tuple[Trigger, JobOptionsKw]]:
    """The ``(trigger, options)`` declarations made on ``func`` by :func:`every`/:func:`cron`."""
    marks = getattr(func, _MARK, None)
    return list(marks) if isinstance(marks, list) else []


def every(
    interval: float | timedelta | None = None,
    *,
    weeks: float = 0,
    days: float = 0,
    hours: float = 0,
    minutes: float = 0,
    seconds: float = 0,
    milliseconds: float = 0,
    jitter: float | timedelta | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    **options: Unpack[JobOptionsKw],
) -> Callable[[F], F]:
    """Mark a function as a job on an :class:`Every` interval, for ``scheduler.include()``.

    The trigger is validated here; the job is added when a scheduler includes the function
    (or its module). Returns the function unchanged.
    """
    trigger = Every(
        interval,
        weeks=weeks,
        days=days,
        hours=hours,
        minutes=minutes,
        seconds=seconds,
        milliseconds=milliseconds,
        jitter=jitter,
        start_at=start_at,
        end_at=end_at,
    )

    def decorator(func: F) -> F:
        _mark(func, trigger, options)
        return func

    return decorator


def cron(
    expression: str,
    *,
    timezone: str | tzinfo | None = None,
    jitter: float | timedelta | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    dst_gap: GapPolicy = "cronie",
    dst_repeat: RepeatPolicy = "cronie",
    **options: Unpack[JobOptionsKw],
) -> Callable[[F], F]:
    """Mark a function as a job on a :class:`Cron` schedule, for ``scheduler.include()``."""
    trigger = Cron(
        expression,
        timezone=timezone,
        jitter=jitter,
        start_at=start_at,
        end_at=end_at,
        dst_gap=dst_gap,
        dst_repeat=dst_repeat,
    )

    def decorator(func: F) -> F:
        _mark(func, trigger, options)
        return func

    return decorator


def inline(func: F) -> F:
    """Mark a plain (sync) function to run *on the event loop* instead of a worker thread.

    For trivially fast callbacks only: while it runs, the loop is blocked. Applies to timers
    and to jobs added without an explicit ``executor``.
    """
    import inspect

    if inspect.iscoroutinefunction(func):
        raise InvalidJob(f"inline is for plain functions; {func!r} is a coroutine function")
    try:
        setattr(func, _INLINE, True)
    except AttributeError:
        raise InvalidJob(f"cannot mark {func!r} inline (no attribute dict)") from None
    return func
