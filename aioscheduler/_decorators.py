"""Declaring jobs apart from a scheduler: module-level ``every``/``cron`` marks, ``inline``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar, Unpack

from ._values import JobOptionsKw, ModifyKw
from .errors import InvalidJob
from .triggers import Cron, Every, Trigger
from .triggers._cronzone import GapPolicy, RepeatPolicy

__all__ = (
    "JobOptionsKw",
    "ModifyKw",
    "cron",
    "declared_jobs",
    "every",
    "inline",
)

logger = logging.getLogger("aioscheduler")

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__aioscheduler_jobs__"
_INLINE = "__aioscheduler_inline__"


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
