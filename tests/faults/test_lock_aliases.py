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
