"""``Ticks``: fire after an activity counter has been ticked ``n`` times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from ..errors import InvalidTrigger
from . import _time
from ._base import MAX_SEARCH, Trigger

__all__ = ("Ticks",)


@dataclass(frozen=True, slots=True, repr=False)
class Ticks(Trigger):
    """Fire after the scheduler's ``tick(counter)`` has been called ``n`` times.

    This trigger is not driven by time: :meth:`first_fire` and :meth:`next_after` return
    ``None`` and :meth:`preview` returns ``[]``. The scheduler does the counting.

    Args:
        n: How many ticks make one firing (an ``int >= 1``).
        counter: The name of the counter to follow (a non-empty ``str``).
        repeat: Re-arm after each firing (fire every ``n`` ticks) instead of firing once.

    Raises:
        InvalidTrigger: ``n`` is not an ``int >= 1``, ``counter`` is not a non-empty ``str``,
            or ``repeat`` is not a ``bool``.

    Example:
        >>> Ticks(100, counter="uploads", repeat=True).describe()
        "every 100 ticks of 'uploads'"
    """

    kind: ClassVar[str] = "ticks"

    n: int
    counter: str = "default"
    repeat: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise InvalidTrigger(f"n must be an int >= 1, got {self.n!r}")
        if not isinstance(self.counter, str) or not self.counter:
            raise InvalidTrigger(f"counter must be a non-empty str, got {self.counter!r}")
        if not isinstance(self.repeat, bool):
            raise InvalidTrigger(f"repeat must be a bool, got {self.repeat!r}")

    def first_fire(self, now: datetime) -> datetime | None:
        """Return ``None``: firings come from ticks, not from the clock."""
        return None

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return ``None``: firings come from ticks, not from the clock."""
        return None

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Return 0: no firing is due at a time."""
        return 0

    def describe(self) -> str:
        """``after 10 ticks of 'default'``, or ``every 10 ticks of 'default'`` with repeat."""
        tick_word = "tick" if self.n == 1 else "ticks"
        return f"{'every' if self.repeat else 'after'} {self.n} {tick_word} of {self.counter!r}"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "ticks", "version": 1, "n": int, "counter": str, "repeat": bool}``."""
        return {
            "kind": self.kind,
            "version": self.version,
            "n": self.n,
            "counter": self.counter,
            "repeat": self.repeat,
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Ticks:
        return cls(
            _time.required(data, "n"),
            counter=data.get("counter", "default"),
            repeat=data.get("repeat", False),
        )
