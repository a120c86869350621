"""A minimal ASGI lifespan driver: what a server (uvicorn) does at startup and shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    """Send ``lifespan.startup``, yield the lifespan state, then send ``lifespan.shutdown``.

    Raises ``RuntimeError`` with the app's message if startup or shutdown fails.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    state: dict[str, Any] = {}
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))

    async def expect(event: str) -> None:
        message = await asyncio.wait_for(outbox.get(), 30)
        if message["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(f"lifespan {event} failed: {message.get('message')}")

    await inbox.put({"type": "lifespan.startup"})
    await expect("startup")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await expect("shutdown")
        await asyncio.wait_for(task, 30)
