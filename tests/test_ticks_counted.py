"""``TickCounters.counted``: the job id -> counter index that makes unregister/set_paused O(1)
and lets ``remove()`` skip the counters of a job that is not a ``Ticks`` job."""

from __future__ import annotations

from aioscheduler._ticks import TickCounters
from aioscheduler._values import JobSpec, make_options
from aioscheduler.triggers import Every, Ticks, Trigger

OPTIONS = make_options()


async def noop() -> None:
    return None


def spec(job_id: str, trigger: Trigger) -> JobSpec:
    return JobSpec(job_id, noop, trigger, (), {}, OPTIONS)


def counters() -> tuple[TickCounters, list[tuple[str, bool]]]:
    fired: list[tuple[str, bool]] = []
    return TickCounters(lambda s, final: fired.append((s.id, final))), fired


def test_counted_follows_register_replace_and_unregister() -> None:
    ticks, fired = counters()
    ticks.register(spec("a", Ticks(2, counter="up", repeat=True)), False)
    ticks.register(spec("b", Every(seconds=5)), False)
    assert ticks.counted == {"a": "up"}
    assert "a" in ticks and "b" not in ticks
    # replaced by another counter, then by a trigger that is not a Ticks
    ticks.register(spec("a", Ticks(1, counter="down", repeat=True)), False)
    assert ticks.counted == {"a": "down"}
    ticks.tick("up", 5)
    assert fired == []
    ticks.register(spec("a", Every(seconds=5)), False)
    assert ticks.counted == {}
    ticks.tick("down", 1)
    assert fired == []


def test_unregister_and_set_paused() -> None:
    ticks, fired = counters()
    ticks.register(spec("a", Ticks(1, repeat=True)), False)
    ticks.register(spec("b", Ticks(1, repeat=True)), False)
    ticks.set_paused("a", True)
    ticks.set_paused("zzz", True)  # not counted: nothing happens
    ticks.tick("default", 1)
    assert fired == [("b", False)]
    ticks.unregister("b")
    ticks.unregister("b")  # twice: a no-op
    ticks.set_paused("a", False)
    ticks.tick("default", 1)
    assert fired == [("b", False), ("a", False)]
    assert ticks.counted == {"a": "default"}


def test_a_final_firing_leaves_counted() -> None:
    ticks, fired = counters()
    ticks.register(spec("once", Ticks(2)), False)
    ticks.tick("default", 2)
    assert fired == [("once", True)]
    assert ticks.counted == {}
    ticks.tick("default", 5)
    assert fired == [("once", True)]


def test_a_ticks_subclass_is_counted() -> None:
    class MyTicks(Ticks):
        pass

    ticks, fired = counters()
    ticks.register(spec("m", MyTicks(1)), False)
    ticks.register(spec("m2", MyTicks(1)), False)  # the class, now cached
    ticks.tick("default", 1)
    assert sorted(fired) == [("m", True), ("m2", True)]
