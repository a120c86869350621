"""Tampering with the schedule state of a persistent store that seals it (issue 10, item 5).

Someone who can write the database but has no ``secret_key`` pauses or unpauses a job, makes a
daily job due now, forges claimed firings so they run at the next start, puts back an older
copy of a job's row, or copies a row in from another database sealed with the same key. A store
that seals its schedule state (``seals_state`` true: SQLite with a key) must refuse each of
them, report that one job broken and keep the others. A store that seals definitions only
(PostgreSQL, Redis: their server advances next times and claims, and has no key) skips these
tests, saying so.

:class:`~aioscheduler.testing.tampering.TamperingTests` (and so the conformance suite) inherits
these tests; a store's test class enables them by overriding the raw-write hooks below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from .._admission import Admission
from .._clock import to_datetime
from .._values import JobSpec, Run
from ..stores import Store, StoreContext
from ..triggers import Every

__all__ = ("SealedStateTests", "suite_admission", "suite_jobs")

#: The instant the suite's jobs start at (the conformance suite's ``T0``).
_T0 = 1_772_452_800.0


class SealedStateTests:
    """Attacks on sealed schedule state (see the module docstring)."""

    persistent: ClassVar[bool] = False

    # -- hooks -------------------------------------------------------------------------------

    async def job_row(self, store: Store, job_id: str) -> Any:
        """Override: with ``store`` closed, read the stored row(s) of ``job_id`` as they are
        (definition and state), to be put back later by :meth:`put_job_row`."""
        pytest.skip(f"{type(store).__name__} tests give no job_row hook")

    async def put_job_row(self, store: Store, job_id: str, row: Any) -> None:
        """Override: with ``store`` closed, write ``row`` (from :meth:`job_row`, of this store
        or of another one) raw as the stored row of ``job_id``."""
        pytest.skip(f"{type(store).__name__} tests give no put_job_row hook")

    async def edit_state(
        self, store: Store, job_id: str, *, paused: bool | None = None, due: float | None = None
    ) -> None:
        """Override: with ``store`` closed, set the stored paused flag and/or next due time of
        ``job_id`` raw, leaving its seal as it is."""
        pytest.skip(f"{type(store).__name__} tests give no edit_state hook")

    async def forge_firing(self, store: Store, job_id: str, slot: float) -> None:
        """Override: with ``store`` closed, add a claimed-and-unfinished firing of ``job_id``
        at ``slot`` raw, as if a scheduler had claimed it and died."""
        pytest.skip(f"{type(store).__name__} tests give no forge_firing hook")

    async def other_store(self, store: Store) -> Store:
        """Override: a store with the same options (and key) over *other* data (another
        file or namespace), for rows copied from one database to another."""
        pytest.skip(f"{type(store).__name__} tests give no other_store hook")

    # -- helpers -----------------------------------------------------------------------------

    async def _reopen(
        self, store: Store, admission: Admission, broken: list[tuple[str, str]]
    ) -> None:
        def on_broken(job_id: str, reason: str) -> None:
            broken.append((job_id, reason))

        await store.open(
            StoreContext("node-t", lambda due: None, 10, on_broken, admission=admission)
        )

    async def _two_jobs(self, make_store: Callable[[], Store]) -> Store:
        spec = suite_jobs()[0]
        if not self.persistent:
            pytest.skip("only persistent stores keep rows that can be tampered with")
        store = make_store()
        await store.open(StoreContext("node-w", lambda due: None, 10, admission=suite_admission()))
        await store.add_job(spec("good"), now=_T0, paused=False, replace=False)
        await store.add_job(spec("victim"), now=_T0, paused=False, replace=False)
        await store.close()
        return store

    async def _sealed(self, make_store: Callable[[], Store]) -> Store:
        store = await self._two_jobs(make_store)
        _require_sealed_state(store)
        return store

    async def _reopened(self, make_store: Callable[[], Store]) -> tuple[Store, list[str]]:
        broken: list[tuple[str, str]] = []
        again = make_store()
        await self._reopen(again, suite_admission(), broken)
        return again, [job_id for job_id, _ in broken]

    async def _only_good_is_claimed(self, store: Store, broken: list[str]) -> None:
        assert broken == ["victim"], broken
        assert [j.id for j in await store.list_jobs()] == ["good"]
        claims = await store.acquire_due(_T0 + 86400 * 3, 100)
        assert {c.spec.id for c in claims} == {"good"}

    # -- tests -------------------------------------------------------------------------------

    async def test_a_replayed_older_row_of_a_job_is_refused(
        self, make_store: Callable[[], Store]
    ) -> None:
        """The row as it was before an update, put back: a valid old seal, an old version."""
        spec = suite_jobs()[0]
        store = await self._sealed(make_store)
        before = await self.job_row(store, "victim")
        await _while_open(
            store,
            lambda s: s.update_job(
                "victim", lambda old: spec("victim", args=("new",)), now=_T0, reschedule=False
            ),
        )
        await self.put_job_row(store, "victim", before)
        again, broken = await self._reopened(make_store)
        try:
            await self._only_good_is_claimed(again, broken)
        finally:
            await again.close()

    async def test_a_paused_job_unpaused_without_the_key_is_refused(
        self, make_store: Callable[[], Store]
    ) -> None:
        store = await self._sealed(make_store)
        await _while_open(store, lambda s: s.set_paused("victim", True, now=_T0))
        await self.edit_state(store, "victim", paused=False)
        again, broken = await self._reopened(make_store)
        try:
            await self._only_good_is_claimed(again, broken)
        finally:
            await again.close()

    async def test_a_running_job_paused_without_the_key_is_refused(
        self, make_store: Callable[[], Store]
    ) -> None:
        store = await self._sealed(make_store)
        await self.edit_state(store, "victim", paused=True)
        again, broken = await self._reopened(make_store)
        try:
            await self._only_good_is_claimed(again, broken)
        finally:
            await again.close()

    async def test_a_next_time_moved_without_the_key_is_refused(
        self, make_store: Callable[[], Store]
    ) -> None:
        """A daily job made due now: the state edit is refused, not run."""
        spec = suite_jobs()[0]
        store = await self._sealed(make_store)
        daily = spec("victim", Every(days=1, start_at=to_datetime(_T0 + 86400)))
        await _while_open(store, lambda s: s.add_job(daily, now=_T0, paused=False, replace=True))
        await self.edit_state(store, "victim", due=_T0)
        again, broken = await self._reopened(make_store)
        try:
            assert broken == ["victim"], broken
            claims = await again.acquire_due(_T0, 100)
            assert {c.spec.id for c in claims} == {"good"}
        finally:
            await again.close()

    async def test_forged_firings_are_refused(self, make_store: Callable[[], Store]) -> None:
        """Claimed-and-unfinished firings written without the key would be run again at open."""
        store = await self._sealed(make_store)
        for i in range(5):
            await self.forge_firing(store, "victim", _T0 - 1000 - i)
        again, broken = await self._reopened(make_store)
        try:
            assert broken == ["victim"], broken
            for now in (_T0 - 1, _T0):
                claims = await again.acquire_due(now, 100)
                assert "victim" not in {c.spec.id for c in claims}
        finally:
            await again.close()

    async def test_a_row_copied_from_another_store_with_the_same_key_is_refused(
        self, make_store: Callable[[], Store]
    ) -> None:
        spec = suite_jobs()[0]
        store = await self._sealed(make_store)
        other = await self.other_store(store)
        await _while_open(
            other,
            lambda s: s.add_job(
                spec("victim", args=("elsewhere",)), now=_T0, paused=False, replace=False
            ),
        )
        await self.put_job_row(store, "victim", await self.job_row(other, "victim"))
        again, broken = await self._reopened(make_store)
        try:
            await self._only_good_is_claimed(again, broken)
        finally:
            await again.close()

    async def test_untampered_sealed_state_survives_claims_releases_and_reopening(
        self, make_store: Callable[[], Store]
    ) -> None:
        """The control for the tests above: what the store itself wrote always verifies."""
        finished = suite_jobs()[1]
        await self._sealed(make_store)
        for now in (_T0, _T0 + 10):
            again, broken = await self._reopened(make_store)
            try:
                assert broken == []
                claims = await again.acquire_due(now, 100)
                assert {c.spec.id for c in claims} == {"good", "victim"}
                await again.release([(c, finished(c)) for c in claims if c.spec.id == "good"])
                await again.set_paused("good", True, now=now)
                await again.set_paused("good", False, now=now)
            finally:
                await again.close()  # victim's claim stays in the store, unfinished
        again, broken = await self._reopened(make_store)
        try:
            assert broken == []
        finally:
            await again.close()


def _require_sealed_state(store: Store) -> None:
    """Skip, saying why, unless ``store`` seals its schedule state (``seals_state``)."""
    if getattr(store, "seals_state", False):
        return
    name = type(store).__name__
    if not store.signs_payloads:
        pytest.skip(f"{name} has no secret_key: nothing is sealed")
    pytest.skip(
        f"{name} seals job definitions only: its schedule state and claims are advanced by "
        "the database server (SQL / Lua), which does not hold the key, so they cannot be "
        "sealed (docs/persistence.md, 'What a key protects')"
    )


def suite_jobs() -> tuple[Callable[..., JobSpec], Callable[..., Run], Callable[..., Any]]:
    """``spec``, ``finished`` and ``conformance_job`` of the conformance suite (imported here
    only, when a test runs: the suite's modules import this one)."""
    from ._conformance_base import conformance_job, finished, spec

    return spec, finished, conformance_job


def suite_admission() -> Admission:
    """What the scheduler of the suite's jobs would admit: the conformance module."""
    return Admission(allow=["aioscheduler.testing.conformance"])


async def _while_open(store: Store, edit: Callable[[Store], Awaitable[Any]]) -> None:
    """Open ``store`` (as the suite's scheduler would), apply ``edit``, close it."""
    await store.open(StoreContext("node-w", lambda due: None, 10, admission=suite_admission()))
    try:
        await edit(store)
    finally:
        await store.close()
