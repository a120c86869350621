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

from . import _conformance_base
from ._conformance_base import conformance_job, finished, spec, stored_triggers
from ._conformance_shared import SharedStoreConformance
from ._conformance_store import StoreConformance

#: The instant every test starts at: 2026-03-02 12:00:00 UTC, as a POSIX timestamp.
T0 = _conformance_base.T0

__all__ = (
    "T0",
    "SharedStoreConformance",
    "StoreConformance",
    "conformance_job",
    "finished",
    "spec",
    "stored_triggers",
)
