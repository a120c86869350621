"""The face's decorators: ``@scheduler.every``, ``@scheduler.cron``, ``@scheduler.at`` and
``scheduler.include()`` (a base of :class:`~aioscheduler.Scheduler`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from types import ModuleType
from typing import Any, TypeVar, Unpack

from ._decorators import declared_jobs
from ._registry import Registry
from ._specs import job_id_of
from ._values import JobOptionsKw
from .errors import InvalidJob
from .triggers import At, Cron, Every, Trigger
from .triggers._cronzone import GapPolicy, RepeatPolicy

__all__ = ("Declaring",)

F = TypeVar("F", bound=Callable[..., Any])


class Declaring:
    """Declaring jobs on a scheduler with decorators (see :class:`~aioscheduler.Scheduler`)."""

    _registry: Registry

    def _declare(self, trigger: Trigger, options: JobOptionsKw) -> Callable[[F], F]:
        def decorator(func: F) -> F:
            self._registry.declare(func, trigger, options)
            return func

        return decorator

    def every(
        self,
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
        """Decorator: run the function on an :class:`Every` interval.

        Takes ``Every``'s arguments plus :meth:`add`'s job options; returns the function
        unchanged. The job is added at :meth:`start`, or at once if the scheduler runs.
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
        return self._declare(trigger, options)

    def cron(
        self,
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
        """Decorator: run the function on a :class:`Cron` schedule (see :meth:`every`)."""
        trigger = Cron(
            expression,
            timezone=timezone,
            jitter=jitter,
            start_at=start_at,
            end_at=end_at,
            dst_gap=dst_gap,
            dst_repeat=dst_repeat,
        )
        return self._declare(trigger, options)

    def at(self, when: datetime, **options: Unpack[JobOptionsKw]) -> Callable[[F], F]:
        """Decorator: run the function once at ``when`` (see :meth:`every`)."""
        return self._declare(At(when), options)

    def include(self, target: Callable[..., Any] | ModuleType) -> None:
        """Add the jobs declared with the module-level :func:`aioscheduler.every` /
        :func:`aioscheduler.cron` decorators on a function, or on every function of a module.

        Raises:
            InvalidJob: a function without such a declaration, or a module without any.
        """
        if isinstance(target, ModuleType):
            found = [
                (func, trigger, options)
                for func in vars(target).values()
                if callable(func)
                for trigger, options in declared_jobs(func)
            ]
            if not found:
                raise InvalidJob(f"module {target.__name__!r} declares no jobs")
        else:
            found = [(target, t, o) for t, o in declared_jobs(target)]
            if not found:
                raise InvalidJob(
                    f"{job_id_of(target)!r} has no job declaration; decorate it with "
                    f"aioscheduler.every(...) or aioscheduler.cron(...)"
                )
        for func, trigger, options in found:
            self._registry.declare(func, trigger, options)
