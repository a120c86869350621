"""``--secret-key-env NAME``: the key of a signed store, read from the environment (a key on
the command line would be visible to every user in the process list)."""

from __future__ import annotations

import os

from ._target import UsageError

__all__ = ("secret_key_from_env",)


def secret_key_from_env(name: str | None) -> str | None:
    """The value of the environment variable ``name`` (``None`` without a name).

    Raises:
        UsageError: the variable is not set or empty.
    """
    if name is None:
        return None
    value = os.environ.get(name, "")
    if not value:
        raise UsageError(f"--secret-key-env {name}: the environment variable {name} is not set")
    return value
