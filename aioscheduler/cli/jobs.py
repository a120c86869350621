"""``aioscheduler jobs``: list a scheduler's jobs, or a store's, as a table."""

from __future__ import annotations

import contextlib
import inspect
from datetime import tzinfo
from typing import Any

from .._admission import Admission
from .._scheduler import Scheduler
from .._serialization import PayloadCodec
from .._values import Job
from ..errors import SchedulerError
from ..stores import Store, store_from_url
from ._sqlite_view import Listed, read_sqlite
from ._stored import stored_jobs_table
from ._table import format_local, format_table, format_utc
from ._target import UsageError, cwd_importable, load_scheduler

__all__ = ("list_jobs",)

HEADER = ("ID", "TRIGGER", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)", "PAUSED", "LAST OUTCOME")


async def list_jobs(
    target: str | None,
    store_url: str | None,
    tz: tzinfo | None,
    allow: list[str] | None = None,
    *,
    factory: bool = False,
    key: str | None = None,
) -> str:
    """Return the jobs table of the scheduler ``target`` or of the store at ``store_url``.

    A scheduler on the in-memory store lists the jobs its decorators declare, with the next
    run they would have if it started now. A SQLite store is read read-only, beside the
    scheduler that runs it, without importing the jobs' modules. Rows that cannot be read or
    are refused (a name outside ``allow`` or the target scheduler's policy; for other stores,
    jobs that cannot be loaded) are listed after the table. ``key`` opens a signed or
    encrypted store (``--secret-key-env``).

    Raises:
        UsageError: the target cannot be loaded, or the store cannot be read (one line).
    """
    if store_url is not None:
        shared = await _shared_store_table(store_url, allow, tz, key)
        if shared is not None:
            return shared
        listed, broken = await _from_url(store_url, allow, key)
    else:
        assert target is not None
        scheduler = await load_scheduler(target, factory=factory)
        listed, broken = await _from_scheduler(scheduler)
    text = format_table(HEADER, [_row(job, tz) for job in listed]) if listed else "no jobs"
    if broken:
        lines = [f"{len(broken)} broken job{'s' if len(broken) > 1 else ''} (cannot be loaded):"]
        lines += [f"  {job_id}: {reason}" for job_id, reason in broken]
        text += "\n\n" + "\n".join(lines)
    return text


SHARED_SCHEMES = ("postgresql", "postgres", "redis", "rediss")


async def _shared_store_table(
    url: str, allow: list[str] | None, tz: tzinfo | None, key: str | None = None
) -> str | None:
    """The table of a shared store (PostgreSQL, Redis), read without importing the jobs'
    modules: callables as paths, and the nodes running each job now; ``None`` for others."""
    if url.partition("://")[0] not in SHARED_SCHEMES:
        return None
    cwd_importable()
    try:
        scheduler = Scheduler(store=url, allow=allow, secret_key=key)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    store = scheduler.store
    if not hasattr(store, "describe_jobs"):
        return None
    try:
        await scheduler.open_store()
        return await stored_jobs_table(store, tz)
    except SchedulerError as exc:
        raise UsageError(f"cannot list the jobs of {store!r}: {exc}", exit_code=1) from None
    finally:
        await _close(store)


def _sqlite_path(url: str) -> str | None:
    from ..stores.sqlite import SQLiteStore

    if not url.startswith("sqlite:"):
        return None
    try:
        return SQLiteStore.from_url(url).path
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None


async def _from_url(
    url: str, allow: list[str] | None, key: str | None = None
) -> tuple[list[Listed], list[tuple[str, str]]]:
    path = _sqlite_path(url)
    if path is not None:
        hint = "" if allow else "; to list it here: aioscheduler jobs --allow MODULE"
        codec = None if key is None else PayloadCodec(key)
        return read_sqlite(path, codec, admission=Admission(allow), refused_hint=hint)
    cwd_importable()
    try:
        options = {} if key is None else {"secret_key": key}
        scheduler = Scheduler(store=store_from_url(url, **options), allow=allow)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    return await _from_scheduler(scheduler)


async def _from_scheduler(scheduler: Scheduler) -> tuple[list[Listed], list[tuple[str, str]]]:
    from ..stores.sqlite import SQLiteStore

    store = scheduler.store
    if isinstance(store, SQLiteStore):
        return read_sqlite(store.path, store.codec, scheduler.admission)
    try:
        if not store.persistent:
            await scheduler.load_declared()  # what start() would add, without starting
        jobs = await scheduler.jobs()
        broken = await _broken(store)
    except SchedulerError as exc:
        raise UsageError(f"cannot list the jobs of {store!r}: {exc}", exit_code=1) from None
    finally:
        await _close(store)
    return [_listed(job) for job in jobs], broken


async def _close(store: Store) -> None:
    with contextlib.suppress(SchedulerError):  # already reported by the failing call
        await store.close()


def _listed(job: Job) -> Listed:
    last = job.last_run.outcome if job.last_run is not None else None
    return Listed(
        job.id,
        job.trigger.describe(),
        job.next_run_at,
        job.paused,
        None if last is None else str(last),
    )


def _row(job: Listed, tz: tzinfo | None) -> list[str]:
    nxt = job.next_run_at
    return [
        job.id,
        job.trigger,
        format_local(nxt, tz) if nxt else "-",
        format_utc(nxt) if nxt else "-",
        "yes" if job.paused else "no",
        job.last_outcome or "-",
    ]


async def _broken(store: Any) -> list[tuple[str, str]]:
    method = getattr(store, "broken_jobs", None)
    if method is None:
        return []
    result = method()
    if inspect.isawaitable(result):
        result = await result
    out = []
    for item in result or ():
        if isinstance(item, tuple) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
        else:
            job_id = getattr(item, "id", None) or getattr(item, "job_id", None) or item
            reason = getattr(item, "reason", None) or getattr(item, "error", None) or "broken"
            out.append((str(job_id), str(reason)))
    return out
