"""Event subscribers are served off the firing path: a slow or blocked subscriber never delays a
firing; what it cannot take is dropped, counted and reported (issue 10 item 9).

The throughput claim (500 jobs every 100 ms fire as often with a 20 ms-per-event subscriber as
without) is measured in ``benchmarks/subscribers.py``, not here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from aioscheduler import Every, Scheduler, inline
from aioscheduler.events import Event, RunFinished, RunStarted
from aioscheduler.testing import FakeClock


async def test_a_blocked_sync_subscriber_does_not_stop_firings_and_its_drops_are_reported(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = Scheduler(clock=clock, event_buffer=3)
    unblock = threading.Event()
    seen: list[Event] = []

    def blocked(event: Event) -> None:
        seen.append(event)
        unblock.wait(30)  # before the fix this ran on the loop: every firing stopped here

    fired: list[float] = []
    sub = s.subscribe(blocked, RunStarted, RunFinished)
    await s.add(lambda: fired.append(clock.time()), Every(seconds=1), id="j", executor="inline")
    with caplog.at_level(logging.WARNING, logger="aioscheduler.events"):
        async with s:
            await clock.advance(4)
            assert len(fired) == 4  # every firing ran, on time
            assert len(seen) == 1  # the subscriber is stuck in its first event
            assert sub.dropped == 8 - 1 - 3  # 8 events: 1 taken, 3 buffered, 4 dropped
            unblock.set()
            await clock.advance(0)
            assert len(seen) == 4  # the buffered ones, in order, once it is free again
    assert [type(e) for e in seen] == [RunStarted, RunFinished, RunStarted, RunFinished]
    messages = [r.getMessage() for r in caplog.records]
    assert any("fell 3 events behind" in m for m in messages)
    assert any("dropped 4 events in all" in m for m in messages)


async def test_plain_subscribers_run_on_a_worker_thread_inline_and_async_ones_on_the_loop(
    running: Scheduler, clock: FakeClock
) -> None:
    where: dict[str, bool] = {}
    loop_thread = threading.get_ident()

    def plain(event: Event) -> None:
        where["plain"] = threading.get_ident() == loop_thread

    @inline
    def fast(event: Event) -> None:
        where["inline"] = threading.get_ident() == loop_thread

    async def coro(event: Event) -> None:
        where["async"] = threading.get_ident() == loop_thread

    for callback in (plain, fast, coro):
        running.subscribe(callback, RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(1)
    assert where == {"plain": False, "inline": True, "async": True}


async def test_a_thread_subscriber_gets_events_in_order_and_cancel_stops_it(
    running: Scheduler, clock: FakeClock
) -> None:
    seen: list[float] = []
    sub = running.subscribe(lambda e: seen.append(e.run.scheduled_at.timestamp()), RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(5)
    assert seen == sorted(seen) and len(seen) == 5
    sub.cancel()
    await clock.advance(2)
    assert len(seen) == 5


async def test_a_failing_thread_subscriber_is_counted_and_keeps_receiving(
    running: Scheduler, clock: FakeClock
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    sub = running.subscribe(broken, RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(3)
    assert sub.failures == 3


async def test_stop_is_not_held_up_by_a_subscriber_stuck_in_a_thread(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    unblock = threading.Event()
    s.subscribe(lambda e: unblock.wait(30), RunFinished)
    await s.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await s.start()
    await clock.advance(2)
    started = time.monotonic()
    await s.stop(timeout=0.2)
    assert time.monotonic() - started < 5.0  # generous: the grace is well under 2 s
    unblock.set()
    await asyncio.sleep(0)


async def test_a_thread_subscriber_can_cancel_itself(running: Scheduler, clock: FakeClock) -> None:
    seen: list[Event] = []

    def twice(event: Event) -> None:
        seen.append(event)
        if len(seen) == 2:
            sub.cancel()  # from its own worker thread

    sub = running.subscribe(twice, RunFinished)
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(2)
    await clock.advance(3)
    assert len(seen) == 2
    assert not sub.active


async def test_an_asyncio_queue_put_nowait_subscriber_is_served_on_the_loop(
    running: Scheduler, clock: FakeClock
) -> None:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    event_set = asyncio.Event()
    sub = running.subscribe(queue.put_nowait, RunFinished)
    on_set = running.subscribe(lambda e: None, RunFinished)
    flag = running.subscribe(inline(lambda e: event_set.set()), RunFinished)
    assert not sub.on_thread  # asyncio objects are not thread-safe
    assert on_set.on_thread and not flag.on_thread
    await running.add(lambda: None, Every(seconds=1), id="j", executor="inline")
    await clock.advance(1)
    event = await asyncio.wait_for(queue.get(), 5)
    assert isinstance(event, RunFinished)
    assert event_set.is_set()
