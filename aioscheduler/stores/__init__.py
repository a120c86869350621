"""Job stores. The in-memory store is the default; persistent stores load on demand."""

from __future__ import annotations

from typing import Any

from ._base import Claim, Store, StoreContext
from .memory import MemoryStore

__all__ = ("Claim", "MemoryStore", "Store", "StoreContext", "store_from_url")


def store_from_url(url: str, **options: Any) -> Store:
    """Build a store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``.

    Keyword options (``secret_key``, ``old_keys``, ``encrypt``...) go to a persistent store's
    constructor; secrets do not belong in URLs.

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
    raise InvalidConfiguration(
        f"unknown store URL scheme {scheme!r} in {url!r}; known: memory, sqlite"
    )
