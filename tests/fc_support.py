"""Module-level job functions for FakeClock tests on persistent stores."""

from __future__ import annotations

CALLS: list[float] = []


async def tick() -> None:
    CALLS.append(1.0)


def tick_sync() -> None:
    CALLS.append(1.0)


def greet(name: str, punctuation: str = "!") -> str:
    CALLS.append(1.0)
    return f"hello {name}{punctuation}"


GATE: list[object] = []  # an asyncio.Event set by the test


async def gated() -> str:
    import asyncio

    event = GATE[0]
    assert isinstance(event, asyncio.Event)
    await event.wait()
    return "through"
