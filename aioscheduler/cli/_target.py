"""Load what the command line names: ``module:attribute`` -> a Scheduler."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from .._scheduler import Scheduler

__all__ = ("UsageError", "cwd_importable", "load_scheduler")


class UsageError(Exception):
    """A problem the user can fix on the command line: printed as one line, exit status 2
    (or ``exit_code``)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def cwd_importable() -> None:
    """Make the current directory importable, as ``python -m`` does, also for the installed
    script (like uvicorn): targets and the functions of stored jobs are imported from it."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def _import(target: str) -> Any:
    module_name, sep, attr = target.partition(":")
    if not module_name or (sep and not attr):
        raise UsageError(f"expected module:attribute (e.g. myapp.jobs:scheduler), got {target!r}")
    attr = attr or "scheduler"
    cwd_importable()
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise UsageError(
                f"cannot import {module_name!r}: no module named {exc.name!r}"
            ) from None
        raise UsageError(f"cannot import {module_name!r}: {exc}", exit_code=1) from None
    except Exception as exc:  # the module's own code failed: a crash, but still one line
        raise UsageError(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}", exit_code=1
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


async def load_scheduler(target: str) -> Scheduler:
    """Return the Scheduler named by ``target``: ``module:attr`` (``module`` alone means
    ``module:scheduler``), where ``attr`` is a Scheduler or a zero-argument factory (sync or
    async) returning one.

    Raises:
        UsageError: the module or attribute cannot be loaded, or is not a Scheduler.
    """
    obj = _import(target)
    if isinstance(obj, Scheduler):
        return obj
    if not callable(obj):
        raise UsageError(
            f"{target!r} is a {type(obj).__name__}, not a Scheduler or a factory returning one"
        )
    try:
        result = obj()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise UsageError(
            f"factory {target!r} failed: {type(exc).__name__}: {exc}", exit_code=1
        ) from None
    if not isinstance(result, Scheduler):
        raise UsageError(f"factory {target!r} returned a {type(result).__name__}, not a Scheduler")
    return result
