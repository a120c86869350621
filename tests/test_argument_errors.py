"""Arguments refused at the public API with a message naming the value, and the small
documented behaviours next to those checks (node names, naive datetimes, ticks from threads,
timer done callbacks, duration formatting)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aioscheduler import Every, Outcome, Scheduler, Ticks, Timer
from aioscheduler.errors import InvalidJob, InvalidTrigger, SchedulerStateError
from aioscheduler.events import RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock
from aioscheduler.triggers._time import format_duration
from tests.conftest import START


def noop() -> None:
    pass


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"history_limit": -1}, "history_limit must be an int >= 0, got -1"),
        ({"history_limit": True}, "history_limit must be an int >= 0, got True"),
        ({"event_buffer": 0}, "event_buffer must be an int >= 1, got 0"),
        ({"event_buffer": 2.5}, "event_buffer must be an int >= 1, got 2.5"),
        ({"node_name": "   "}, "node_name must be a non-empty str or None, got '   '"),
        ({"node_name": 7}, "node_name must be a non-empty str or None, got 7"),
    ],
    ids=["history-negative", "history-bool", "buffer-zero", "buffer-float", "blank", "int"],
)
def test_scheduler_options_are_checked_at_construction(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Scheduler(**kwargs)


def test_the_node_name_given_is_the_one_reported() -> None:
    assert Scheduler(node_name="worker-1").node_name == "worker-1"
    assert Scheduler().node_name  # a default from host and pid


@pytest.mark.parametrize("value", [-1, True, "5"])
def test_a_sqlite_store_refuses_a_bad_history_limit(value: Any) -> None:
    with pytest.raises(
        ValueError, match=f"history_limit must be an int >= 0 or None, got {value!r}"
    ):
        SQLiteStore(":memory:", history_limit=value)


def test_call_at_takes_a_datetime_and_reads_a_naive_one_in_the_scheduler_timezone() -> None:
    s = Scheduler(clock=FakeClock(START), timezone="Europe/Paris")
    with pytest.raises(InvalidTrigger, match="when must be a datetime, got '12:00'"):
        s.call_at("12:00", noop)  # type: ignore[arg-type]
    timer = s.call_at(datetime(2026, 3, 2, 14, 30), noop)
    assert timer.when == datetime(2026, 3, 2, 14, 30, tzinfo=ZoneInfo("Europe/Paris"))
    aware = s.call_at(START + timedelta(hours=1), noop)  # an aware one is taken as it is
    assert aware.when == START + timedelta(hours=1)
    for t in (timer, aware):
        assert t.cancel()


@pytest.mark.parametrize(
    ("counter", "n", "message"),
    [
        ("", 1, "counter must be a non-empty str, got ''"),
        (3, 1, "counter must be a non-empty str, got 3"),
        ("c", 0, "n must be an int >= 1, got 0"),
        ("c", True, "n must be an int >= 1, got True"),
        ("c", 1.0, "n must be an int >= 1, got 1.0"),
    ],
)
def test_tick_refuses_bad_counters_and_counts(counter: Any, n: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scheduler().tick(counter, n)


async def test_tick_from_another_thread_fires_the_ticks_job(
    running: Scheduler, clock: FakeClock
) -> None:
    finished: list[RunFinished] = []
    running.subscribe(finished.append, RunFinished)
    calls: list[int] = []
    await running.add(
        lambda: calls.append(1), Ticks(2, counter="uploads", repeat=True), id="t", executor="inline"
    )
    await asyncio.to_thread(running.tick, "uploads")
    await asyncio.to_thread(running.tick, "uploads")
    for _ in range(100):  # the ticks hop to the loop thread
        if calls:
            break
        await clock.advance(0)
    assert calls == [1]
    job = await running.get("t")
    assert job.last_run is not None and job.last_run.outcome is Outcome.SUCCESS


async def test_run_pending_is_refused_while_the_scheduler_runs(running: Scheduler) -> None:
    with pytest.raises(SchedulerStateError, match="run_pending\\(\\) is for a scheduler that"):
        await running.run_pending()


async def test_add_refuses_flags_that_are_not_bools(scheduler: Scheduler) -> None:
    with pytest.raises(InvalidJob, match="paused, replace and run_at_start must be bools"):
        await scheduler.add(noop, Every(seconds=1), id="j", paused="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidJob, match="must be bools, got False, 1, False"):
        await scheduler.add(noop, Every(seconds=1), id="j", replace=1)  # type: ignore[arg-type]
    assert await scheduler.jobs() == []


async def test_reschedule_refuses_what_is_not_a_trigger(scheduler: Scheduler) -> None:
    await scheduler.add(noop, Every(seconds=1), id="j")
    with pytest.raises(InvalidJob, match=r"trigger must be a Trigger .*got '\* \* \* \* \*'"):
        await scheduler.reschedule("j", "* * * * *")  # type: ignore[arg-type]
    job = await scheduler.get("j")
    assert job.trigger == Every(seconds=1)


async def test_a_declared_job_with_an_unknown_option_is_refused(clock: FakeClock) -> None:
    s = Scheduler(clock=clock)
    options: dict[str, Any] = {"retires": 3}  # a typo of retries
    declare = s.every(seconds=1, **options)
    with pytest.raises(InvalidJob, match=r"unknown job option: .*retires"):
        declare(noop)
    async with s:
        assert await s.jobs() == []


@pytest.mark.parametrize(
    ("subscribe", "message"),
    [
        (lambda s: s.subscribe(print, RunFinished, int), "event types must be Event subclasses"),
        (lambda s: s.subscribe("print", RunFinished), "callback must be callable, got 'print'"),
        (lambda s: s.events(RunFinished, "RunStarted"), "event types must be Event subclasses"),
    ],
    ids=["subscribe-type", "subscribe-callback", "events-type"],
)
def test_subscriptions_refuse_what_is_not_an_event_type_or_a_callable(
    subscribe: Any, message: str
) -> None:
    s = Scheduler()
    with pytest.raises(TypeError, match=message):
        subscribe(s)
    assert s.statistics().idle


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("1s", TypeError, "advance\\(\\) takes seconds or a timedelta, got '1s'"),
        (True, TypeError, "advance\\(\\) takes seconds or a timedelta, got True"),
        (-1, ValueError, "advance\\(\\) cannot move time backwards: got -1"),
        (float("nan"), ValueError, "advance\\(\\) cannot move time backwards: got nan"),
    ],
)
async def test_fake_clock_refuses_to_move_back_or_by_something_else_than_seconds(
    running: Scheduler, clock: FakeClock, value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await clock.advance(value)
    assert clock.now() == START


def test_fake_clock_jump_takes_a_timedelta_and_refuses_going_back() -> None:
    clock = FakeClock(START)
    clock.jump(timedelta(minutes=2))
    assert clock.now() == START + timedelta(minutes=2)
    with pytest.raises(ValueError, match="jump\\(\\) cannot move time backwards"):
        clock.jump(timedelta(seconds=-1))
    assert repr(clock) == "<FakeClock 2026-03-02T12:02:00+00:00>"


def test_fake_clock_needs_an_aware_datetime_to_start() -> None:
    with pytest.raises(TypeError, match="start must be a datetime, got '2026-01-01'"):
        FakeClock("2026-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start must be timezone-aware, got naive 2026-01-01T"):
        FakeClock(datetime(2026, 1, 1))


async def test_a_done_callback_added_to_an_ended_timer_runs_at_once_and_its_error_is_logged(
    running: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def once() -> None:
        return None

    timer = running.call_later(1, once)
    await clock.advance(1)
    assert timer.done
    seen: list[Timer] = []
    timer.add_done_callback(seen.append)
    assert seen == [timer]

    def broken(_timer: Timer) -> None:
        raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, "aioscheduler.timers"):
        timer.add_done_callback(broken)  # logged, not raised
    assert any("done callback" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(seconds=0.25), "0.25s"),
        (timedelta(minutes=1, seconds=0.5), "1m0.5s"),
        (timedelta(0), "0s"),
        (timedelta(days=1, seconds=7), "1d7s"),
    ],
)
def test_format_duration_is_compact(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
