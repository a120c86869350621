"""Issue 9 §1 on a real SQLite file: stored data never chooses the code that runs.

An application module written to disk declares its jobs with decorators; a first scheduler
stores them, someone with write access to the file (no key) rewrites rows, and a restarted
scheduler must refuse each forged name before importing it, report the job broken (event, log
line, ``aioscheduler jobs``) and keep running everything else.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aioscheduler import Every, Outcome, Scheduler
from aioscheduler.cli.jobs import list_jobs
from aioscheduler.errors import JobExists, SerializationError
from aioscheduler.events import JobBroken, RunFinished
from aioscheduler.stores.sqlite import SQLiteStore
from aioscheduler.testing import FakeClock
from aioscheduler.testing.tampering import Sentinel, make_sentinel

KEY = "a-long-enough-secret-key-0123456789"

APP = '''\
"""An application module: jobs declared with decorators, the way a user writes them."""
import enum
import sys

import aioscheduler
from aioscheduler import Scheduler
from aioscheduler.stores.sqlite import SQLiteStore

CALLS = []


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Flaky(Exception):
    pass


@aioscheduler.every(seconds=5, id="heartbeat")
async def heartbeat() -> None:
    CALLS.append("heartbeat")


@aioscheduler.every(seconds=5, id="leveled", kwargs={"level": Level.HIGH}, retry_on=Flaky,
                    retries=1)
async def leveled(level: Level) -> None:
    CALLS.append(("leveled", level))


def helper(x: int) -> None:
    """Added at run time with add(): not declared."""
    CALLS.append(("helper", x))


def make(db, clock, key=None, **options):
    scheduler = Scheduler(store=SQLiteStore(db, secret_key=key), clock=clock, **options)
    scheduler.include(sys.modules[__name__])
    return scheduler
'''


@dataclass
class Env:
    app: ModuleType
    db: Path
    sentinel: Sentinel
    clock: FakeClock

    def make(self, key: str | None = None, **options: Any) -> Scheduler:
        scheduler = self.app.make(self.db, self.clock, key, **options)
        assert isinstance(scheduler, Scheduler)
        return scheduler

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.db, isolation_level=None)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def edit_job(self, job_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
        """Rewrite a job's stored document as an attacker without the key does."""
        [(payload,)] = self.rows("SELECT payload FROM jobs WHERE id = ?", job_id)
        head, document = _split(bytes(payload))
        edit(document)
        body = json.dumps(document).encode()
        self.rows("UPDATE jobs SET payload = ? WHERE id = ?", head + body, job_id)


def _split(payload: bytes) -> tuple[bytes, dict[str, Any]]:
    """Envelope head (``p1:``, or ``s1:<kid>:<mac>:`` kept as is) and the JSON document."""
    start = payload.index(b"{")
    return payload[:start], json.loads(payload[start:])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Env]:
    code = tmp_path / "code"
    code.mkdir()
    name = f"app_{uuid.uuid4().hex[:8]}"
    (code / f"{name}.py").write_text(APP)
    monkeypatch.syspath_prepend(str(code))
    sentinel = make_sentinel(code)
    app = importlib.import_module(name)
    yield Env(app, tmp_path / "jobs.db", sentinel, clock)
    sys.modules.pop(name, None)
    sys.modules.pop(sentinel.name, None)


async def first_run(env: Env, key: str | None = None) -> None:
    """The first process: declared jobs plus a job added at run time, each fired once."""
    scheduler = env.make(key)
    finished: asyncio.Queue[RunFinished] = asyncio.Queue()
    scheduler.subscribe(finished.put_nowait, RunFinished)
    async with scheduler:
        await scheduler.add(env.app.helper, Every(seconds=5), id="added", args=(1,))
        await env.clock.advance(5)
        done = {(await asyncio.wait_for(finished.get(), 10)).run.job_id for _ in range(3)}
        assert done == {"heartbeat", "leveled", "added"}


class Restart:
    """A restarted scheduler, with its broken-job events and its finished runs."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.broken: list[JobBroken] = []
        self.finished: asyncio.Queue[RunFinished] = asyncio.Queue()
        scheduler.subscribe(self.broken.append, JobBroken)
        scheduler.subscribe(self.finished.put_nowait, RunFinished)

    async def runs(self, clock: FakeClock, count: int) -> set[str]:
        """Advance one period and collect ``count`` finished runs' job ids."""
        await clock.advance(5)
        runs = [(await asyncio.wait_for(self.finished.get(), 10)).run for _ in range(count)]
        assert all(r.outcome == Outcome.SUCCESS for r in runs), runs
        return {r.job_id for r in runs if r.job_id is not None}


# -- without a key ---------------------------------------------------------------------------------


async def test_a_row_rewritten_to_os_system_is_refused_reported_and_the_rest_runs(
    env: Env, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    await first_run(env)
    marker = tmp_path / "pwned"

    def to_os_system(d: dict[str, Any]) -> None:
        d["func"], d["args"] = "os:system", [f"touch {marker}"]

    env.edit_job("heartbeat", to_os_system)  # a declared job's row
    env.edit_job("added", to_os_system)  # a job added at run time
    restart = Restart(env.make())
    caplog.set_level(logging.INFO)
    async with restart.scheduler:
        # both rows are refused; the declaration then writes heartbeat afresh from the code
        assert await restart.runs(env.clock, 2) == {"heartbeat", "leveled"}
        assert sorted(e.job_id for e in restart.broken) == ["added", "heartbeat"]
        assert all("'os:system'" in e.reason for e in restart.broken)
        assert [j.id for j in await restart.scheduler.jobs()] == ["heartbeat", "leveled"]
        store = restart.scheduler.store
        assert isinstance(store, SQLiteStore)
        assert [i for i, _ in store.broken_jobs()] == ["added"]
    assert not marker.exists(), "os.system ran"
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("'added'" in m and "'os:system'" in m for m in logged), logged

    # `aioscheduler jobs` shows it as broken
    listing = await list_jobs(None, f"sqlite:///{env.db}", UTC, [env.app.__name__])
    table, broken = listing.split("\n\n")
    assert "leveled" in table and "heartbeat" in table and "added" not in table
    assert broken.splitlines()[0] == "1 broken job (cannot be loaded):"
    assert "  added: RefusedReference" in broken and "'os:system'" in broken


async def test_a_callable_named_by_a_row_is_never_imported(env: Env) -> None:
    await first_run(env)
    env.edit_job("added", lambda d: d.update(func=f"{env.sentinel.name}:boom"))
    restart = Restart(env.make())
    async with restart.scheduler:
        assert await restart.runs(env.clock, 2) == {"heartbeat", "leveled"}
        [event] = restart.broken
        assert event.job_id == "added" and f"'{env.sentinel.name}:boom'" in event.reason
    assert not env.sentinel.imported and not env.sentinel.ran


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda s: (
                lambda d: d.update(
                    kwargs={"level": {"__aiosched__": "enum", "v": [f"{s}:Color", "RED"]}}
                )
            ),
            id="enum argument",
        ),
        pytest.param(
            lambda s: lambda d: d["options"].update(retry_on=[f"{s}:Oops"]), id="retry_on class"
        ),
        pytest.param(
            lambda s: lambda d: d.update(trigger={"kind": f"{s}:Color", "version": 1}),
            id="trigger kind",
        ),
    ],
)
async def test_classes_named_by_a_row_are_never_imported(
    env: Env, edit: Callable[[str], Callable[[dict[str, Any]], None]]
) -> None:
    """The declared job's own classes (Level, Flaky) load; a class it did not name does not."""
    await first_run(env)
    env.edit_job("leveled", edit(env.sentinel.name))
    restart = Restart(env.make())
    async with restart.scheduler:
        assert await restart.runs(env.clock, 1) == {"heartbeat"}
        assert sorted(e.job_id for e in restart.broken) == ["added", "leveled"]
        reasons = {e.job_id: e.reason for e in restart.broken}
        assert env.sentinel.name in reasons["leveled"]
    assert not env.sentinel.imported


async def test_declared_jobs_load_with_their_classes_and_added_ones_need_allow(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    await first_run(env)
    caplog.set_level(logging.WARNING, logger="aioscheduler.admission")
    caplog.clear()
    restart = Restart(env.make())
    async with restart.scheduler:
        # leveled's kwargs hold a Level member and its retry_on a Flaky: both registered
        assert await restart.runs(env.clock, 2) == {"heartbeat", "leveled"}
        assert [e.job_id for e in restart.broken] == ["added"]
        assert "Scheduler(allow=" in restart.broken[0].reason
    [notice] = [r.getMessage() for r in caplog.records if r.name == "aioscheduler.admission"]
    assert "no secret_key" in notice and "allow=" in notice

    allowed = Restart(env.make(allow=[env.app.__name__]))
    caplog.clear()
    async with allowed.scheduler:
        assert await allowed.runs(env.clock, 3) == {"heartbeat", "leveled", "added"}
        assert allowed.broken == []
    assert not [r for r in caplog.records if r.name == "aioscheduler.admission"]


async def test_the_startup_notice_is_logged_once(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aioscheduler.admission")
    scheduler = env.make()
    for _ in range(2):
        async with scheduler:
            pass
    assert len([r for r in caplog.records if r.name == "aioscheduler.admission"]) == 1
    caplog.clear()
    async with env.make(KEY), Scheduler(clock=env.clock, allow=["x"]):
        pass
    assert not [r for r in caplog.records if r.name == "aioscheduler.admission"]


async def test_a_forged_run_record_imports_nothing(env: Env) -> None:
    await first_run(env)
    [(seq, record)] = env.rows("SELECT seq, record FROM runs WHERE job_id = 'heartbeat'")
    head, document = _split(bytes(record))
    document["res"] = {"__aiosched__": "enum", "v": [f"{env.sentinel.name}:Color", "RED"]}
    env.rows("UPDATE runs SET record = ? WHERE seq = ?", head + json.dumps(document).encode(), seq)
    restart = Restart(env.make())
    async with restart.scheduler:
        [run] = (await restart.scheduler.get("heartbeat")).history
        assert isinstance(run.result, str) and run.result.startswith("<refused")
        assert run.outcome == Outcome.SUCCESS, "the run itself is kept"
    assert not env.sentinel.imported


# -- with a key ------------------------------------------------------------------------------------


async def test_with_a_key_signed_rows_load_unregistered_and_edited_rows_never(
    env: Env, tmp_path: Path
) -> None:
    await first_run(env, KEY)
    restart = Restart(env.make(KEY))
    async with restart.scheduler:  # 'added' was never registered here: its signature vouches
        assert await restart.runs(env.clock, 3) == {"heartbeat", "leveled", "added"}
        assert restart.broken == []

    marker = tmp_path / "pwned"
    env.edit_job("added", lambda d: d.update(func="os:system", args=[f"touch {marker}"]))
    env.edit_job("leveled", lambda d: d.update(func=f"{env.sentinel.name}:boom"))
    [(payload,)] = env.rows("SELECT payload FROM jobs WHERE id = 'heartbeat'")
    _, document = _split(bytes(payload))
    document["func"] = f"{env.sentinel.name}:boom"  # stripping the signature does not help
    env.rows("UPDATE jobs SET payload = ? WHERE id = 'heartbeat'",
             b"p1:" + json.dumps(document).encode())  # fmt: skip
    # ... and neither does allowing the module: an unsigned row is refused once a key is set
    again = Restart(env.make(KEY, allow=[env.sentinel.name]))
    async with again.scheduler:
        await env.clock.advance(5)
        assert sorted(e.job_id for e in again.broken) == ["added", "heartbeat", "leveled"]
        reasons = {e.job_id: e.reason for e in again.broken}
        assert "signature" in reasons["added"] and "signature" in reasons["leveled"]
        assert "not signed" in reasons["heartbeat"]
    assert not marker.exists() and not env.sentinel.imported


def test_allow_entries_are_checked_at_construction() -> None:
    with pytest.raises(SerializationError, match=r"allow=\['myapp'\]"):
        Scheduler(allow="myapp")  # a str is an Iterable[str]: only the run-time check refuses it
    with pytest.raises(SerializationError, match="'my-app'"):
        Scheduler(allow=["my-app"])


async def test_moving_to_a_key_reseals_only_the_rows_the_policy_admits(env: Env) -> None:
    """``accept_unsigned`` opens plain rows while migrating, but does not vouch for them."""
    await first_run(env)
    env.edit_job("added", lambda d: d.update(func=f"{env.sentinel.name}:boom"))
    store = SQLiteStore(env.db, secret_key=KEY, accept_unsigned=True)
    scheduler = Scheduler(store=store, clock=env.clock)
    scheduler.include(env.app)
    restart = Restart(scheduler)
    async with scheduler:
        assert await restart.runs(env.clock, 2) == {"heartbeat", "leveled"}
        assert [e.job_id for e in restart.broken] == ["added"]
    heads = {i: bytes(p)[:3] for i, p in env.rows("SELECT id, payload FROM jobs")}
    assert heads == {"heartbeat": b"s1:", "leveled": b"s1:", "added": b"p1:"}
    assert not env.sentinel.imported


async def test_adding_a_function_admits_its_other_stored_jobs(env: Env) -> None:
    """Registered by ``add()`` after the store opened: its refused rows load, state kept."""
    await first_run(env)
    restart = Restart(env.make())
    async with restart.scheduler:
        assert await restart.runs(env.clock, 2) == {"heartbeat", "leveled"}
        assert [e.job_id for e in restart.broken] == ["added"]
        with pytest.raises(JobExists):  # as before issue 9: the stored job is found again
            await restart.scheduler.add(env.app.helper, Every(seconds=5), id="added", args=(1,))
        job = await restart.scheduler.get("added")
        assert job.args == (1,) and [r.outcome for r in job.history] == [Outcome.SUCCESS]
        assert await restart.runs(env.clock, 3) == {"heartbeat", "leveled", "added"}
        store = restart.scheduler.store
        assert isinstance(store, SQLiteStore) and store.broken_jobs() == []


async def test_a_forged_row_stays_refused_when_other_functions_are_registered(
    env: Env, tmp_path: Path
) -> None:
    await first_run(env)
    marker = tmp_path / "pwned"
    env.edit_job("added", lambda d: d.update(func="os:system", args=[f"touch {marker}"]))
    restart = Restart(env.make())
    async with restart.scheduler:
        await restart.scheduler.add(env.app.helper, Every(seconds=5), id="other", args=(2,))
        assert await restart.runs(env.clock, 3) == {"heartbeat", "leveled", "other"}
        store = restart.scheduler.store
        assert isinstance(store, SQLiteStore)
        assert [i for i, _ in store.broken_jobs()] == ["added"]
    assert not marker.exists()
