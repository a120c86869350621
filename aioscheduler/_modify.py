"""Changing a job in place (``Scheduler.modify``/``reschedule``), and the checks ``add()`` makes
of a job's call: its arguments against the callable's signature, ``run_at_start``.

Both changes go through :meth:`Store.update_job`: the store reads the current definition, the
function built here derives the new one from it, and the store writes it in one atomic step,
so concurrent changes (from this process or another node) never lose one another.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._values import Job, JobSpec, make_options
from .errors import InvalidJob
from .events import JobUpdated
from .triggers import Trigger

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("MODIFIABLE", "check_call", "modify", "reschedule")

#: What ``modify()`` can change: the arguments and every job option.
MODIFIABLE = frozenset(
    {
        "args",
        "kwargs",
        "overlap",
        "max_instances",
        "misfire_grace",
        "coalesce",
        "executor",
        "timeout",
        "retries",
        "backoff",
        "retry_on",
        "pause_after_failures",
    }
)


def check_call(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any], job_id: str
) -> None:
    """Refuse, at registration, arguments the callable cannot be called with.

    Raises:
        InvalidJob: ``func(*args, **kwargs)`` would fail to bind (a missing, extra or
            unknown argument); the message shows the signature.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        bare = signature.replace(
            parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
            return_annotation=signature.empty,
        )
        raise InvalidJob(
            f"job {job_id!r}: {_name(func)}{bare} cannot be called with ({shown}): {exc}"
        ) from None


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or type(func).__qualname__


def _rebuild(
    scheduler: Scheduler, spec: JobSpec, trigger: Trigger, changes: Mapping[str, Any]
) -> JobSpec:
    options = {f.name: getattr(spec.options, f.name) for f in dataclasses.fields(spec.options)}
    args = changes.get("args", spec.args)
    kwargs = changes.get("kwargs", spec.kwargs)
    options.update((k, v) for k, v in changes.items() if k not in ("args", "kwargs"))
    if "executor" not in changes:
        options["executor"] = spec.options.executor
    job_options = make_options(**options)
    return scheduler._make_spec(
        spec.func, trigger, id=spec.id, args=args, kwargs=kwargs, options=job_options
    )


async def _update(
    scheduler: Scheduler, job_id: str, update: Callable[[JobSpec], JobSpec], reschedule: bool
) -> Job:
    await scheduler._ensure_store()
    job = await scheduler._store.update_job(
        job_id, update, now=scheduler._clock.time(), reschedule=reschedule
    )
    scheduler._register_ticks(job.spec, job.paused)
    scheduler._emit(JobUpdated(at=scheduler._clock.now(), job_id=job_id, job=job))
    return job


async def modify(scheduler: Scheduler, job_id: str, changes: dict[str, Any]) -> Job:
    """See :meth:`Scheduler.modify`."""
    unknown = sorted(set(changes) - MODIFIABLE)
    if unknown:
        raise InvalidJob(
            f"modify() cannot change {', '.join(map(repr, unknown))} of job {job_id!r}; it "
            f"changes {', '.join(sorted(MODIFIABLE))}. Use reschedule() for the trigger"
        )
    return await _update(
        scheduler, job_id, lambda spec: _rebuild(scheduler, spec, spec.trigger, changes), False
    )


async def reschedule(scheduler: Scheduler, job_id: str, trigger: Trigger) -> Job:
    """See :meth:`Scheduler.reschedule`."""
    if not isinstance(trigger, Trigger):
        raise InvalidJob(
            f"trigger must be a Trigger (Every, Cron, At, After, Ticks...), got {trigger!r}"
        )
    return await _update(
        scheduler, job_id, lambda spec: _rebuild(scheduler, spec, trigger, {}), True
    )
