"""Serve the dashboard inside an aiohttp app (``pip install "aioscheduler[dashboard-aiohttp]"``).

aiohttp does not run ASGI apps itself; `aiohttp-asgi <https://pypi.org/project/aiohttp-asgi/>`_
bridges the two, streaming responses included (the live updates)::

    from aiohttp import web
    from aioscheduler.dashboard import Dashboard
    from aioscheduler.dashboard.aiohttp import mount

    app = web.Application()
    app.cleanup_ctx.append(scheduler.aiohttp_context)
    mount(app, "/scheduler", Dashboard(scheduler))
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.requests import ClientDisconnect

from ..errors import InvalidDashboard
from ._app import Dashboard

__all__ = ("mount",)


def mount(app: Any, path: str, dashboard: Dashboard) -> None:
    """Serve ``dashboard`` at ``path`` (e.g. ``"/scheduler"``) in the aiohttp ``app``.

    Raises:
        InvalidDashboard: ``path`` is not an absolute path below the root, or ``dashboard``
            is not a :class:`~aioscheduler.dashboard.Dashboard`.
        ImportError: ``aiohttp-asgi`` is not installed.
    """
    if not isinstance(dashboard, Dashboard):
        raise InvalidDashboard(f"mount() needs a Dashboard, got {dashboard!r}")
    if not isinstance(path, str) or not path.startswith("/") or path.strip("/") == "":
        raise InvalidDashboard(f"path must look like '/scheduler', got {path!r}")
    from aiohttp_asgi import ASGIResource

    resource = ASGIResource(_Bridged(dashboard), root_path="/" + path.strip("/"))
    app.router.register_resource(resource)


class _Bridged:
    """Adapt what aiohttp-asgi hands over to what Starlette expects: once the request body is
    read, its ``receive`` returns empty bodies at once instead of waiting for a disconnect,
    which would spin a streaming response's disconnect listener. Declaring ASGI 2.4 makes
    Starlette notice a gone client from the failed write instead."""

    def __init__(self, app: Dashboard) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["asgi"] = {**scope.get("asgi", {}), "spec_version": "2.4"}
        body_read = False

        async def receive_body() -> Any:
            nonlocal body_read
            if body_read:
                await asyncio.Event().wait()  # no disconnect message comes through the bridge
            message = await receive()
            body_read = not message.get("more_body", False)
            return message

        # the browser left (a closed page ends its live stream this way)
        with contextlib.suppress(ClientDisconnect, OSError):
            await self.app(scope, receive_body, send)
