"""Connections of the PostgreSQL store: the pool, driver-error mapping, the hint listener.

Every call to the server goes through :meth:`Database.connection`, which bounds it with a
timeout, drops a connection that timed out or broke (a half-finished exchange must never be
reused), and maps every driver exception to :class:`~aioscheduler.errors.StoreError`. The pool
reconnects by itself, so the store works again when the server returns.

:class:`Listener` keeps one dedicated connection that ``LISTEN``s for "a job may be due
earlier" hints; it checks the connection regularly, reconnects with backoff when it drops, and
calls ``on_connect`` after each (re)connection so that the store re-polls what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from ..errors import StoreError

__all__ = ("DRIVER_ERRORS", "Database", "Listener")

logger = logging.getLogger("aioscheduler.stores.postgres")

#: Exceptions of the driver and the network that become :class:`StoreError`.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # a connection left mid-operation (e.g. by a process frozen inside a query) reports
    # "cannot switch to state ...; another operation is in progress": not an InterfaceError
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
#: What leaves a connection mid-exchange: it is dropped, never reused.
_ABORTED: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, asyncio.CancelledError)


class Database:
    """The store's connection pool (see the module docstring)."""

    def __init__(self, dsn: str, where: str, timeout: float, settings: dict[str, str]) -> None:
        self.dsn = dsn
        self.where = where
        self.timeout = timeout
        self._settings = settings
        self._pool: Any = None
        self.in_flight = 0  # exchanges under way (FakeClock waits for them to settle)
        self._releasing: set[asyncio.Task[None]] = set()

    @property
    def open(self) -> bool:
        return self._pool is not None

    def error(self, exc: BaseException, doing: str) -> StoreError:
        return StoreError(
            f"PostgreSQL store {self.where} failed while {doing}: "
            f"{type(exc).__name__}: {exc or 'no answer in time'}"
        )

    async def connect(self) -> None:
        try:
            async with asyncio.timeout(self.timeout * 2):
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=1,
                    max_size=4,
                    timeout=self.timeout,
                    command_timeout=self.timeout,  # also bounds the driver's cancel requests
                    server_settings=self._settings,
                )
        except DRIVER_ERRORS as exc:
            raise self.error(exc, "connecting") from exc

    @contextlib.asynccontextmanager
    async def connection(
        self, doing: str, timeout: float | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one exchange, bounded by ``timeout`` seconds."""
        pool = self._pool
        if pool is None:
            raise StoreError(f"the PostgreSQL store {self.where} is not open")
        limit = self.timeout if timeout is None else timeout
        conn: Any = None
        aborted = False
        self.in_flight += 1
        try:
            async with asyncio.timeout(limit):
                conn = await pool.acquire()
                try:
                    yield conn
                except _ABORTED:
                    aborted = True
                    with contextlib.suppress(Exception):
                        conn.terminate()  # mid-exchange: never hand it out again
                    raise
        except DRIVER_ERRORS as exc:
            raise self.error(exc, doing) from exc
        finally:
            self.in_flight -= 1
            if conn is not None:
                if aborted:
                    # The driver may still be sending a cancel request to an unreachable
                    # server, and the pool waits for it: give the slot back in the background.
                    task = asyncio.get_running_loop().create_task(self._release(pool, conn))
                    self._releasing.add(task)
                    task.add_done_callback(self._releasing.discard)
                else:
                    with contextlib.suppress(Exception):
                        await pool.release(conn, timeout=1.0)

    async def _release(self, pool: Any, conn: Any) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.timeout):
                await pool.release(conn, timeout=1.0)

    async def close(self, abandon: bool = False) -> None:
        pool, self._pool = self._pool, None
        for task in list(self._releasing):
            task.cancel()
        if pool is None:
            return
        if abandon:
            pool.terminate()
            return
        try:
            async with asyncio.timeout(self.timeout):
                await pool.close()
        except _ABORTED:
            pool.terminate()
            raise


class Listener:
    """``LISTEN`` on one channel over a dedicated connection (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        channel: str,
        on_notify: Callable[[str], None],
        on_connect: Callable[[], None],
        check_every: float,
    ) -> None:
        self._db = db
        self._channel = channel
        self._on_notify = on_notify
        self._on_connect = on_connect
        self._check_every = check_every
        self._task: asyncio.Task[None] | None = None
        self.up = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.up = False

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            self._on_notify(payload)
        except Exception:  # pragma: no cover - a bad payload must not kill the listener
            logger.exception("handling a wake-up hint failed")

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            conn: Any = None
            try:
                async with asyncio.timeout(self._db.timeout):
                    conn = await asyncpg.connect(
                        self._db.dsn, timeout=self._db.timeout, command_timeout=self._db.timeout
                    )
                    await conn.add_listener(self._channel, self._notified)
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _, ev=closed: ev.set())
                self.up, backoff = True, 0.0
                self._on_connect()  # hints sent while we were away are lost: re-poll
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), self._check_every)
                    if not closed.is_set():  # a silent partition shows only when we ask
                        async with asyncio.timeout(self._db.timeout):
                            await conn.execute("SELECT 1")
            except DRIVER_ERRORS as exc:
                logger.debug("wake-up listener lost its connection: %s", exc)
            finally:
                self.up = False
                if conn is not None:
                    conn.terminate()
            backoff = min(5.0, (backoff * 2) or 0.2)
            await asyncio.sleep(backoff)
