"""Module-level callables for tests/test_process.py.

A worker process imports what it runs by reference, so these live in a light module (no
pytest import) rather than in the test file.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def fib_and_pid(n: int) -> tuple[int, int]:
    """CPU-bound work: the n-th Fibonacci number the slow way, and the worker's pid."""

    def fib(k: int) -> int:
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    return fib(n), os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def hang_once(marker: str) -> int:
    """Write the pid to ``marker`` and sleep forever the first time; then return the pid."""
    path = Path(marker)
    if path.exists():
        return os.getpid()
    path.write_text(str(os.getpid()))
    while True:
        time.sleep(1)


def hang(marker: str) -> None:
    """Write the pid to ``marker`` and sleep forever."""
    Path(marker).write_text(str(os.getpid()))
    while True:
        time.sleep(1)


def die(code: int) -> None:
    os._exit(code)


def unsendable_result() -> threading.Lock:
    return threading.Lock()


class Unloadable(Exception):
    """An exception whose constructor signature breaks unpickling."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")


def raise_unloadable() -> None:
    raise Unloadable(1, 2)


def exit_call() -> None:
    raise SystemExit(3)


def ignore_sigterm_and_hang(marker: str) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    hang(marker)
