"""The small pieces stores share: declare_job's default, the SQLite path errors, the listing of
stored rows without importing them, and the lazily loaded store names."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path

import pytest

import aioscheduler.stores
from aioscheduler import Every, JobOptions
from aioscheduler._admission import Admission
from aioscheduler._crypto import PayloadCodec
from aioscheduler.errors import (
    InvalidConfiguration,
    StoreDirectoryMissing,
    StoreDirectoryNotWritable,
    StoreError,
    StoreReadOnly,
)
from aioscheduler.stores import Claim, MemoryStore, store_from_url
from aioscheduler.stores._base import same_definition
from aioscheduler.stores._codec import encode_run, encode_spec
from aioscheduler.stores._inspect import describe_document, last_outcome, timestamp
from aioscheduler.stores._sqlite_paths import path_error, unwritable
from aioscheduler.testing.conformance import T0, conformance_job, finished, spec

# --- Store.declare_job, the default for single-writer stores -----------------------------------


async def test_declaring_adds_then_leaves_the_same_definition_then_replaces_a_changed_one() -> None:
    store = MemoryStore()
    job, result = await store.declare_job(spec("d"), now=T0, paused=True)
    assert result == "added" and job.paused
    again, result = await store.declare_job(spec("d"), now=T0 + 5, paused=False)
    assert result == "unchanged" and again == job
    changed = spec("d", Every(seconds=99))
    replaced, result = await store.declare_job(changed, now=T0 + 5, paused=False)
    assert result == "replaced" and replaced.paused, "a changed definition keeps its paused state"
    assert replaced.spec.trigger == Every(seconds=99)


def other_job(*args: object, **kwargs: object) -> None:
    """A second callable: not the suite's."""


@pytest.mark.parametrize(
    ("change", "same"),
    [
        pytest.param({}, True, id="identical"),
        pytest.param({"args": (1,)}, False, id="arguments"),
        pytest.param({"kwargs": {"k": "other"}}, False, id="keyword-arguments"),
        pytest.param({"options": JobOptions(retries=2)}, False, id="options"),
        pytest.param({"trigger": Every(seconds=11)}, False, id="trigger"),
        pytest.param({"func": other_job}, False, id="callable"),
    ],
)
def test_same_definition_compares_what_a_declaration_would_change(
    change: dict[str, object], same: bool
) -> None:
    base = spec("s")
    assert same_definition(base, dataclasses.replace(base, **change)) is same  # type: ignore[arg-type]


def test_same_definition_accepts_a_callable_reloaded_with_the_same_code() -> None:
    def copy(*args: object, **kwargs: object) -> None: ...

    copy.__module__, copy.__qualname__ = conformance_job.__module__, conformance_job.__qualname__
    copy.__code__ = conformance_job.__code__
    assert same_definition(spec("s"), dataclasses.replace(spec("s"), func=copy))


# --- the SQLite store's path errors -------------------------------------------------------------


def os_error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def test_a_missing_directory_is_named_with_the_command_that_creates_it(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere" / "jobs.db")
    error = path_error(path, os_error(errno.ENOENT))
    assert isinstance(error, StoreDirectoryMissing)
    assert "mkdir -p" in str(error) and "nowhere" in str(error)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_refused_existing_file_is_read_only(tmp_path: Path, code: int) -> None:
    db = tmp_path / "jobs.db"
    db.write_bytes(b"")
    error = path_error(str(db), os_error(code))
    assert isinstance(error, StoreReadOnly)
    assert "chmod u+w" in str(error) and "aioscheduler jobs --store" in str(error)


def test_a_refused_new_file_means_the_directory_is_not_writable(tmp_path: Path) -> None:
    error = path_error(str(tmp_path / "jobs.db"), os_error(errno.EACCES))
    assert isinstance(error, StoreDirectoryNotWritable)
    assert str(tmp_path) in str(error)


def test_any_other_os_error_is_a_plain_store_error(tmp_path: Path) -> None:
    error = path_error(str(tmp_path / "jobs.db"), os_error(errno.EIO))
    assert type(error) is StoreError and "cannot open SQLite database" in str(error)


def test_an_unwritable_database_blames_the_directory_when_it_cannot_be_written(
    tmp_path: Path,
) -> None:
    missing = str(tmp_path / "gone" / "jobs.db")  # os.access() fails on it, even for root
    error = unwritable(missing, "attempt to write a readonly database")
    assert isinstance(error, StoreDirectoryNotWritable) and "-wal/-shm" in str(error)


def test_an_unwritable_database_in_a_writable_directory_is_read_only(tmp_path: Path) -> None:
    error = unwritable(str(tmp_path / "jobs.db"), "attempt to write a readonly database")
    assert isinstance(error, StoreReadOnly)
    assert "uid" in str(error) or "this process" in str(error)


# --- listing stored rows without importing them ------------------------------------------------

PLAIN = PayloadCodec()
ADMIT = Admission(allow=["aioscheduler.testing.conformance"])


def test_a_stored_row_is_described_by_its_names() -> None:
    payload = PLAIN.seal(encode_spec(spec("j")))
    func, trigger, problem = describe_document("j", payload, PLAIN, ADMIT)
    assert func == "aioscheduler.testing.conformance:conformance_job"
    assert trigger == Every(seconds=10).describe()
    assert problem is None


def test_a_row_the_policy_refuses_is_described_with_the_refusal() -> None:
    payload = PLAIN.seal(encode_spec(spec("j")))
    func, _, problem = describe_document("j", payload, PLAIN, None)
    assert func.endswith(":conformance_job")
    assert problem is not None and problem.startswith("RefusedReference: ")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b"\x00garbage", ("?", "?", "unreadable: "), id="not-sealed"),
        pytest.param(PLAIN.seal(b"[1]"), ("?", "?", "unreadable: ValueError"), id="not-an-object"),
        pytest.param(
            PLAIN.seal(json.dumps({"func": "m:f", "trigger": {"kind": "nope"}}).encode()),
            ("m:f", "?", "unreadable trigger: "),
            id="unknown-trigger",
        ),
    ],
)
def test_an_unreadable_row_is_described_as_such(
    payload: bytes, expected: tuple[str, str, str]
) -> None:
    func, trigger, problem = describe_document("j", payload, PLAIN, ADMIT)
    assert (func, trigger) == expected[:2]
    assert problem is not None and problem.startswith(expected[2])


def test_the_last_outcome_of_a_record_is_read_and_a_damaged_record_gives_none() -> None:
    claim = Claim(spec("j"), T0, T0, missed=0, run=True, final=False)
    assert last_outcome(PLAIN.seal(encode_run(finished(claim), 1)), PLAIN) == "success"
    assert last_outcome(None, PLAIN) is None
    assert last_outcome(b"\x00damaged", PLAIN) is None
    assert last_outcome(PLAIN.seal(b'{"v": 1}'), PLAIN) is None
    assert timestamp(None) is None and timestamp(T0) is not None


# --- store_from_url and the lazily loaded names -------------------------------------------------


def test_the_persistent_store_classes_load_on_first_use() -> None:
    assert aioscheduler.stores.SQLiteStore.__name__ == "SQLiteStore"
    assert aioscheduler.stores.RedisStore.__name__ == "RedisStore"
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchStore'"):
        _ = aioscheduler.stores.NoSuchStore


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("jobs.db", "must look like 'scheme://...'", id="no-scheme"),
        pytest.param("memory://", "takes no options", id="memory-with-options"),
    ],
)
def test_a_bad_store_url_is_a_configuration_error(url: str, message: str) -> None:
    with pytest.raises(InvalidConfiguration, match=message):
        store_from_url(url, lease=5)
