"""The extra conformance tests of shared stores (several nodes, one schedule; see
:mod:`aioscheduler.testing.conformance`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from .._clock import to_datetime
from .._values import JobOptions, JobSpec, Outcome
from ..stores import Claim, Store, StoreContext
from ..triggers import At
from ._conformance_base import T0, admission, finished, spec
from ._conformance_store import StoreConformance

__all__ = ("SharedStoreConformance",)


class SharedStoreConformance(StoreConformance):
    """The extra contract of shared stores (:attr:`Store.shared`): several nodes, one schedule.

    ``make_store`` must return a new store object over the same data at each call (each one is
    a node), whose clock follows the suite: the ``now`` arguments and
    :attr:`StoreContext.time` (a node-clock test mode, e.g. ``PostgresStore(clock="node")``).
    Every test here uses several nodes at once.
    """

    persistent = True

    async def node(self, make_store: Callable[[], Store], name: str, clock: list[float]) -> Store:
        """Open a new node named ``name`` whose wall clock reads ``clock[0]``."""
        store = make_store()
        await store.open(
            StoreContext(
                f"{name}#1",
                lambda due: None,
                10,
                node_name=name,
                time=lambda: clock[0],
                admission=admission(),
            )
        )
        return store

    @pytest.fixture
    async def nodes(self, make_store: Callable[[], Store]) -> Any:
        clock = [T0]
        opened: list[Store] = []

        async def make(name: str) -> Store:
            store = await self.node(make_store, name, clock)
            opened.append(store)
            return store

        yield make, clock
        for store in opened:
            await store.close()

    async def test_racing_nodes_claim_each_slot_once(self, nodes: Any) -> None:
        make, clock = nodes
        a, b, c = [await make(n) for n in "abc"]
        for i in range(30):
            await a.add_job(spec(f"j{i}", coalesce=False), now=T0, paused=False, replace=False)
        got: list[Claim] = []
        for t in (T0, T0 + 10, T0 + 20):
            clock[0] = t
            for batch in await asyncio.gather(*(s.acquire_due(t, 7) for s in (a, b, c) * 3)):
                got += batch
        keys = [(c.spec.id, c.scheduled_at) for c in got]
        assert len(keys) == len(set(keys)) == 90, "every slot claimed exactly once"
        assert {c.owner for c in got} <= {"a#1", "b#1", "c#1"}

    async def test_completion_after_a_takeover_is_refused_and_counted(self, nodes: Any) -> None:
        make, clock = nodes
        a, b = await make("a"), await make("b")
        lease = a.lease
        assert lease is not None
        await a.add_job(spec(), now=T0, paused=False, replace=False)
        [mine] = await a.acquire_due(T0, 10)
        assert (mine.owner, mine.attempt) == ("a#1", 1)
        early = await b.acquire_due(T0 + lease / 2, 10)
        assert all(c.scheduled_at != T0 for c in early), "not expired yet"
        clock[0] = late = T0 + lease + 1
        taken = [c for c in await b.acquire_due(late, 10) if c.scheduled_at == T0]
        assert [(c.owner, c.attempt, c.run) for c in taken] == [("b#1", 2, True)]
        assert await a.extend_leases([mine]) == [mine], "A learns it lost the lease"
        result = await a.release([(mine, finished(mine))])
        assert result is not None and result.refused == (mine,)
        assert a.stale_completions == 1
        assert (await b.get_job("job")).history == (), "a refused completion records nothing"
        assert await b.release([(taken[0], finished(taken[0]))]) is None
        [run] = [r for r in (await a.get_job("job")).history if r.scheduled_at == to_datetime(T0)]
        assert run.attempt == 2

    async def test_renewed_leases_are_not_taken_over(self, nodes: Any) -> None:
        make, clock = nodes
        a, b = await make("a"), await make("b")
        lease = a.lease
        assert lease is not None
        await a.add_job(spec(trigger=At(to_datetime(T0))), now=T0, paused=False, replace=False)
        [mine] = await a.acquire_due(T0, 10)
        for step in range(1, 7):
            clock[0] = T0 + step * lease / 3
            assert await a.extend_leases([mine]) == []
        assert await b.acquire_due(clock[0] + lease / 2, 10) == []

    async def test_close_lets_peers_take_over_at_once(self, nodes: Any) -> None:
        make, _ = nodes
        a, b = await make("a"), await make("b")
        await a.add_job(spec(trigger=At(to_datetime(T0))), now=T0, paused=False, replace=False)
        assert len(await a.acquire_due(T0, 10)) == 1
        await a.close()
        [again] = await b.acquire_due(T0 + 1, 10)
        assert (again.scheduled_at, again.attempt, again.owner) == (T0, 2, "b#1")

    async def test_at_most_once_firing_of_a_dead_node_is_reported_lost(
        self, nodes: Any, make_store: Callable[[], Store]
    ) -> None:
        make, clock = nodes
        a = await self.node(make_store, "a", clock)
        b = await make("b")
        job = spec(trigger=At(to_datetime(T0)))
        job = JobSpec(job.id, job.func, job.trigger, (), {}, JobOptions(delivery="at-most-once"))
        await a.add_job(job, now=T0, paused=False, replace=False)
        assert len(await a.acquire_due(T0, 10)) == 1
        await self.crash(a)
        lease = b.lease
        assert lease is not None
        clock[0] = T0 + lease + 1
        [lost] = await b.acquire_due(clock[0], 10)
        assert (lost.run, lost.lost, lost.attempt) == (False, True, 2)
        assert await b.acquire_due(clock[0] + 100, 10) == [], "and never handed out again"

    async def test_many_nodes_declaring_at_once_add_then_replace_once(self, nodes: Any) -> None:
        make, _ = nodes
        stores = [await make(f"n{i}") for i in range(4)]
        first = await asyncio.gather(*(s.declare_job(spec(), now=T0, paused=False) for s in stores))
        assert sorted(what for _, what in first) == ["added"] + ["unchanged"] * 3
        [claim] = await stores[0].acquire_due(T0, 10)
        changed = spec(args=(2,))
        again = await asyncio.gather(
            *(s.declare_job(changed, now=T0 + 1, paused=False) for s in stores)
        )
        assert sorted(what for _, what in again) == ["replaced"] + ["unchanged"] * 3
        same = await stores[1].declare_job(changed, now=T0 + 2, paused=False)
        assert same[1] == "unchanged"
        assert same[0].args == (2,) and same[0].next_run_at == to_datetime(T0 + 10)
        assert [c.scheduled_at for c in await stores[2].acquire_due(T0 + 10, 10)] == [T0 + 10]
        await stores[0].release([(claim, finished(claim))])

    async def test_overlap_sees_runs_on_other_nodes(self, nodes: Any) -> None:
        make, clock = nodes
        a, b = await make("a"), await make("b")
        for overlap in ("skip", "queue", "replace"):
            job = spec(overlap)
            job = JobSpec(job.id, job.func, job.trigger, (), {}, JobOptions(overlap=overlap))
            await a.add_job(job, now=T0, paused=False, replace=False)
        clock[0] = T0
        first = {c.spec.id: c for c in await a.acquire_due(T0, 10)}
        clock[0] = T0 + 10
        second = {c.spec.id: c for c in await b.acquire_due(T0 + 10, 10)}
        assert second["skip"].running == 1, "B sees A's run of the skip job"
        assert "queue" not in second, "a queue job waits while another node runs it"
        assert await a.extend_leases([first["replace"]]) == [first["replace"]], "replaced"
        await a.release([(first["queue"], finished(first["queue"]))])
        clock[0] = T0 + 11
        assert [c.spec.id for c in await b.acquire_due(T0 + 11, 10)] == ["queue"]

    async def test_pause_after_failures_counts_every_nodes_runs(self, nodes: Any) -> None:
        make, clock = nodes
        a, b = await make("a"), await make("b")
        if not a.counts_failures:
            pytest.skip(f"{type(a).__name__} leaves pause_after_failures to each node")
        job = spec()
        job = JobSpec(job.id, job.func, job.trigger, (), {}, JobOptions(pause_after_failures=2))
        await a.add_job(job, now=T0, paused=False, replace=False)
        [one] = await a.acquire_due(T0, 10)
        clock[0] = T0 + 10
        [two] = await b.acquire_due(T0 + 10, 10)
        assert await a.release([(one, finished(one, Outcome.ERROR))]) is None
        result = await b.release([(two, finished(two, Outcome.ERROR))])
        assert result is not None and result.paused == (("job", 2),)
        assert (await a.get_job("job")).paused
