"""Job stores. The in-memory store is the default; persistent stores load on demand."""

from __future__ import annotations

from ._base import Claim, Store, StoreContext
from .memory import MemoryStore

__all__ = ("Claim", "MemoryStore", "Store", "StoreContext", "store_from_url")


def store_from_url(url: str) -> Store:
    """Build a store from a URL: ``memory://``.

    Raises:
        ValueError: an unknown scheme (the message lists the known ones).
    """
    from ..errors import InvalidJob

    scheme, sep, _ = url.partition("://")
    if not sep:
        raise InvalidJob(f"store URL must look like 'scheme://...', got {url!r}")
    if scheme == "memory":
        return MemoryStore()
    raise InvalidJob(f"unknown store URL scheme {scheme!r} in {url!r}; known: memory")
