"""Changing a job in place (``Scheduler.modify``/``reschedule``).

Both changes go through :meth:`Store.update_job`: the store reads the current definition, the
function built here derives the new one from it, and the store writes it in one atomic step,
so concurrent changes (from this process or another node) never lose one another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._values import Job, JobSpec, make_options
from .errors import InvalidJob
from .events import JobUpdated
from .triggers import Trigger

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ("MODIFIABLE", "modify", "reschedule")

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


def _rebuild(
    engine: Engine, spec: JobSpec, trigger: Trigger, changes: Mapping[str, Any]
) -> JobSpec:
    options = {f.name: getattr(spec.options, f.name) for f in dataclasses.fields(spec.options)}
    args = changes.get("args", spec.args)
    kwargs = changes.get("kwargs", spec.kwargs)
    options.update((k, v) for k, v in changes.items() if k not in ("args", "kwargs"))
    if "executor" not in changes:
        options["executor"] = spec.options.executor
    job_options = make_options(**options)
    return engine.specs.make(
        spec.func, trigger, id=spec.id, args=args, kwargs=kwargs, options=job_options
    )


async def _update(
    engine: Engine, job_id: str, update: Callable[[JobSpec], JobSpec], reschedule: bool
) -> Job:
    await engine.ensure_store()
    job = await engine.store.update_job(
        job_id, update, now=engine.clock.time(), reschedule=reschedule
    )
    engine.ticks.register(job.spec, job.paused)
    engine.emit(JobUpdated(at=engine.clock.now(), job_id=job_id, job=job))
    return job


async def modify(engine: Engine, job_id: str, changes: dict[str, Any]) -> Job:
    """See :meth:`Scheduler.modify`."""
    unknown = sorted(set(changes) - MODIFIABLE)
    if unknown:
        raise InvalidJob(
            f"modify() cannot change {', '.join(map(repr, unknown))} of job {job_id!r}; it "
            f"changes {', '.join(sorted(MODIFIABLE))}. Use reschedule() for the trigger"
        )
    return await _update(
        engine, job_id, lambda spec: _rebuild(engine, spec, spec.trigger, changes), False
    )


async def reschedule(engine: Engine, job_id: str, trigger: Trigger) -> Job:
    """See :meth:`Scheduler.reschedule`."""
    if not isinstance(trigger, Trigger):
        raise InvalidJob(
            f"trigger must be a Trigger (Every, Cron, At, After, Ticks...), got {trigger!r}"
        )
    return await _update(engine, job_id, lambda spec: _rebuild(engine, spec, trigger, {}), True)
