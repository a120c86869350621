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
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        raise UsageError(
            f"{target!r} is a file path; name the module instead: {_module_name(module_name)!r}"
        )
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


def _module_name(path: str) -> str:
    """``examples/quickstart.py`` -> ``examples.quickstart`` (what ``python -m`` would take)."""
    stem = path.removesuffix(".py").replace(os.sep, "/").strip("/")
    stem = stem.removeprefix("./")
    return ".".join(part for part in stem.split("/") if part and part != ".")


async def load_scheduler(target: str, *, factory: bool = False) -> Scheduler:
    """Return the Scheduler named by ``target``: ``module:attr`` (``module`` alone means
    ``module:scheduler``). With ``factory``, ``attr`` is a zero-argument callable (sync or
    async) that returns one; it is called only then (like uvicorn's ``--factory``).

    Raises:
        UsageError: the module or attribute cannot be loaded, or is not a Scheduler (a
            callable without ``factory`` is refused, never called).
    """
    obj = _import(target)
    if isinstance(obj, Scheduler) and not factory:
        return obj
    if not factory:
        hint = "; if it is a factory returning one, pass --factory" if callable(obj) else ""
        raise UsageError(f"{target!r} is a {type(obj).__name__}, not a Scheduler{hint}")
    if not callable(obj):
        raise UsageError(
            f"--factory: {target!r} is a {type(obj).__name__}, not a factory returning a Scheduler"
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
