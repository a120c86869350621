"""The store conformance suite: the behaviour every :class:`~aioscheduler.stores.Store` shares.

Subclass :class:`StoreConformance` in a pytest module and provide a ``make_store`` fixture that
returns a function building a store object over the same data each time it is called (for a
persistent store: a new object on the same file or database, so that "restart" tests reopen
it). pytest collects the inherited tests::

    import pytest
    from aioscheduler.stores.sqlite import SQLiteStore
    from aioscheduler.testing.conformance import StoreConformance


    class TestSQLiteStore(StoreConformance):
        persistent = True

        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: SQLiteStore(tmp_path / "jobs.db")

        async def crash(self, store):
            await store._abandon()  # let go like a killed process

Needs ``pytest`` and ``pytest-asyncio`` (``asyncio_mode = "auto"``). Every test drives time by
passing ``now`` explicitly: nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from .._admission import Admission
from .._clock import to_datetime
from .._values import JobOptions, JobSpec, Outcome, Run
from ..errors import JobExists, JobNotFound
from ..stores import Claim, Store, StoreContext
from ..triggers import (
    After,
    AllOf,
    AnyOf,
    At,
    CalendarInterval,
    Cron,
    Every,
    Ticks,
    Trigger,
)
from .tampering import TamperingTests

__all__ = ("T0", "SharedStoreConformance", "StoreConformance", "conformance_job")

#: The instant every test starts at: 2026-03-02 12:00:00 UTC.
T0 = 1_772_452_800.0


async def conformance_job(*args: Any, **kwargs: Any) -> None:
    """The callable of every job in the suite (importable, so persistent stores accept it)."""


def spec(
    job_id: str = "job",
    trigger: Trigger | None = None,
    *,
    args: tuple[Any, ...] = (),
    misfire_grace: float | None = None,
    coalesce: bool = True,
) -> JobSpec:
    """A job definition for the suite (every 10 s from ``T0`` unless ``trigger`` is given).
    Passed to a shared-store test as a positional ``job_id``, a name only."""
    return JobSpec(
        job_id,
        conformance_job,
        trigger or Every(seconds=10, start_at=to_datetime(T0)),
        args,
        {"k": "v"},
        JobOptions(executor="async", misfire_grace=misfire_grace, coalesce=coalesce),
    )


def stored_triggers() -> list[Trigger]:
    """One trigger of every kind, with the options that change their stored form."""
    start = to_datetime(T0)
    return [
        Cron("0 9 L-3 * fri#2", timezone="Europe/Berlin", dst_gap="shift", dst_repeat="last"),
        Cron("*/20 * * * * *", timezone="UTC", start_at=start, end_at=start + timedelta(days=9)),
        CalendarInterval(months=1, hour=9, timezone="America/New_York", start_at=start),
        CalendarInterval(weeks=2, timezone="UTC").anchor(start),
        AnyOf(Cron("0 9 * * *", timezone="UTC"), Every(90)).anchor(start),
        AllOf(Cron("0 0 * * fri", timezone="UTC"), Cron("0 0 13 * *", timezone="UTC")),
        Every(2.5, start_at=start, jitter=1),
        At(start + timedelta(days=1)),
        After(3),
        Ticks(4, "c", repeat=True),
    ]


def finished(
    claim: Claim, outcome: Outcome = Outcome.SUCCESS, *, attempt: int | None = None
) -> Run:
    """The run a scheduler would release for ``claim`` (its attempt is the claim's)."""
    started = max(claim.run_at, claim.scheduled_at)
    return Run(
        job_id=claim.spec.id,
        scheduled_at=to_datetime(claim.scheduled_at),
        started_at=to_datetime(started),
        finished_at=to_datetime(started + 1),
        attempt=claim.attempt if attempt is None else attempt,
        outcome=outcome if claim.run else Outcome.MISSED,
        missed=claim.missed,
    )


class StoreConformance(TamperingTests):
    """Tests every store must pass; see the module docstring for how to use them."""

    #: Whether the store keeps its data across new store objects (restart, crash tests).
    persistent: ClassVar[bool] = False

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        """Override: return a function that builds a store object over the suite's data."""
        raise NotImplementedError("provide a make_store fixture")

    async def crash(self, store: Store) -> None:
        """Override: let go of ``store`` like a killed process, without releasing claims."""
        pytest.skip(f"{type(store).__name__} has no way to simulate a crash")

    async def opened(
        self, store: Store, node: str = "node-a", history_limit: int = 3
    ) -> list[float]:
        """Open ``store`` as ``node``; return the list its wake-up calls are recorded in."""
        wakeups: list[float] = []
        # The suite's jobs run conformance_job, as if the scheduler allowed this module.
        admission = Admission(allow=[__name__])
        await store.open(StoreContext(node, wakeups.append, history_limit, admission=admission))
        return wakeups

    @pytest.fixture
    async def store(self, make_store: Callable[[], Store]) -> Any:
        store = make_store()
        await self.opened(store)
        yield store
        await store.close()

    # -- jobs ----------------------------------------------------------------------------------

    async def test_added_job_is_returned_with_its_first_firing(self, store: Store) -> None:
        job = await store.add_job(spec(args=(1, "a")), now=T0, paused=False, replace=False)
        assert job.id == "job"
        assert job.next_run_at == to_datetime(T0)
        assert job.args == (1, "a") and dict(job.kwargs) == {"k": "v"}
        assert job.func is conformance_job
        got = await store.get_job("job")
        assert (got.trigger, got.options, got.paused) == (job.trigger, job.options, False)
        assert store.next_due() == T0

    async def test_taken_id_raises_job_exists_unless_replace(self, store: Store) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        with pytest.raises(JobExists):
            await store.add_job(spec(), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        await store.release([(claim, finished(claim))])
        job = await store.add_job(
            spec(trigger=Every(seconds=60)), now=T0 + 1, paused=False, replace=True
        )
        assert job.next_run_at == to_datetime(T0 + 61)
        assert len(job.history) == 1, "replacing a job keeps its history"

    async def test_unknown_ids_raise_job_not_found(self, store: Store) -> None:
        with pytest.raises(JobNotFound):
            await store.get_job("nope")
        with pytest.raises(JobNotFound):
            await store.remove_job("nope")
        with pytest.raises(JobNotFound):
            await store.set_paused("nope", True, now=T0)

    async def test_removed_job_is_gone_and_never_claimed(self, store: Store) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        removed = await store.remove_job("job")
        assert removed.id == "job"
        assert await store.list_jobs() == []
        assert await store.acquire_due(T0 + 100, 10) == []
        assert store.next_due() is None

    async def test_jobs_are_listed_by_next_run_then_id_with_none_last(self, store: Store) -> None:
        await store.add_job(spec("c", Every(seconds=5)), now=T0, paused=False, replace=False)
        await store.add_job(spec("b", Every(seconds=5)), now=T0, paused=False, replace=False)
        await store.add_job(spec("a", Every(seconds=9)), now=T0, paused=False, replace=False)
        await store.add_job(spec("p", Every(seconds=1)), now=T0, paused=True, replace=False)
        assert [j.id for j in await store.list_jobs()] == ["b", "c", "a", "p"]

    async def test_paused_job_is_never_claimed_and_resume_skips_the_pause(
        self, store: Store
    ) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        paused = await store.set_paused("job", True, now=T0)
        assert paused.paused and paused.next_run_at is None
        assert await store.acquire_due(T0 + 35, 10) == []
        assert store.next_due() is None
        resumed = await store.set_paused("job", False, now=T0 + 35)
        assert resumed.next_run_at == to_datetime(T0 + 40), "firings inside the pause skipped"

    # -- claims --------------------------------------------------------------------------------

    async def test_due_firing_is_claimed_once_and_the_next_time_advances(
        self, store: Store
    ) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        assert await store.acquire_due(T0 - 1, 10) == []
        [claim] = await store.acquire_due(T0, 10)
        assert (claim.scheduled_at, claim.run, claim.missed, claim.final) == (T0, True, 0, False)
        assert await store.acquire_due(T0, 10) == [], "the same firing is never handed twice"
        assert (await store.get_job("job")).next_run_at == to_datetime(T0 + 10)
        assert store.next_due() == T0 + 10

    async def test_claims_respect_the_limit_and_come_in_due_order(self, store: Store) -> None:
        for i, offset in enumerate((3, 1, 2)):
            trigger = At(to_datetime(T0 + offset))
            await store.add_job(spec(f"j{i}", trigger), now=T0, paused=False, replace=False)
        first = await store.acquire_due(T0 + 5, 2)
        assert [c.spec.id for c in first] == ["j1", "j2"]
        assert [c.spec.id for c in await store.acquire_due(T0 + 5, 2)] == ["j0"]

    async def test_release_records_history_bounded_by_the_limit(self, store: Store) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        for i in range(5):
            [claim] = await store.acquire_due(T0 + 10 * i, 10)
            outcome = Outcome.ERROR if i == 4 else Outcome.SUCCESS
            await store.release([(claim, finished(claim, outcome))])
        job = await store.get_job("job")
        assert [r.scheduled_at for r in job.history] == [
            to_datetime(T0 + 10 * i) for i in (2, 3, 4)
        ]
        assert job.last_run is not None and job.last_run.outcome is Outcome.ERROR

    async def test_final_firing_removes_the_job_once_released(self, store: Store) -> None:
        await store.add_job(
            spec(trigger=At(to_datetime(T0 + 5))), now=T0, paused=False, replace=False
        )
        [claim] = await store.acquire_due(T0 + 5, 10)
        assert claim.final
        assert (await store.get_job("job")).next_run_at is None, "kept until released"
        await store.release([(claim, finished(claim))])
        with pytest.raises(JobNotFound):
            await store.get_job("job")

    async def test_final_claim_of_a_replaced_job_leaves_the_new_job(self, store: Store) -> None:
        await store.add_job(spec(trigger=At(to_datetime(T0))), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        await store.add_job(spec(), now=T0 + 1, paused=False, replace=True)
        await store.release([(claim, finished(claim))])
        assert (await store.get_job("job")).next_run_at == to_datetime(T0 + 10)

    async def test_release_after_remove_is_harmless(self, store: Store) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        await store.remove_job("job")
        await store.release([(claim, finished(claim))])
        assert await store.list_jobs() == []

    async def test_firing_later_than_its_grace_is_reported_missed(self, store: Store) -> None:
        await store.add_job(
            spec(misfire_grace=5, coalesce=True), now=T0, paused=False, replace=False
        )
        [claim] = await store.acquire_due(T0 + 36, 10)
        assert (claim.run, claim.missed, claim.scheduled_at) == (False, 4, T0 + 30)
        assert (await store.get_job("job")).next_run_at == to_datetime(T0 + 40)

    async def test_coalescing_folds_the_backlog_into_one_run(self, store: Store) -> None:
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0 + 35, 10)
        assert (claim.run, claim.missed, claim.scheduled_at) == (True, 3, T0 + 30)

    async def test_without_coalescing_each_backlog_firing_is_claimed(self, store: Store) -> None:
        await store.add_job(spec(coalesce=False), now=T0, paused=False, replace=False)
        claims = await store.acquire_due(T0 + 35, 10)
        assert [(c.scheduled_at, c.run) for c in claims] == [(T0 + 10 * i, True) for i in range(4)]
        assert store.next_due() == T0 + 40

    async def test_new_earlier_job_wakes_the_dispatcher(
        self, make_store: Callable[[], Store]
    ) -> None:
        store = make_store()
        wakeups = await self.opened(store)
        try:
            await store.add_job(
                spec("late", At(to_datetime(T0 + 100))), now=T0, paused=False, replace=False
            )
            await store.add_job(
                spec("soon", At(to_datetime(T0 + 5))), now=T0, paused=False, replace=False
            )
            assert T0 + 5 in wakeups
            assert store.next_due() == T0 + 5
        finally:
            await store.close()

    # -- update_job (Scheduler.modify / reschedule) --------------------------------------------

    async def test_update_keeps_the_next_time_paused_state_and_history(self, store: Store) -> None:
        await store.add_job(spec(args=(1,)), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        await store.release([(claim, finished(claim))])
        job = await store.update_job(
            "job", lambda s: replace(s, args=(2,)), now=T0 + 3, reschedule=False
        )
        assert job.args == (2,)
        assert job.next_run_at == to_datetime(T0 + 10)
        assert [r.scheduled_at for r in job.history] == [to_datetime(T0)]
        got = await store.get_job("job")
        assert (got.args, got.next_run_at, got.paused) == ((2,), to_datetime(T0 + 10), False)
        [claim] = await store.acquire_due(T0 + 10, 10)
        assert claim.spec.args == (2,)

    async def test_update_with_reschedule_starts_the_new_trigger_from_now(
        self, store: Store
    ) -> None:
        await store.add_job(spec(), now=T0, paused=True, replace=False)
        job = await store.update_job(
            "job",
            lambda s: replace(s, trigger=Every(seconds=60)),
            now=T0 + 5,
            reschedule=True,
        )
        assert job.trigger == Every(seconds=60) and job.paused
        await store.set_paused("job", False, now=T0 + 5)
        assert (await store.get_job("job")).next_run_at == to_datetime(T0 + 65)
        assert store.next_due() == T0 + 65

    async def test_a_failing_update_changes_nothing(self, store: Store) -> None:
        await store.add_job(spec(args=(1,)), now=T0, paused=False, replace=False)

        def refuse(s: JobSpec) -> JobSpec:
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            await store.update_job("job", refuse, now=T0, reschedule=True)
        job = await store.get_job("job")
        assert (job.args, job.next_run_at) == ((1,), to_datetime(T0))
        with pytest.raises(JobNotFound):
            await store.update_job("nope", lambda s: s, now=T0, reschedule=False)

    async def test_a_claim_of_the_old_definition_never_removes_the_updated_job(
        self, store: Store
    ) -> None:
        await store.add_job(spec(trigger=At(to_datetime(T0))), now=T0, paused=False, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        assert claim.final
        await store.update_job(
            "job", lambda s: replace(s, trigger=Every(seconds=10)), now=T0, reschedule=True
        )
        await store.release([(claim, finished(claim))])
        job = await store.get_job("job")
        assert job.next_run_at == to_datetime(T0 + 10)
        assert [r.scheduled_at for r in job.history] == [to_datetime(T0)]

    async def test_an_update_survives_a_restart(self, make_store: Callable[[], Store]) -> None:
        store = make_store()
        await self.opened(store)
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        await store.update_job("job", lambda s: replace(s, args=("new",)), now=T0, reschedule=False)
        await store.close()
        again = make_store() if self.persistent else store
        await self.opened(again, node="node-b")
        try:
            job = await again.get_job("job")
            assert (job.args, job.next_run_at) == (("new",), to_datetime(T0))
        finally:
            await again.close()

    # -- restart and crash ---------------------------------------------------------------------

    async def test_restart_keeps_jobs_paused_state_next_time_and_history(
        self, make_store: Callable[[], Store]
    ) -> None:
        store = make_store()
        await self.opened(store)
        await store.add_job(spec("a", args=(1,)), now=T0, paused=False, replace=False)
        await store.add_job(spec("b"), now=T0, paused=True, replace=False)
        [claim] = await store.acquire_due(T0, 10)
        await store.release([(claim, finished(claim))])
        before = await store.list_jobs()
        await store.close()
        again = make_store() if self.persistent else store
        await self.opened(again, node="node-b")
        try:
            after = await again.list_jobs()
            assert [(j.id, j.paused, j.next_run_at, j.args) for j in after] == [
                (j.id, j.paused, j.next_run_at, j.args) for j in before
            ]
            assert [r.outcome for r in after[0].history] == [Outcome.SUCCESS]
            assert again.next_due() == T0 + 10
            [claim] = await again.acquire_due(T0 + 10, 10)
            assert claim.scheduled_at == T0 + 10
        finally:
            await again.close()

    async def test_every_trigger_kind_comes_back_equal_after_a_restart(
        self, make_store: Callable[[], Store]
    ) -> None:
        triggers = stored_triggers()
        store = make_store()
        await self.opened(store)
        for i, trigger in enumerate(triggers):
            await store.add_job(spec(f"t{i}", trigger), now=T0, paused=False, replace=False)
        await store.close()
        again = make_store() if self.persistent else store
        await self.opened(again, node="node-b")
        try:
            for i, trigger in enumerate(triggers):
                got = (await again.get_job(f"t{i}")).trigger
                assert got == trigger, trigger.kind
                assert got.to_dict() == trigger.to_dict(), trigger.kind
        finally:
            await again.close()

    async def test_claim_of_a_dead_node_is_claimed_again_after_its_lease(
        self, make_store: Callable[[], Store]
    ) -> None:
        store = make_store()
        await self.opened(store, node="dead")
        await store.add_job(spec(), now=T0, paused=False, replace=False)
        assert len(await store.acquire_due(T0, 10)) == 1
        await self.crash(store)
        heir = make_store()
        await self.opened(heir, node="heir")
        try:
            late = T0 + timedelta(hours=1).total_seconds()
            claims: list[Claim] = []
            for _ in range(3):  # a store may hand out healthy firings before recovered ones
                claims += await heir.acquire_due(late, 10)
            recovered = [c for c in claims if c.scheduled_at == T0]
            assert len(recovered) == 1 and recovered[0].run, "the unfinished firing runs again"
            assert recovered[0].attempt == 2, "the interrupted run counts as an attempt"
            await heir.release([(c, finished(c)) for c in claims])
            history = (await heir.get_job("job")).history
            assert [
                (r.scheduled_at, r.attempt) for r in history if r.scheduled_at == to_datetime(T0)
            ] == [(to_datetime(T0), 2)]
        finally:
            await heir.close()


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
                admission=Admission(allow=[__name__]),
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
