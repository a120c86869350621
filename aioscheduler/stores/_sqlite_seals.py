"""Sealed schedule state of an SQLite store with a ``secret_key`` (issue 10, item 5).

A job's definition is sealed in its payload (``_codec.py``). What decides *when* it runs is
plain columns beside it: ``paused``, ``nominal``, ``run_at``, and its rows in ``firings``. With a
key, all of it is sealed too:

* **A tag per job**, in the table ``seals``: an HMAC (:class:`~aioscheduler._crypto.StateKey`)
  over the store's id, the job's id, its *version* (the store's write sequence number when its
  row was last written), a hash of its sealed payload, its ``paused``/``nominal``/``run_at``, and
  a hash of its claimed firings. At open, each job row and its firings must match its tag:
  a flag flipped, a next time moved, a firing forged, edited or put back after it was released,
  a row copied from another database (another store id) or replaced by an older copy of
  itself (an older version) is refused, and that job is reported broken. Nothing else is.
* **An anchor**, in ``meta``: the write sequence number and a MAC over it, the store id and
  the XOR of a hidden keyed hash ("leaf") of every tag in ``seals``. An attacker cannot compute
  leaves, so putting back an older tag with its older row, deleting a tag, or copying one in
  changes the XOR and the anchor no longer verifies. That is noticed for the file as a whole
  (which job was rolled back cannot be known): opening fails with
  :class:`~aioscheduler.errors.StoreError` until an operator opens it once with
  ``accept_unsigned=True`` (which seals the file as found).
* **The store id** is random, created with the database, and tagged itself.

What a key cannot protect (deletion, a rollback of the whole file) and what each change is
reported as: ``docs/persistence.md``, "What a key protects". Cost: nothing without a key; with
one, per write transaction, one tag and one leaf for each job it touches and one MAC.

Everything here runs on the store's thread, inside :class:`~aioscheduler.stores._sqlite_db.
SQLiteFile`'s transactions: :meth:`Seals.begin` / :meth:`Seals.flush` (before ``COMMIT``) /
:meth:`Seals.commit` or :meth:`Seals.abort`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from .._crypto import PayloadCodec, StateKey
from ..errors import StoreError
from ._sqlite_tags import (
    JobState,
    RowState,
    anchor_message,
    id_message,
    job_message,
    new_store_id,
    payload_hash,
)

__all__ = ("Seals",)

logger = logging.getLogger("aioscheduler.stores.sqlite")


_NOT_SEALED = (
    "its schedule state is not sealed (written before this aioscheduler sealed state, or "
    "without the key); open the store once with accept_unsigned=True to seal it as it is"
)
_MISMATCH = (
    "its sealed state does not match: its row or its claimed firings were changed without "
    "the key, copied from another database, or put back from an older copy"
)
_NO_SEAL = "its row has no seal: it was added to the database without the key"
_UNKNOWN_KEY = (
    "its schedule state was sealed with an unknown key; pass the secret it was written with "
    "as secret_key or in old_keys"
)
_DELETED = "its row was deleted from the database without the key (its seal remains)"


class Seals:
    """The sealed state of one SQLite file (see the module docstring)."""

    def __init__(self, codec: PayloadCodec, path: str) -> None:
        self._codec = codec
        self._path = path
        self._key: StateKey | None = codec.state_key
        self.store_id = ""
        self._seq = 0
        self._digest = 0
        self._jobs: dict[str, JobState] = {}
        self._firings: dict[str, dict[float, str]] = {}
        self._tags: dict[str, bytes] = {}  # the table ``seals`` as in the file
        self._leaves: dict[str, int] = {}  # their leaves under the current key
        self._dirty: set[str] = set()
        self._bumped = False
        self._force = False  # write the anchor even if no tag changed (set up at open)
        self._undo: dict[str, tuple[JobState | None, dict[float, str] | None, bytes | None]] = {}
        self._undo_leaves: dict[str, int | None] = {}
        self._saved = (0, 0)

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def version(self) -> int:
        """The version a row written in the current transaction gets (0 without a key)."""
        if self._key is not None and not self._bumped:
            self._bumped = True
            self._seq += 1
        return self._seq

    # -- transactions --------------------------------------------------------------------------

    def begin(self) -> None:
        self._undo, self._undo_leaves = {}, {}
        self._saved = (self._seq, self._digest)
        self._bumped = False

    def abort(self) -> None:
        """The transaction rolled back: forget what it changed."""
        for job_id, (state, firings, tag) in self._undo.items():
            _put(self._jobs, job_id, state)
            _put(self._firings, job_id, firings)
            _put(self._tags, job_id, tag)
            _put(self._leaves, job_id, self._undo_leaves.get(job_id))
        self._seq, self._digest = self._saved
        self._undo, self._undo_leaves, self._dirty, self._bumped = {}, {}, set(), False

    def commit(self) -> None:
        self._undo, self._undo_leaves, self._bumped = {}, {}, False

    def _touch(self, job_id: str) -> None:
        if job_id not in self._undo:
            firings = self._firings.get(job_id)
            self._undo[job_id] = (
                self._jobs.get(job_id),
                None if firings is None else dict(firings),
                self._tags.get(job_id),
            )
            self._undo_leaves[job_id] = self._leaves.get(job_id)
        self._dirty.add(job_id)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write the tags of the jobs this transaction touched, and the anchor."""
        key = self._key
        if key is None or not (self._dirty or self._force):
            return
        self._force = False
        upserts: list[tuple[str, bytes]] = []
        deletes: list[tuple[str]] = []
        tags, leaves = self._tags, self._leaves
        for job_id in self._dirty:
            if job_id in tags:
                self._digest ^= leaves.pop(job_id)
            state = self._jobs.get(job_id)
            if state is None:
                tags.pop(job_id, None)
                deletes.append((job_id,))
                continue
            tag = key.tag(self._message(job_id, state))
            leaf = leaves[job_id] = key.leaf(tag)
            self._digest ^= leaf
            tags[job_id] = tag
            upserts.append((job_id, tag))
        self._dirty.clear()
        conn.executemany("INSERT OR REPLACE INTO seals VALUES (?, ?)", upserts)
        conn.executemany("DELETE FROM seals WHERE job_id = ?", deletes)
        self._write_anchor(conn, key)

    # -- changes -------------------------------------------------------------------------------

    def put(
        self,
        job_id: str,
        payload: bytes,
        paused: bool,
        nominal: float | None,
        run_at: float | None,
        fresh: bool,
    ) -> None:
        """A job row written (``fresh``: a new job, without claimed firings)."""
        if self._key is None:
            return
        self._touch(job_id)
        self._jobs[job_id] = JobState(
            self.version(), payload_hash(payload), paused, nominal, run_at
        )
        if fresh:
            self._firings[job_id] = {}

    def resealed(self, job_id: str, payload: bytes) -> None:
        """A job's payload written again with the current key (same definition)."""
        state = self._jobs.get(job_id)
        if state is not None:
            self._touch(job_id)
            self._jobs[job_id] = state._replace(payload=payload_hash(payload))

    def state(self, job_id: str, paused: bool, nominal: float | None, run_at: float | None) -> None:
        """A job's ``paused``/``nominal``/``run_at`` written."""
        state = self._jobs.get(job_id)
        if state is not None:
            self._touch(job_id)
            self._jobs[job_id] = state._replace(
                version=self.version(), paused=paused, nominal=nominal, run_at=run_at
            )

    def claimed(self, job_id: str, slot: float, message: str) -> None:
        if job_id in self._jobs:
            self._touch(job_id)
            self._firings.setdefault(job_id, {})[slot] = message

    def released(self, job_id: str, slot: float) -> None:
        firings = self._firings.get(job_id)
        if firings is not None and slot in firings:
            self._touch(job_id)
            del firings[slot]

    def delete(self, job_id: str) -> None:
        if self._key is not None and (job_id in self._jobs or job_id in self._tags):
            self._touch(job_id)
            self._jobs.pop(job_id, None)
            self._firings.pop(job_id, None)

    def ended(self, job_id: str) -> bool:
        """Whether a job has no next firing (its row is deleted when its last run ends)."""
        state = self._jobs.get(job_id)
        return state is not None and state.nominal is None

    # -- open ----------------------------------------------------------------------------------

    def load(
        self,
        conn: sqlite3.Connection,
        rows: list[RowState],
        firings: Iterable[tuple[str, float, str]],
        present: set[str],
        accept: bool,
    ) -> list[tuple[str, str]]:
        """Check every job row and its firings against its tag; return the refused jobs as
        ``(id, reason)``. Called inside the opening transaction.

        Args:
            rows: the job rows whose plain columns passed their checks.
            firings: ``(job_id, slot, firing_message)`` of every firings row that passed.
            present: the ids of all job rows, damaged ones included.
            accept: ``accept_unsigned``: seal unsealed rows (and a file whose anchor fails)
                as found.

        Raises:
            StoreError: the anchor does not verify (tags put back, deleted or copied in; the
                store id changed) and ``accept`` is off.
        """
        meta = {str(k): bytes(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        self.store_id = meta.get("store_id", b"").decode("ascii", "replace")
        key = self._key
        if key is None:
            return []
        grouped: dict[str, dict[float, str]] = {}
        for job_id, slot, message in firings:
            grouped.setdefault(job_id, {})[slot] = message
        ledger = {str(i): bytes(t) for i, t in conn.execute("SELECT job_id, tag FROM seals")}
        anchor = meta.get("anchor")
        if anchor is not None and self._codec.state_key_for(anchor.partition(b"|")[2]) is None:
            # Sealed with a key this codec does not have: the wrong key, not tampering.
            self._tags = ledger
            self._leaves = {job_id: key.leaf(tag) for job_id, tag in ledger.items()}
            for leaf in self._leaves.values():
                self._digest ^= leaf
            return [(row.job_id, _UNKNOWN_KEY) for row in rows]
        anchored = self._verify_anchor(meta, ledger)
        if anchored is None:
            sealed_before = bool(ledger) or any(
                meta.get(name) is not None for name in ("anchor", "store_id_tag")
            )
            if sealed_before and not accept:
                raise StoreError(
                    f"the sealed state of the SQLite store {self._path!r} does not add up: "
                    "seals were deleted, copied in or put back from an older copy of the "
                    "file, or its store id was changed, by someone without the key. Which job "
                    "was rolled back cannot be told. Restore a backup, or check the jobs "
                    "(aioscheduler jobs --store ...) and open the store once with "
                    "accept_unsigned=True to seal it as it is"
                )
            if rows:
                logger.log(
                    logging.WARNING if accept else logging.ERROR,
                    "the schedule state of %d stored jobs of %r is not sealed%s",
                    len(rows),
                    self._path,
                    ": sealing it as found (accept_unsigned=True)" if accept else "",
                )
            if not self.store_id:
                self.store_id = new_store_id()
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('store_id', ?)", (self.store_id.encode(),)
                )
            conn.execute("DELETE FROM seals")
            ledger, self._seq = {}, 0
        refused: list[tuple[str, str]] = []
        for row in rows:
            tag = ledger.get(row.job_id)
            state = JobState(
                row.version, payload_hash(row.payload), row.paused, row.nominal, row.run_at
            )
            own = grouped.get(row.job_id, {})
            if tag is None:
                if not accept:
                    refused.append((row.job_id, _NOT_SEALED if anchored is None else _NO_SEAL))
                    continue
            else:
                tag_key = self._codec.state_key_for(tag)
                covered = job_message(self.store_id, row.job_id, state, own)
                if tag_key is None or not tag_key.check(covered, tag):
                    refused.append((row.job_id, _MISMATCH))
                    continue
            self._jobs[row.job_id] = state
            self._firings[row.job_id] = dict(own)
            if tag is None or not tag.startswith(key.kid + b":"):
                self._dirty.add(row.job_id)  # sealed now (accept), or with the current key
        refused += [(i, _DELETED) for i in sorted(ledger) if i not in present]
        self._tags = ledger
        self._leaves = {job_id: key.leaf(tag) for job_id, tag in ledger.items()}
        self._digest = 0
        for leaf in self._leaves.values():
            self._digest ^= leaf
        if anchored != key.kid:  # a new anchor, or a rotated key: tag everything again
            self._dirty.update(self._jobs)
            self._force = True
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('store_id_tag', ?)",
                (key.tag(id_message(self.store_id)),),
            )
        return refused

    def _verify_anchor(self, meta: dict[str, bytes], ledger: dict[str, bytes]) -> bytes | None:
        """The key id of a valid anchor, or ``None`` (missing or failing)."""
        anchor, id_tag = meta.get("anchor"), meta.get("store_id_tag")
        if anchor is None or id_tag is None or not self.store_id:
            return None
        seq, _, tag = anchor.partition(b"|")
        key = self._codec.state_key_for(tag)
        if key is None or not seq.isdigit():
            return None
        if not key.check(id_message(self.store_id), id_tag):
            return None
        digest = 0
        for value in ledger.values():
            digest ^= key.leaf(value)
        if not key.check(anchor_message(self.store_id, int(seq), digest), tag):
            return None
        self._seq = int(seq)
        return key.kid

    def _write_anchor(self, conn: sqlite3.Connection, key: StateKey) -> None:
        tag = key.tag(anchor_message(self.store_id, self._seq, self._digest))
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('anchor', ?)", (b"%d|" % self._seq + tag,)
        )

    def _message(self, job_id: str, state: JobState) -> bytes:
        return job_message(self.store_id, job_id, state, self._firings.get(job_id, {}))


def _put(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value
