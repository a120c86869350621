"""OS errors on the SQLite store's path, turned into errors that say what to do."""

from __future__ import annotations

from ..errors import StoreError

__all__ = ("path_error",)


def path_error(path: str, exc: OSError) -> StoreError:
    """The :class:`StoreError` for an OS error opening ``path`` (chain ``exc`` as its cause)."""
    return StoreError(f"cannot open SQLite database {path!r}: {exc}")
