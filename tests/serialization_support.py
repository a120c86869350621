"""Module-level callables and enums for tests/test_serialization.py.

References must import back, so what they name has to live in a real module, not in a test
function.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any

NOT_A_FUNCTION = 42


def plain_job(x: int) -> int:
    return x


async def async_job() -> None:
    return None


class Tools:
    @staticmethod
    def helper() -> str:
        return "static"

    @classmethod
    def make(cls) -> str:
        return cls.__name__

    def method(self) -> str:
        return "method"

    class Inner:
        @staticmethod
        def deep() -> str:
            return "deep"


class SubTools(Tools):
    """``SubTools.make`` is ``Tools.make`` bound to another class: its qualname lies."""


class Greeter:
    def __call__(self) -> str:
        return "hello"


greeter = Greeter()


class Target:
    """A class: callable, but never to be constructed from stored data."""


def _wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@_wrap
def decorated() -> str:
    """The module exposes the wrapper; ``decorated.__wrapped__`` has the same qualname."""
    return "decorated"


def replaced() -> str:
    return "first"


first_replaced = replaced


# The point: the name now refers to another function than ``first_replaced``.
def replaced() -> str:  # type: ignore[no-redef]  # redefined on purpose (see above)
    return "second"


def make_closure() -> Callable[[], int]:
    value = 1

    def inner() -> int:
        return value

    return inner


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    CRIMSON = "red"  # an alias of RED


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"
    SAFE = "safe"


class Perm(enum.Flag):
    NONE = 0
    R = 1
    W = 2
    X = 4
    RW = 3


class Outer:
    class Nested(enum.Enum):
        A = 1


class Bits(enum.Flag):
    """A flag without a zero member: ``Bits(0)`` has no name."""

    A = 1
    B = 2
