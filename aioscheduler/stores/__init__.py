"""Job stores. The in-memory store is the default; persistent stores load on demand.

``aioscheduler.stores.PostgresStore`` and ``aioscheduler.stores.RedisStore`` are imported on
first use, so that their drivers (extras ``aioscheduler[postgres]``, ``aioscheduler[redis]``)
are only needed by those who use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import Claim, ReleaseResult, Store, StoreContext
from .memory import MemoryStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = (
    "Claim",
    "MemoryStore",
    "PostgresStore",
    "ReleaseResult",
    "Store",
    "StoreContext",
    "store_from_url",
)

_LAZY = {"PostgresStore": "postgres", "RedisStore": "redis", "SQLiteStore": "sqlite"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def store_from_url(url: str, **options: Any) -> Store:
    """Build a store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``, ``postgresql://user@host:5432/db?schema=app&lease=10``,
    ``redis://host:6379/0?prefix=app&lease=10``.

    Keyword options (``secret_key``, ``old_keys``, ``encrypt``, ``lease``, ``schema``...) go to
    a persistent store's constructor; a shared store's options may also be URL query
    parameters. Secrets do not belong in URLs.

    Raises:
        InvalidConfiguration: a malformed URL, an unknown scheme (the message lists the known
            ones), or options for the memory store.
        SerializationError: a weak ``secret_key``, or ``encrypt`` without ``cryptography``.
    """
    from ..errors import InvalidConfiguration

    scheme, sep, _ = url.partition("://")
    if not sep:
        raise InvalidConfiguration(f"store URL must look like 'scheme://...', got {url!r}")
    if scheme == "memory":
        if any(value not in (None, (), False) for value in options.values()):
            raise InvalidConfiguration(f"the memory store takes no options, got {sorted(options)}")
        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore  # imported on demand, like every persistent store

        return SQLiteStore.from_url(url, **options)
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:  # the driver is an extra
            raise InvalidConfiguration(
                f"{url!r} needs the PostgreSQL driver: pip install 'aioscheduler[postgres]' ({exc})"
            ) from exc
        return PostgresStore.from_url(url, **options)
    if scheme in ("redis", "rediss"):
        try:
            from .redis import RedisStore  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise InvalidConfiguration(
                f"{url!r} needs the Redis driver: pip install 'aioscheduler[redis]' ({exc})"
            ) from exc
        return RedisStore.from_url(url, **options)  # type: ignore[no-any-return, unused-ignore]
    raise InvalidConfiguration(
        f"unknown store URL scheme {scheme!r} in {url!r}; known: memory, sqlite, postgresql, redis"
    )
