"""The memory store's one-firing claim path (issue 11) decides exactly as ``plan()`` does.

``acquire_due`` builds the common claim (one firing due, the next one not yet) without
``plan()``'s ``Plan`` and the named tuple's ``__new__``; these tests hold it to the general rule.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from aioscheduler import At, Every, Run
from aioscheduler._values import JobOptions, JobSpec
from aioscheduler.stores._base import Claim
from aioscheduler.stores._planning import jitter_offset, plan
from aioscheduler.stores.memory import CLAIM_DEFAULTS, MemoryStore
from aioscheduler.triggers import Trigger

from ..conftest import START

T0 = START.timestamp()


async def job() -> None:
    return None


def test_the_defaults_written_out_are_claims_defaults() -> None:
    tail = Claim._fields[6:]
    assert tail == ("claimed", "attempt", "backfill", "owner", "running", "lost")
    assert tuple(Claim._field_defaults[name] for name in tail) == CLAIM_DEFAULTS


CASES = [
    ("every", Every(10), None, 5.0),
    ("every, late within grace", Every(10), 30.0, 15.0),
    ("every, late past grace", Every(10), 3.0, 15.0),
    ("every, jitter", Every(10, jitter=4), None, 14.5),
    ("every, jitter, late past grace", Every(10, jitter=4), 0.5, 16.0),
    ("at", At(START + timedelta(seconds=10)), None, 10.0),
    ("at, late past grace", At(START + timedelta(seconds=10)), 1.0, 19.0),
]


@pytest.mark.parametrize(
    ("trigger", "grace", "late"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_a_claim_is_what_plan_decides(
    trigger: Trigger, grace: float | None, late: float
) -> None:
    spec = JobSpec("j", job, trigger, options=JobOptions(misfire_grace=grace, executor="async"))
    store = MemoryStore()
    await store.add_job(spec, now=T0, paused=False, replace=False)
    due = store.next_due()
    assert due is not None
    first = trigger.first_fire(START)
    assert first is not None
    nom = first.timestamp()
    assert due == nom + jitter_offset("j", nom, trigger.jitter)
    now = nom + late
    [claim] = await store.acquire_due(now, 10)
    p = plan(trigger, nom, now, grace, True, due - nom)
    expected = Claim(spec, p.scheduled_at, due, p.missed, p.run, p.next_nominal is None)
    assert type(claim) is Claim
    assert claim == expected
    nxt = p.next_nominal
    assert store.next_due() == (
        None if nxt is None else nxt + jitter_offset("j", nxt, trigger.jitter)
    )


async def test_a_paused_job_claimed_before_the_pause_is_not_put_back_in_the_heap() -> None:
    spec = JobSpec("j", job, Every(10), options=JobOptions(executor="async"))
    store = MemoryStore()
    await store.add_job(spec, now=T0, paused=False, replace=False)
    [claim] = await store.acquire_due(T0 + 10, 10)
    await store.set_paused("j", True, now=T0 + 11)
    assert store.next_due() is None
    await store.release([(claim, Run("j", START + timedelta(seconds=10)))])
    assert await store.acquire_due(T0 + 100, 10) == []
    assert len((await store.get_job("j")).history) == 1


BACKLOG_CASES = [
    ("every, no grace", Every(10), None, False, 95.0),
    ("every, grace: the oldest missed", Every(10), 42.0, False, 95.0),
    ("every, jitter", Every(10, jitter=4), None, False, 95.0),
    ("every, jitter, grace", Every(10, jitter=4), 33.0, False, 97.0),
    ("every, coalesce", Every(10), None, True, 95.0),
    ("every, coalesce past grace", Every(10), 1.0, True, 95.5),
    ("every, more than one acquire takes", Every(1), None, False, 250.0),
    (
        "every, ends",
        Every(10, end_at=START + timedelta(seconds=45)),
        None,
        False,
        95.0,
    ),
]


def planned_backlog(spec: JobSpec, nominal: float, now: float) -> list[Claim]:
    """The claims of a late job as the loop over ``plan()`` (before issue 11) made them."""
    from aioscheduler.stores._planning import MAX_BACKLOG_PER_ACQUIRE

    trigger, options = spec.trigger, spec.options
    run_at = nominal + jitter_offset("j", nominal, trigger.jitter)
    claims: list[Claim] = []
    nom: float | None = nominal
    for _ in range(MAX_BACKLOG_PER_ACQUIRE):
        assert nom is not None
        p = plan(trigger, nom, now, options.misfire_grace, options.coalesce, run_at - nom)
        nom = p.next_nominal
        claims.append(Claim(spec, p.scheduled_at, run_at, p.missed, p.run, nom is None))
        if nom is None:
            break
        run_at = nom + jitter_offset("j", nom, trigger.jitter)
        if run_at > now:
            break
    return claims


@pytest.mark.parametrize(
    ("trigger", "grace", "coalesce", "late"),
    [c[1:] for c in BACKLOG_CASES],
    ids=[c[0] for c in BACKLOG_CASES],
)
async def test_the_claims_of_a_late_job_are_what_plan_decides(
    trigger: Trigger, grace: float | None, coalesce: bool, late: float
) -> None:
    spec = JobSpec(
        "j",
        job,
        trigger,
        options=JobOptions(misfire_grace=grace, coalesce=coalesce, executor="async"),
    )
    store = MemoryStore()
    await store.add_job(spec, now=T0, paused=False, replace=False)
    first = trigger.first_fire(START)
    assert first is not None
    now = first.timestamp() + late
    expected = planned_backlog(spec, first.timestamp(), now)
    claims = await store.acquire_due(now, 10)
    assert claims == expected
    assert all(type(c) is Claim for c in claims)
    # what one acquire left due comes next, in order: nothing lost, nothing twice
    while (due := store.next_due()) is not None and due <= now:
        more = await store.acquire_due(now, 10)
        assert more
        assert more[0].scheduled_at > claims[-1].scheduled_at
        claims += more
    ran = [c.scheduled_at for c in claims if c.run]
    assert ran == sorted(set(ran))
    if not coalesce and grace is None:  # every firing up to now, each claimed once
        every: list[float] = []
        t: float | None = first.timestamp()
        while t is not None and t <= now:
            every.append(t)
            t = trigger.next_after_ts(t)
        assert [c.scheduled_at for c in claims] == every
