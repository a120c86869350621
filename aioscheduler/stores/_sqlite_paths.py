"""OS errors on the SQLite store's path, turned into errors that say what to do (issue 10,
item 10): a missing directory, an unwritable directory and a read-only database file each get
their own :class:`~aioscheduler.errors.StoreError` subclass."""

from __future__ import annotations

import errno
import os

from ..errors import StoreDirectoryMissing, StoreDirectoryNotWritable, StoreError, StoreReadOnly

__all__ = ("path_error", "unwritable")


def _directory(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def _who() -> str:
    uid = getattr(os, "geteuid", lambda: None)()
    return "this process" if uid is None else f"this process (uid {uid})"


def unwritable(path: str, detail: object) -> StoreError:
    """The error for a database SQLite could not write: its directory or the file itself."""
    directory = _directory(path)
    if not os.access(directory, os.W_OK | os.X_OK):
        return StoreDirectoryNotWritable(
            f"the directory {directory!r} of the SQLite store {path!r} is not writable by "
            f"{_who()} ({detail}); SQLite creates the database and its -wal/-shm files there: "
            "give the user write permission on the directory, or put the store in a directory "
            "it owns"
        )
    return StoreReadOnly(
        f"the SQLite store {path!r} is read-only for {_who()} ({detail}); the store writes to "
        "its file (claims, history), also to read jobs back: give the user write permission "
        f"(chmod u+w {path!r}, and on its -wal/-shm files), run as the file's owner, or move it "
        "off a read-only file system. To only look at its jobs, use `aioscheduler jobs --store`"
    )


def path_error(path: str, exc: OSError) -> StoreError:
    """The :class:`StoreError` for an OS error opening ``path`` (chain ``exc`` as its cause)."""
    directory = _directory(path)
    if exc.errno == errno.ENOENT and not os.path.isdir(directory):
        folder = os.path.dirname(path) or "."
        return StoreDirectoryMissing(
            f"cannot open the SQLite store {path!r}: directory {folder!r} does not exist; "
            f"create it first (mkdir -p {folder!r}) or point the store at an existing directory"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        if os.path.exists(path):
            return StoreReadOnly(
                f"the SQLite store {path!r} is read-only for {_who()} ({exc.strerror}); the "
                "store writes to its file (claims, history), also to read jobs back: give the "
                f"user write permission (chmod u+w {path!r}), run as the file's owner, or move "
                "it off a read-only file system. To only look at its jobs, use "
                "`aioscheduler jobs --store`"
            )
        return StoreDirectoryNotWritable(
            f"cannot create the SQLite store {path!r}: the directory {directory!r} is not "
            f"writable by {_who()} ({exc.strerror}); give the user write permission on the "
            "directory, or put the store in a directory this user can write"
        )
    return StoreError(f"cannot open SQLite database {path!r}: {exc}")
