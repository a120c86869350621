"""The store conformance suite's tests every store passes (see
:mod:`aioscheduler.testing.conformance` for how to use them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from .._clock import to_datetime
from .._values import JobSpec, Outcome
from ..errors import JobExists, JobNotFound
from ..stores import Claim, Store, StoreContext
from ..triggers import At, Every
from ._conformance_base import (
    T0,
    admission,
    conformance_job,
    finished,
    spec,
    stored_triggers,
)
from .tampering import TamperingTests

__all__ = ("StoreConformance",)


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
        context = StoreContext(node, wakeups.append, history_limit, admission=admission())
        await store.open(context)
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
        await store.remove_job("job")
        with pytest.raises(JobNotFound):
            await store.get_job("job")
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

    async def test_listing_without_history_leaves_the_runs_out(self, store: Store) -> None:
        await store.add_job(spec("a"), now=T0, paused=False, replace=False)
        await store.add_job(spec("b"), now=T0, paused=True, replace=False)
        [claim] = await store.acquire_due(T0 + 10, 10)
        await store.release([(claim, finished(claim, Outcome.SUCCESS))])
        full = await store.list_jobs()
        bare = await store.list_jobs(history=False)
        assert [(j.id, j.paused, j.next_run_at) for j in bare] == [
            (j.id, j.paused, j.next_run_at) for j in full
        ]
        assert [len(j.history) for j in full] == [1, 0]
        assert [(j.history, j.last_run) for j in bare] == [((), None), ((), None)]
        assert len((await store.get_job("a")).history) == 1, "one job's history on request"

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
