"""Issue 10 item 3: the one-writer lock of a SQLite file cannot be side-stepped.

A real second process holds the file; this process tries again through a symlink, a hard
link, another spelling of the path, and after the ``.lock`` file was deleted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aioscheduler.errors import StoreError
from aioscheduler.stores import StoreContext
from aioscheduler.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0

pytestmark = pytest.mark.slow


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A database file held open by a scheduler's store in another process."""
    db = tmp_path / "jobs.db"
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.stores._child", "hold", str(db)],
        cwd=ROOT,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield db
    finally:
        holder.communicate("", timeout=DEADLINE)
    assert holder.returncode == 0


def symlink(db: Path) -> Path:
    link = db.parent / "link.db"
    link.symlink_to(db)
    return link


def hardlink(db: Path) -> Path:
    other = db.parent / "sub"
    other.mkdir()
    link = other / "hard.db"
    os.link(db, link)
    return link


def spelled(db: Path) -> Path:
    return db.parent / "." / ".." / db.parent.name / db.name


def lock_deleted(db: Path) -> Path:
    Path(str(db) + ".lock").unlink()
    return db


@pytest.mark.parametrize("alias", [symlink, hardlink, spelled, lock_deleted])
async def test_a_second_writer_is_refused_whatever_the_path(
    held: Path, alias: Callable[[Path], Path]
) -> None:
    store = SQLiteStore(alias(held))
    with pytest.raises(StoreError, match="already open by another scheduler") as info:
        await store.open(StoreContext("second", lambda due: None))
    message = str(info.value)
    assert 'store="postgresql://..."' in message and 'store="redis://..."' in message


async def test_the_lock_is_free_again_when_the_holder_exits(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    first = SQLiteStore(db)
    await first.open(StoreContext("first", lambda due: None))
    link = tmp_path / "link.db"
    link.symlink_to(db)
    with pytest.raises(StoreError, match="already open"):
        await SQLiteStore(link).open(StoreContext("second", lambda due: None))
    await first.close()
    second = SQLiteStore(link)
    await second.open(StoreContext("second", lambda due: None))
    await second.close()


def remove(directory: Path, pattern: str) -> None:
    for path in directory.glob(pattern):
        path.unlink()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_store_whose_file_was_deleted_or_replaced_stops_writing(
    tmp_path: Path, how: str
) -> None:
    from aioscheduler import Every
    from aioscheduler._values import JobSpec
    from tests.stores import support

    db = tmp_path / "jobs.db"
    first = SQLiteStore(db)
    await first.open(StoreContext("first", lambda due: None))
    spec = JobSpec("j", support.note, Every(seconds=10), ("a",))
    await first.add_job(spec, now=0.0, paused=False, replace=False)
    if how == "deleted":  # a cleanup script; a new scheduler then creates a new file
        remove(tmp_path, "jobs.db*")
    else:  # another database moved over it (a restored backup, say)
        other = SQLiteStore(tmp_path / "other.db")
        await other.open(StoreContext("other", lambda due: None))
        await other.close()
        remove(tmp_path, "jobs.db-*")
        os.replace(tmp_path / "other.db", db)
    second = SQLiteStore(db)
    await second.open(StoreContext("second", lambda due: None))  # the lock is on the old file
    try:
        with pytest.raises(StoreError, match="deleted or replaced while this scheduler"):
            await first.add_job(spec, now=0.0, paused=False, replace=True)
        with pytest.raises(StoreError, match="deleted or replaced"):
            await first.acquire_due(100.0, 10)  # it claims nothing: no firing runs twice
    finally:
        await second.close()
        await first.close()
