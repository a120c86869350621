"""Stored jobs the admission policy refused at open, tried again once their names are known.

A mixin of :class:`~aioscheduler.stores.sqlite.SQLiteStore`: a row naming a function that was
not registered (nor allowed, nor signed) is reported broken at open and kept here; an ``add()``
of that function later registers it (``Admission.generation`` changes) and the row loads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from .._admission import Admission
from .._crypto import PayloadCodec
from .._values import JobSpec
from ._codec import decode_spec
from ._local import Entry, LocalJobs
from ._sqlite_db import RefusedRow

__all__ = ("RefusedRows",)

logger = logging.getLogger("aioscheduler.stores.sqlite")

T = TypeVar("T")


class RefusedRows(LocalJobs):
    """Mixin: the rows refused by the admission policy (see the module docstring)."""

    _lock: asyncio.Lock
    _codec: PayloadCodec

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def _reset(self) -> None:
        super()._reset()
        self._refused: dict[str, RefusedRow] = {}  # refused by the policy: may be admitted later
        self._tried = 0  # the admission generation they were last tried under

    def _decode_rows(self, rows: list[RefusedRow], admission: Admission) -> list[JobSpec | None]:
        out: list[JobSpec | None] = []
        for row in rows:
            try:
                out.append(decode_spec(row.job_id, row.payload, self._codec, admission))
            except Exception:  # still refused, or broken for another reason: stays broken
                out.append(None)
        return out

    async def _readmit(self) -> None:
        """Load the refused rows whose names were registered since (an ``add()`` of their
        function after the store opened). Called with the lock held."""
        context = self._context
        if context is None or not self._refused or context.admission.generation == self._tried:
            return
        self._tried = context.admission.generation
        rows = list(self._refused.values())
        specs = await self._call(self._decode_rows, rows, context.admission)
        for row, spec in zip(rows, specs, strict=True):
            if spec is None or row.job_id in self._entries:
                continue
            del self._refused[row.job_id]
            self._broken.pop(row.job_id, None)
            entry = self._entries[row.job_id] = Entry(spec, row.nominal, None, row.paused)
            self._schedule(entry, row.nominal, row.run_at)
            logger.info(
                "stored job %r is loaded: its function is now registered in this process",
                row.job_id,
                extra={"job_id": row.job_id},
            )

    def _may_readmit(self) -> bool:
        context = self._context
        return (
            bool(self._refused)
            and context is not None
            and (context.admission.generation != self._tried)
        )
