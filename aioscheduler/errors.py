"""The exception tree of aioscheduler.

Every error the library raises on purpose derives from :class:`SchedulerError`, and each
leaf also refines the builtin exception it means, so ``except ValueError`` keeps working::

    SchedulerError
    ├── InvalidTrigger (ValueError)         bad trigger arguments or cron expression
    │   └── NoCommonFiring                  AllOf's members never agree within its search bound
    ├── InvalidJob (ValueError)             bad job options or callable, at add()
    ├── InvalidDelay (ValueError)           a timer callback returned a negative/invalid delay
    ├── InvalidConfiguration (ValueError)   a bad Scheduler or store setting: time zone, store URL
    ├── JobNotFound (LookupError)           unknown job id
    ├── JobExists (KeyError)                duplicate job id without replace=True
    ├── SchedulerStateError (RuntimeError)  start twice, or a call that needs a running scheduler
    │   └── SchedulerCrashed                an internal task failed: the scheduler stopped
    ├── JobTimeout (TimeoutError)           a run exceeded its timeout
    ├── InvalidBackfill (ValueError)        backfill() called with a bad window or limit
    │   └── BackfillTooLarge                the window holds more firings than the limit
    ├── SerializationError (ValueError)     a callable or argument a persistent store cannot keep
    │   └── RefusedReference                stored data names code this process did not allow
    ├── InvalidDashboard (ValueError)       bad Dashboard arguments (a weak token...)
    └── StoreError (RuntimeError)           a store failed; the driver error is the __cause__
        ├── StoreVersionError               the store was written by a newer aioscheduler
        ├── StoreDirectoryMissing           a SQLite file's directory does not exist
        ├── StoreDirectoryNotWritable       a SQLite file's directory cannot be written
        └── StoreReadOnly                   a SQLite file exists but cannot be written
"""

from __future__ import annotations

__all__ = (
    "BackfillTooLarge",
    "InvalidBackfill",
    "InvalidConfiguration",
    "InvalidDashboard",
    "InvalidDelay",
    "InvalidJob",
    "InvalidTrigger",
    "JobExists",
    "JobNotFound",
    "JobTimeout",
    "NoCommonFiring",
    "RefusedReference",
    "SchedulerError",
    "SchedulerCrashed",
    "SchedulerStateError",
    "SerializationError",
    "StoreDirectoryMissing",
    "StoreDirectoryNotWritable",
    "StoreError",
    "StoreReadOnly",
    "StoreVersionError",
)


class SchedulerError(Exception):
    """Root of every error raised by aioscheduler."""


class InvalidTrigger(SchedulerError, ValueError):
    """A trigger was built with invalid arguments (the message names the bad value)."""


class InvalidJob(SchedulerError, ValueError):
    """A job was registered with an invalid callable or invalid options."""


class InvalidDashboard(SchedulerError, ValueError):
    """A dashboard was built with invalid arguments (not a scheduler, a malformed token...)."""


class InvalidDelay(SchedulerError, ValueError):
    """A timer callback returned a delay that cannot be scheduled (negative, NaN, wrong type)."""


class InvalidConfiguration(SchedulerError, ValueError):
    """A scheduler or a store was set up with an invalid setting: an unknown time zone, a
    malformed store URL or unknown scheme, options a store does not take (the message names
    the setting and the value)."""


class JobNotFound(SchedulerError, LookupError):
    """No job with the given id exists."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id

    def __str__(self) -> str:  # LookupError/KeyError would repr() the message otherwise
        return str(self.args[0])


class JobExists(SchedulerError, KeyError):
    """A job with this id is already scheduled and ``replace=True`` was not given."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"a job with id {job_id!r} already exists; pass replace=True to replace it"
        )
        self.job_id = job_id

    def __str__(self) -> str:
        return str(self.args[0])


class SchedulerStateError(SchedulerError, RuntimeError):
    """The scheduler is in the wrong state for the call (already running, not running...)."""


class SchedulerCrashed(SchedulerStateError):
    """An internal task of the scheduler (its dispatcher, event delivery, history writes...)
    failed with an unexpected error, a bug: the scheduler stopped itself. The error is the
    ``__cause__``. Raised by ``serve()``, and once by the next ``stop()``."""


class JobTimeout(SchedulerError, TimeoutError):
    """A run did not finish within its ``timeout``."""


class SerializationError(SchedulerError, ValueError):
    """A callable or an argument cannot be stored safely by a persistent store."""


class RefusedReference(SerializationError):
    """Stored data names a callable or class that this process did not allow.

    Raised before anything is imported; the store reports the job as broken. A row may name
    code only if it is signed with the store's ``secret_key``, or the name was registered in
    this process (declared or added), or its module is in ``Scheduler(allow=[...])``.
    """


class StoreError(SchedulerError, RuntimeError):
    """A store operation failed; the driver's exception is chained as ``__cause__``."""


class StoreVersionError(StoreError):
    """The store's schema was written by a newer version of aioscheduler."""


class NoCommonFiring(InvalidTrigger):
    """``AllOf``: its triggers do not agree on any time within the search bound."""


class InvalidBackfill(SchedulerError, ValueError):
    """``Scheduler.backfill()`` was called with a bad window or limit."""


class BackfillTooLarge(InvalidBackfill):
    """``Scheduler.backfill()``: the window holds more firings than ``limit``; nothing ran."""


class StoreDirectoryMissing(StoreError):
    """The directory of a SQLite store's file does not exist (the message says which)."""


class StoreDirectoryNotWritable(StoreError):
    """The directory of a SQLite store's file cannot be written by this process: SQLite
    creates the file and its ``-wal``/``-shm`` companions there."""


class StoreReadOnly(StoreError):
    """A SQLite store's file exists but this process cannot write it (permissions, read-only
    file system); the store needs to write, also to read its jobs back."""
