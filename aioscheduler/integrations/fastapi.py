"""Run a scheduler for as long as a FastAPI or Starlette app serves.

Usually reached through :attr:`Scheduler.lifespan <aioscheduler.Scheduler.lifespan>`::

    from fastapi import FastAPI, Request
    from aioscheduler import Scheduler

    scheduler = Scheduler()

    @scheduler.every(minutes=5)
    async def refresh() -> None: ...

    app = FastAPI(lifespan=scheduler.lifespan)

    @app.get("/jobs")
    async def jobs(request: Request) -> list[str]:
        return [job.id for job in await request.app.state.scheduler.jobs(history=False)]

The lifespan is plain ASGI: it needs nothing from Starlette but ``app.state``, so this module
imports neither Starlette nor FastAPI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._threaded import AsyncScheduler

__all__ = ("AppLifespan", "Lifespan")

#: An app's own lifespan: ``app -> async context manager`` (what ``FastAPI(lifespan=...)``
#: takes), usually an ``@asynccontextmanager`` function.
AppLifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


class Lifespan:
    """A Starlette/FastAPI lifespan that starts a scheduler when the app starts and stops it
    when the app shuts down.

    On startup it sets ``app.state.<state_name>`` (``app.state.scheduler``) to the scheduler,
    enters the app's own lifespan if one is wrapped, then starts the scheduler. On shutdown it
    stops the scheduler first (running jobs may still use what the app's lifespan set up),
    waiting up to ``stop_timeout`` seconds for running work, then leaves the app's lifespan.
    Whatever the app's lifespan yields (Starlette's lifespan *state*) is passed through.

    Args:
        scheduler: The scheduler to run.
        inner: The app's own lifespan to run around the scheduler, or ``None``.
        stop_timeout: Seconds to wait for running work at shutdown (``None``: as long as it
            takes); see :meth:`Scheduler.stop <aioscheduler.Scheduler.stop>`.
        state_name: The attribute of ``app.state`` that holds the scheduler.

    Example::

        @asynccontextmanager
        async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
            app.state.db = await connect()
            yield
            await app.state.db.close()

        app = FastAPI(lifespan=scheduler.lifespan.wrap(app_lifespan))
    """

    __slots__ = ("inner", "scheduler", "state_name", "stop_timeout")

    def __init__(
        self,
        scheduler: AsyncScheduler,
        inner: AppLifespan | None = None,
        *,
        stop_timeout: float | None = None,
        state_name: str = "scheduler",
    ) -> None:
        if inner is not None and not callable(inner):
            raise TypeError(f"inner must be a lifespan callable (app -> context), got {inner!r}")
        if not isinstance(state_name, str) or not state_name.isidentifier():
            raise ValueError(f"state_name must be an identifier, got {state_name!r}")
        self.scheduler = scheduler
        self.inner = inner
        self.stop_timeout = stop_timeout
        self.state_name = state_name

    def wrap(self, inner: AppLifespan) -> Lifespan:
        """Return a lifespan that runs the app's own lifespan ``inner`` around the scheduler.

        ``inner`` enters first and leaves last, so what it sets up (a database pool on
        ``app.state``) is there for the jobs from their first run to their last. It may add
        jobs to the scheduler (``app.state.scheduler``): they wait for the start that follows.
        """
        return Lifespan(
            self.scheduler, inner, stop_timeout=self.stop_timeout, state_name=self.state_name
        )

    def __call__(self, app: Any) -> AbstractAsyncContextManager[Any]:
        """Return the lifespan context for ``app`` (what Starlette calls at startup)."""
        return self._run(app)

    @asynccontextmanager
    async def _run(self, app: Any) -> AsyncIterator[Any]:
        setattr(app.state, self.state_name, self.scheduler)
        if self.inner is None:
            async with self._scheduler_running():
                yield None
        else:
            async with self.inner(app) as state, self._scheduler_running():
                yield state

    @asynccontextmanager
    async def _scheduler_running(self) -> AsyncIterator[None]:
        await self.scheduler.start()
        try:
            yield
        finally:
            await self.scheduler.stop(timeout=self.stop_timeout)

    def __repr__(self) -> str:
        inner = f" wrapping {self.inner!r}" if self.inner is not None else ""
        return f"<Lifespan of {self.scheduler!r}{inner}>"
