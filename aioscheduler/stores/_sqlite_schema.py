"""The SQLite store's file: the one-writer lock, the connection, the versioned schema.

Everything here is synchronous and runs on the store's own worker thread.

Schema version 1::

    jobs     one row per job: its sealed definition and its state
      id TEXT PRIMARY KEY, func TEXT (display only: the sealed payload is authoritative),
      payload BLOB (sealed JSON, see stores/_codec.py), paused INTEGER,
      nominal REAL (next nominal firing, UTC seconds; NULL: none), run_at REAL (nominal+jitter)
    firings  one row per claimed firing not yet released (a crash leaves it behind)
      job_id TEXT, slot REAL (nominal time), run_at REAL, missed INTEGER, run INTEGER,
      final INTEGER, owner TEXT (node id), lease_until REAL, attempt INTEGER,
      PRIMARY KEY (job_id, slot)
    runs     run history, bounded per job by count and by age
      seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT, finished_at REAL, record BLOB (sealed)

Schema version 2 (sealed schedule state, see ``_sqlite_seals.py``)::

    jobs     + version INTEGER (the store's write sequence number when the row was written)
    meta     key TEXT PRIMARY KEY, value BLOB: 'store_id' (random, made with the database),
             'store_id_tag' and 'anchor' (with a secret_key)
    seals    job_id TEXT PRIMARY KEY, tag BLOB: each job's state tag (with a secret_key)

``PRAGMA user_version`` holds the schema version, ``PRAGMA application_id`` marks the file as
ours. A file of a newer version is refused with :class:`~aioscheduler.errors.StoreVersionError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable

from ..errors import StoreError, StoreVersionError
from ._sqlite_paths import path_error, unwritable
from ._sqlite_tags import new_store_id

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no OS lock; one writer is not enforced
    fcntl = None  # type: ignore[assignment]

__all__ = ("APPLICATION_ID", "SCHEMA_VERSION", "FileLock", "connect")

#: ``PRAGMA application_id`` of an aioscheduler database ("aios").
APPLICATION_ID = 0x61696F73
#: Milliseconds SQLite waits for a lock held by another connection before failing.
BUSY_TIMEOUT_MS = 5000

_V1 = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    func TEXT NOT NULL,
    payload BLOB NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    nominal REAL,
    run_at REAL
);
CREATE TABLE firings (
    job_id TEXT NOT NULL,
    slot REAL NOT NULL,
    run_at REAL NOT NULL,
    missed INTEGER NOT NULL,
    run INTEGER NOT NULL,
    final INTEGER NOT NULL,
    owner TEXT NOT NULL,
    lease_until REAL NOT NULL,
    attempt INTEGER NOT NULL,
    PRIMARY KEY (job_id, slot)
);
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    finished_at REAL NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX runs_by_job ON runs (job_id, seq);
CREATE INDEX runs_by_age ON runs (finished_at);
"""


_V2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE seals (job_id TEXT PRIMARY KEY, tag BLOB NOT NULL);
ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 0
"""


def _v2(conn: sqlite3.Connection) -> None:
    _script(_V2)(conn)
    conn.execute("INSERT INTO meta VALUES ('store_id', ?)", (new_store_id().encode(),))


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    # Statement by statement: executescript() would COMMIT the migration's transaction first.
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)

    return run


#: Migrations in order: entry ``i`` takes the schema from version ``i`` to ``i + 1``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_script(_V1), _v2)
SCHEMA_VERSION = len(MIGRATIONS)


class FileLock:
    """An exclusive ``flock`` on the database file itself, held while a store is open.

    The lock is on the file (its inode), not on a name: a symlink, a hard link or another
    spelling of the path reaches the same lock, and deleting files next to it changes nothing.
    ``flock`` locks belong to an open file, so a second store in the same process is refused as
    well as one in another process; the kernel drops the lock when the process dies, so a
    ``kill -9`` never leaves a stale lock behind. ``<database>.lock`` only tells who holds it
    (pid and node, for the refusal message); it is not the lock. SQLite's own locks are POSIX
    record locks, which do not interact with ``flock``.
    """

    def __init__(self, path: str) -> None:
        self.database = path
        self.path = path + ".lock"  # the holder's description, not the lock
        self._fd: int | None = None

    def acquire(self, node_id: str) -> None:
        fd = open_database_file(self.database)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise StoreError(
                    f"{self.database} is already open by another scheduler ({self._holder()}); "
                    "a SQLite store has one writer per file (the lock is on the file itself, "
                    "so links and other paths to it are refused too). Stop the other scheduler, "
                    "or to share jobs between processes use a PostgreSQL or Redis store: "
                    'store="postgresql://..." or store="redis://..."'
                ) from None
        self._fd = fd
        with contextlib.suppress(OSError), open(self.path, "w") as file:  # informative only
            file.write(f"pid {os.getpid()}, node {node_id}\n")

    def _holder(self) -> str:
        try:
            with open(self.path) as file:
                return file.read().strip() or "unknown"
        except OSError:
            return "unknown"

    def check(self) -> None:
        """Refuse to write when the path no longer leads to the locked file (it was deleted,
        or replaced by another file): another scheduler may hold the new one.

        Raises:
            StoreError: the file at the path is not the one this store locked.
        """
        fd = self._fd
        if fd is None:
            return
        mine = os.fstat(fd)
        try:
            now = os.stat(self.database)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
            raise StoreError(
                f"the SQLite store {self.database!r} was deleted or replaced while this "
                "scheduler had it open; it no longer writes to it (another scheduler may own "
                "the new file). Restart it on the right file"
            )

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.truncate(self.path, 0)
            os.close(fd)  # closing drops the flock


def open_database_file(path: str) -> int:
    """Open (create if missing) the database file for locking; map OS errors to advice.

    Raises:
        StoreDirectoryMissing: the directory does not exist.
        StoreDirectoryNotWritable: the file is missing and the directory is not writable.
        StoreReadOnly: the file exists but cannot be written.
        StoreError: any other OS error.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        raise path_error(path, exc) from exc


def connect(path: str) -> sqlite3.Connection:
    """Open the database, set it up for one writer (WAL), and bring the schema up to date.

    Raises:
        StoreVersionError: the file was written by a newer aioscheduler.
        StoreError: the file is not an SQLite database, belongs to another application, or
            cannot be opened (the driver error is the ``__cause__``).
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        _migrate(conn, path)
    except sqlite3.OperationalError as exc:
        conn.close()
        text = str(exc)
        if "readonly" in text or "unable to open" in text or "read-only" in text:
            raise unwritable(path, exc) from exc
        raise StoreError(f"cannot use SQLite database {path!r}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"{path!r} is not a usable aioscheduler SQLite database ({exc}); if the file is "
            "corrupted, move it away and restore a backup"
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(
                f"{path!r} is an SQLite database of another application (application_id "
                f"{app_id:#x}); point the store at its own file"
            )
        if version > SCHEMA_VERSION:
            raise StoreVersionError(
                f"{path!r} has schema version {version}, written by a newer aioscheduler; this "
                f"version reads up to {SCHEMA_VERSION}. Upgrade aioscheduler"
            )
        if app_id == 0 and version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreError(
                    f"{path!r} already holds tables of another application; point the store "
                    "at its own file"
                )
        for step in MIGRATIONS[version:]:
            step(conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
