"""Tampering tests every persistent store must pass: stored data never chooses the code that runs.

Someone who can write a store's database but has no ``secret_key`` rewrites a job's row: its
callable, its arguments (enum classes), its ``retry_on`` classes, its trigger, or a run record.
Each forged name points into a *sentinel* module written for the test, which would record its
own import. The suite asserts that nothing of it is imported, that the job is reported broken
(``on_broken``) and left out, and that the other jobs still load and are claimed.

:class:`~aioscheduler.testing.conformance.StoreConformance` includes these tests. A persistent
store's test class enables them by overriding two hooks that write raw bytes the way such an
attacker would (the default skips)::

    class TestSQLiteStore(StoreConformance):
        persistent = True
        ...

        async def overwrite_job(self, store, job_id, payload):
            raw_sql("UPDATE jobs SET payload = ? WHERE id = ?", payload, job_id)

        async def append_run(self, store, job_id, record):
            raw_sql("INSERT INTO runs (job_id, finished_at, record) VALUES (?, 0, ?)", ...)
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._admission import Admission
from .._clock import to_datetime
from .._crypto import PayloadCodec
from .._values import Outcome, Run
from ..stores import Store
from ..stores._codec import encode_run, encode_spec
from ._sealed_state import SealedStateTests, suite_admission, suite_jobs

__all__ = ("Sentinel", "TamperingTests", "forged_payload", "make_sentinel")

#: The instant the suite's jobs start at (the conformance suite's ``T0``).
_T0 = 1_772_452_800.0

_SENTINEL_SOURCE = '''\
"""Written by a test: records its import and its calls in files beside it."""
import enum
import pathlib

_HERE = pathlib.Path(__file__).parent
(_HERE / "IMPORTED-{name}").write_text("imported")


def boom(*args, **kwargs):
    (_HERE / "RAN-{name}").write_text(repr((args, kwargs)))


class Color(enum.Enum):
    RED = 1


class Oops(Exception):
    pass
'''


class Sentinel:
    """A module a forged row names; it leaves a file behind if it is ever imported or called."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name

    @property
    def imported(self) -> bool:
        """Whether the module was imported (in this process or in any other)."""
        return self.name in sys.modules or (self.directory / f"IMPORTED-{self.name}").exists()

    @property
    def ran(self) -> bool:
        """Whether ``boom`` was called."""
        return (self.directory / f"RAN-{self.name}").exists()


def make_sentinel(directory: Path) -> Sentinel:
    """Write a fresh sentinel module (unique name) into ``directory``, which must be on
    ``sys.path`` for an import to find it: nothing here imports it."""
    name = f"aiosched_sentinel_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(_SENTINEL_SOURCE.format(name=name))
    return Sentinel(directory, name)


def forged_payload(job_id: str, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """A job row as an attacker without the key writes it: a genuine document of the suite,
    edited, in a plain envelope (a signature cannot be forged)."""
    spec = suite_jobs()[0]  # the suite's job definitions
    document = json.loads(encode_spec(spec(job_id)))
    edit(document)
    return PayloadCodec().seal(json.dumps(document).encode())


def _edits(sentinel: str) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Each way a row can name code, pointed at the sentinel module."""

    def callable_(d: dict[str, Any]) -> None:
        d["func"] = f"{sentinel}:boom"

    def os_system(d: dict[str, Any]) -> None:
        d["func"], d["args"] = "os:system", ["echo pwned > /dev/null"]

    def exec_(d: dict[str, Any]) -> None:
        d["func"], d["args"] = "builtins:exec", ["import os"]

    def enum_argument(d: dict[str, Any]) -> None:
        d["kwargs"] = {"color": {"__aiosched__": "enum", "v": [f"{sentinel}:Color", "RED"]}}

    def nested_enum(d: dict[str, Any]) -> None:
        tagged = {"__aiosched__": "enum", "v": [f"{sentinel}:Color", "RED"]}
        d["args"] = [{"__aiosched__": "tuple", "v": [[1, {"deep": tagged}]]}]

    def retry_on(d: dict[str, Any]) -> None:
        d["options"]["retry_on"] = ["builtins:Exception", f"{sentinel}:Oops"]

    def trigger_kind(d: dict[str, Any]) -> None:
        d["trigger"] = {"kind": f"{sentinel}:Color", "version": 1}

    def trigger_zone(d: dict[str, Any]) -> None:
        d["trigger"] = {"kind": "cron", "version": 1, "expression": "* * * * *",
                        "timezone": "../../../../etc/passwd"}  # fmt: skip

    return {
        "callable": callable_,
        "os.system": os_system,
        "builtins.exec": exec_,
        "enum argument": enum_argument,
        "nested enum": nested_enum,
        "retry_on class": retry_on,
        "trigger kind": trigger_kind,
        "trigger zone": trigger_zone,
    }


EDITS = tuple(_edits("x"))


class TamperingTests(SealedStateTests):
    """Tampered rows of a persistent store (see the module docstring)."""

    persistent: ClassVar[bool] = False

    # -- hooks -------------------------------------------------------------------------------

    async def overwrite_job(self, store: Store, job_id: str, payload: bytes) -> None:
        """Override: with ``store`` closed, replace the stored definition of ``job_id`` by
        ``payload``, raw, as someone with write access to the database (not the key) would."""
        pytest.skip(f"{type(store).__name__} tests give no overwrite_job hook")

    async def append_run(self, store: Store, job_id: str, record: bytes) -> None:
        """Override: with ``store`` closed, add ``record`` raw to the run history of
        ``job_id`` (newest), as an attacker with write access would."""
        pytest.skip(f"{type(store).__name__} tests give no append_run hook")

    # -- helpers -----------------------------------------------------------------------------

    @pytest.fixture
    def sentinel(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sentinel]:
        directory = tmp_path / "sentinel"
        directory.mkdir()
        monkeypatch.syspath_prepend(str(directory))
        made = make_sentinel(directory)
        yield made
        sys.modules.pop(made.name, None)

    # -- tests -------------------------------------------------------------------------------

    @pytest.mark.parametrize("edit", EDITS)
    async def test_a_forged_row_is_refused_before_import_and_the_others_load(
        self, make_store: Callable[[], Store], sentinel: Sentinel, edit: str
    ) -> None:
        store = await self._two_jobs(make_store)
        forged = forged_payload("victim", _edits(sentinel.name)[edit])
        await self.overwrite_job(store, "victim", forged)
        broken: list[tuple[str, str]] = []
        again = make_store()
        await self._reopen(again, suite_admission(), broken)
        try:
            assert [job_id for job_id, _ in broken] == ["victim"], broken
            assert not sentinel.imported, f"{sentinel.name} was imported"
            assert [j.id for j in await again.list_jobs()] == ["good"]
            claims = await again.acquire_due(_T0 + 3600, 100)
            assert {c.spec.id for c in claims} == {"good"}
        finally:
            await again.close()
        assert not sentinel.imported and not sentinel.ran

    async def test_the_same_forged_row_loads_only_where_its_module_is_allowed(
        self, make_store: Callable[[], Store], sentinel: Sentinel
    ) -> None:
        """The control: the refusal above comes from the policy, not from a broken row."""
        store = await self._two_jobs(make_store)
        forged = forged_payload("victim", _edits(sentinel.name)["callable"])
        await self.overwrite_job(store, "victim", forged)
        broken: list[tuple[str, str]] = []
        again = make_store()
        allowed = Admission(allow=["aioscheduler.testing", sentinel.name])
        await self._reopen(again, allowed, broken)
        try:
            if again.signs_payloads:  # with a key, an unsigned row is refused whatever allow says
                assert [job_id for job_id, _ in broken] == ["victim"]
                assert not sentinel.imported
            else:
                assert broken == []
                assert sentinel.imported, "an allowed module is imported"
                victim = await again.get_job("victim")
                assert victim.func.__module__ == sentinel.name
        finally:
            await again.close()
        assert not sentinel.ran

    async def test_rows_written_by_this_store_load_only_if_signed_or_admitted(
        self, make_store: Callable[[], Store]
    ) -> None:
        """Untampered rows, read with nothing registered: a signed store trusts its own key,
        an unsigned one refuses them (nothing vouches for their names)."""
        store = await self._two_jobs(make_store)
        broken: list[tuple[str, str]] = []
        again = make_store()
        await self._reopen(again, Admission(), broken)
        try:
            ids = [j.id for j in await again.list_jobs()]
            if store.signs_payloads:
                assert ids == ["good", "victim"] and broken == []
            else:
                assert ids == [] and sorted(i for i, _ in broken) == ["good", "victim"]
                assert all("RefusedReference" in reason for _, reason in broken)
        finally:
            await again.close()

    async def test_a_refused_row_loads_once_its_function_is_registered(
        self, make_store: Callable[[], Store]
    ) -> None:
        """``add()`` of a function after the store opened admits its other stored jobs: the
        store tries refused rows again when ``Admission.generation`` changes."""
        spec, _, conformance_job = suite_jobs()
        store = await self._two_jobs(make_store)
        if store.signs_payloads:
            pytest.skip("signed rows are admitted by their signature")
        broken: list[tuple[str, str]] = []
        again = make_store()
        admission = Admission()
        await self._reopen(again, admission, broken)
        try:
            assert sorted(i for i, _ in broken) == ["good", "victim"]
            admission.register_callable(conformance_job)  # what Scheduler.add() does first
            await again.add_job(spec("third"), now=_T0, paused=False, replace=False)
            assert (await again.get_job("good")).next_run_at == to_datetime(_T0)
            assert [j.id for j in await again.list_jobs()] == ["good", "third", "victim"]
            claims = await again.acquire_due(_T0, 100)
            assert {c.spec.id for c in claims} == {"good", "third", "victim"}
        finally:
            await again.close()

    async def test_a_forged_run_record_imports_nothing_and_keeps_the_job(
        self, make_store: Callable[[], Store], sentinel: Sentinel
    ) -> None:
        store = await self._two_jobs(make_store)
        run = Run(
            "good",
            to_datetime(_T0),
            to_datetime(_T0),
            to_datetime(_T0 + 1),
            outcome=Outcome.SUCCESS,
        )
        document = json.loads(encode_run(run, 1))
        document["res"] = {"__aiosched__": "enum", "v": [f"{sentinel.name}:Color", "RED"]}
        await self.append_run(store, "good", PayloadCodec().seal(json.dumps(document).encode()))
        broken: list[tuple[str, str]] = []
        again = make_store()
        await self._reopen(again, suite_admission(), broken)
        try:
            job = await again.get_job("good")
            assert broken == []
            if again.signs_payloads:
                assert job.history == (), "an unsigned record is not shown"
            else:
                [shown] = job.history
                assert isinstance(shown.result, str) and shown.result.startswith("<refused")
        finally:
            await again.close()
        assert not sentinel.imported
