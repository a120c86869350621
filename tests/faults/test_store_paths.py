"""Issue 10 item 10 (SQLite part): a missing directory, an unwritable directory and a
read-only database each raise their own StoreError subclass that says what to do.

Real files and permissions. Root writes anything, so when the tests run as root the attempt
is made in a forked child that first drops to the ``nobody`` user (uid 65534).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from aioscheduler import Scheduler
from aioscheduler._admission import Admission
from aioscheduler._serialization import PayloadCodec
from aioscheduler.errors import (
    StoreDirectoryMissing,
    StoreDirectoryNotWritable,
    StoreError,
    StoreReadOnly,
)
from aioscheduler.stores._sqlite_db import SQLiteFile

NOBODY = 65534


def open_as_user(path: Path) -> tuple[str, str]:
    """Open the store's file (the synchronous layer) as a user that cannot write what the
    permissions forbid; return the error's class name and message ("" if it opened)."""
    if os.geteuid() != 0:  # permissions apply: try here
        return _open(path)
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns about fork() with threads running
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, json.dumps(_open(path)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    name, message = json.loads(data)
    return name, message


def create(db: Path) -> None:
    """Create a store's database file and close it."""
    file = SQLiteFile(str(db), PayloadCodec(None))
    file.open("writer", Admission())
    file.close()


def _open(path: Path) -> tuple[str, str]:
    file = SQLiteFile(str(path), PayloadCodec(None))
    try:
        file.open("child", Admission())
    except StoreError as exc:
        return type(exc).__name__, str(exc)
    file.close()
    return "", ""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the ``nobody`` user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="aiosched-paths-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_missing_directory_says_to_create_it(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "jobs.db"
    scheduler = Scheduler(store=f"sqlite:///{db}")
    with pytest.raises(StoreDirectoryMissing, match="mkdir -p") as info:
        await scheduler.start()
    assert str(db.parent) in str(info.value) and "does not exist" in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert not scheduler.running


def test_an_unwritable_directory_says_so(shared_dir: Path) -> None:
    directory = shared_dir / "locked"
    directory.mkdir(mode=0o555)
    directory.chmod(0o555)
    name, message = open_as_user(directory / "jobs.db")
    assert name == StoreDirectoryNotWritable.__name__, message
    assert str(directory) in message and "write permission" in message


def test_a_read_only_database_says_to_fix_permissions_not_restore_a_backup(
    shared_dir: Path,
) -> None:
    db = shared_dir / "jobs.db"
    create(db)
    for leftover in shared_dir.glob("jobs.db*"):
        leftover.chmod(0o444)
    name, message = open_as_user(db)
    assert name == StoreReadOnly.__name__, message
    assert "chmod u+w" in message and "backup" not in message


def test_a_database_in_a_read_only_directory_says_which(shared_dir: Path) -> None:
    db = shared_dir / "jobs.db"
    create(db)
    db.chmod(0o666)  # the file may be written, but SQLite must create jobs.db-wal beside it
    shared_dir.chmod(0o555)
    try:
        name, message = open_as_user(db)
    finally:
        shared_dir.chmod(0o755)
    assert name == StoreDirectoryNotWritable.__name__, message
    assert "-wal" in message and str(shared_dir) in message
