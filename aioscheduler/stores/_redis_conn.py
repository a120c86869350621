"""The Redis store's plumbing: options from URLs, driver errors, scripts, the hint listener."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
import redis.exceptions

from ..errors import InvalidConfiguration, StoreError
from ._redis_scripts import SCRIPTS

__all__ = ("HintListener", "JobRow", "Scripts", "as_str", "mapped", "split_url", "ts_or_none")

logger = logging.getLogger("aioscheduler.stores.redis")

T = TypeVar("T")

#: URL query parameters that are store options (the rest go to redis-py).
STORE_OPTIONS = {"prefix": str, "lease": float, "clock": str, "poll": float}

DRIVER_ERRORS = (redis.exceptions.RedisError, OSError, EOFError, asyncio.TimeoutError)


def as_str(value: Any) -> str:
    """A reply item as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def ts_or_none(value: Any) -> float | None:
    """A time in a reply ('' for none)."""
    return float(value) if value not in ("", b"", None) else None


class JobRow(NamedTuple):
    """A job's state as stored: ``ver|dver|paused|nominal|run_at|last``."""

    ver: int
    dver: int
    paused: bool
    nominal: float | None
    run_at: float | None

    @classmethod
    def parse(cls, raw: Any) -> JobRow:
        ver, dver, paused, nominal, run_at, _ = as_str(raw).split("|")
        return cls(int(ver), int(dver), paused == "1", ts_or_none(nominal), ts_or_none(run_at))


def split_url(url: str) -> tuple[str, dict[str, Any]]:
    """Split ``redis://host:port/db?prefix=app&lease=10`` into the driver URL and the store
    options found in its query.

    Raises:
        InvalidConfiguration: not a ``redis://``, ``rediss://`` or ``unix://`` URL, or a
            malformed option.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise InvalidConfiguration(
            f"Redis store URL must start with redis://, rediss:// or unix://: {url!r}"
        )
    keep, options = [], {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        kind = STORE_OPTIONS.get(name)
        if kind is None:
            keep.append((name, value))
            continue
        try:
            options[name] = kind(value)
        except ValueError:
            raise InvalidConfiguration(
                f"store URL option {name}={value!r} is not a {kind.__name__}"
            ) from None
    return urlunsplit(parts._replace(query=urlencode(keep))), options


async def mapped(awaitable: Awaitable[T], what: str) -> T:
    """Await a driver call; raise its errors as :class:`StoreError`."""
    try:
        return await awaitable
    except DRIVER_ERRORS as exc:
        raise StoreError(f"Redis store: {what} failed: {type(exc).__name__}: {exc}") from exc


class Scripts:
    """The store's Lua scripts, registered on one client (EVALSHA, loaded again on NOSCRIPT)."""

    def __init__(
        self, client: aioredis.Redis, keys: Sequence[str], calls: dict[str, int] | None = None
    ) -> None:
        self._keys = list(keys)
        #: calls awaiting their reply right now (``Store.io_in_flight``)
        self.in_flight = 0
        #: calls made so far, by script name (for benchmarks and metrics)
        self.calls = calls if calls is not None else {}
        self.calls.update(dict.fromkeys(SCRIPTS, 0))
        self._scripts = {name: client.register_script(source) for name, source in SCRIPTS.items()}

    async def __call__(self, name: str, args: Sequence[Any]) -> Any:
        self.in_flight += 1
        self.calls[name] += 1
        try:
            return await mapped(self._scripts[name](keys=self._keys, args=list(args)), name.lower())
        finally:
            self.in_flight -= 1


class HintListener:
    """Subscribes to the namespace's hint channel and turns each hint into a wake-up.

    A dropped subscription is re-established with backoff; meanwhile :attr:`up` is false (the
    store polls faster) and on reconnecting the dispatcher is woken to poll at once, since
    hints sent meanwhile are lost.
    """

    def __init__(
        self, client: aioredis.Redis, channel: str, on_hint: Callable[[float | None], None]
    ) -> None:
        self._client = client
        self._channel = channel
        self._on_hint = on_hint
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._subscribed = asyncio.Event()
        self.up = False

    async def start(self, wait: float) -> None:
        """Start listening; wait up to ``wait`` seconds for the subscription to be in place."""
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="aioscheduler-redis-hints"
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), wait)

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._stopping = True
        # redis-py can swallow a cancellation that lands while it subscribes: insist
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        self.up = False

    async def _run(self) -> None:
        delay = 0.0
        outage = False
        while not self._stopping:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                if not self.up:
                    self.up = True
                    delay = 0.0
                    if outage:
                        logger.info("Redis hint channel is back")
                        outage = False
                    self._on_hint(None)  # hints were lost meanwhile: poll now
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        with contextlib.suppress(TypeError, ValueError):
                            self._on_hint(float(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.up = False
                if not outage:
                    logger.warning("Redis hint channel lost (polling meanwhile): %s", exc)
                    outage = True
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            delay = min(5.0, delay * 2 or 0.1)
            await asyncio.sleep(delay)


#: ``"server"``: Redis ``TIME`` decides; ``"node"``: the scheduler's clock (test mode).
ClockMode = Literal["server", "node"]
