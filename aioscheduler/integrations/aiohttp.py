"""Run a scheduler for as long as an aiohttp application serves.

Usually reached through :meth:`Scheduler.aiohttp_context
<aioscheduler.Scheduler.aiohttp_context>`::

    from aiohttp import web
    from aioscheduler import Scheduler
    from aioscheduler.integrations.aiohttp import SCHEDULER_KEY

    scheduler = Scheduler()
    app = web.Application()
    app.cleanup_ctx.append(scheduler.aiohttp_context)

    async def jobs(request: web.Request) -> web.Response:
        scheduler = request.app[SCHEDULER_KEY]
        return web.json_response([job.id for job in await scheduler.jobs(history=False)])

Importing this module imports aiohttp (``pip install "aioscheduler[aiohttp]"``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .._threaded import AsyncScheduler

__all__ = ("SCHEDULER_KEY", "cleanup_context")

#: The application key under which the running scheduler is stored: ``app[SCHEDULER_KEY]``.
#: Typed structurally (:class:`~aioscheduler._threaded.AsyncScheduler`): the face's
#: ``Scheduler.aiohttp_context`` reaches this module, so it cannot import the face back.
SCHEDULER_KEY: web.AppKey[AsyncScheduler] = web.AppKey("scheduler", AsyncScheduler)


async def cleanup_context(
    scheduler: AsyncScheduler, app: web.Application, *, stop_timeout: float | None = None
) -> AsyncIterator[None]:
    """An aiohttp cleanup context: start ``scheduler`` at startup, stop it at cleanup.

    Sets ``app[SCHEDULER_KEY]`` to the scheduler before starting it. At cleanup, waits up to
    ``stop_timeout`` seconds for running work (``None``: as long as it takes). To pass a
    timeout, append a closure::

        app.cleanup_ctx.append(lambda app: cleanup_context(scheduler, app, stop_timeout=10))
    """
    app[SCHEDULER_KEY] = scheduler
    await scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop(timeout=stop_timeout)
