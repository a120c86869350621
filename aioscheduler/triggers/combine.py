"""``AnyOf`` and ``AllOf``: triggers made of other triggers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar, TypeVar

from ..errors import InvalidTrigger, NoCommonFiring
from . import _time
from ._base import Trigger

__all__ = ("AllOf", "AnyOf")

_US = timedelta(microseconds=1)
_C = TypeVar("_C", bound="_Combined")


def _members(name: str, triggers: tuple[object, ...]) -> tuple[Trigger, ...]:
    if not triggers:
        raise InvalidTrigger(f"{name} needs at least one trigger")
    for t in triggers:
        if not isinstance(t, Trigger):
            raise InvalidTrigger(f"{name} takes triggers (Cron, Every, At...), got {t!r}")
        if t.kind == "ticks":
            raise InvalidTrigger(f"{name} cannot combine {t!r}: ticks are not times")
    return tuple(triggers)  # type: ignore[arg-type]


def _at_or_after(member: Trigger, anchor: datetime, x: datetime) -> datetime | None:
    """The first firing ``>= x`` of ``member``'s sequence started at ``anchor``.

    Members are walked from their own first firing with ``next_after(first, now=...)``, which
    every trigger computes directly (an ``Every`` stays on its grid, a ``Cron`` searches).
    """
    first = member.first_fire(anchor)
    if first is None or first >= x:
        return first
    return member.next_after(first, x - _US)


class _Combined(Trigger):
    """What AnyOf and AllOf share: members, an anchor, binding and the stored form."""

    __slots__ = ()
    triggers: tuple[Trigger, ...]
    anchored_at: datetime | None

    def _anchor_for(self, fallback: datetime) -> datetime:
        return fallback if self.anchored_at is None else self.anchored_at

    def anchor(self, now: datetime) -> Trigger:
        """Fix the time the members' sequences start (the time the job is added)."""
        if self.anchored_at is not None:
            return self
        return _copy(self, triggers=tuple(t.anchor(now) for t in self.triggers), anchored_at=now)

    def call_repr(self) -> str:
        """``AnyOf(member call, ...)`` (with ``max_steps`` when not the default)."""
        members = ", ".join(t.call_repr() for t in self.triggers)
        steps = getattr(self, "max_steps", 10_000)
        extra = "" if steps == 10_000 else f", max_steps={steps}"
        return f"{type(self).__name__}({members}{extra})"

    def bind(self, tz: tzinfo | None) -> Trigger:
        """Bind every member to the scheduler's zone."""
        return _copy(self, triggers=tuple(t.bind(tz) for t in self.triggers))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "version": 1, "triggers": [member stored forms], "anchored_at"}``."""
        return {
            "kind": self.kind,
            "version": self.version,
            "triggers": [t.to_dict() for t in self.triggers],
            "anchored_at": _time.dt_to_json(self.anchored_at),
        }

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Trigger:
        built, anchored = _stored_parts(cls, data, {})
        return _copy(built, anchored_at=anchored)


@dataclass(frozen=True, slots=True, init=False, repr=False)
class AnyOf(_Combined):
    """Fire whenever any of ``triggers`` fires (the union); simultaneous firings fold into one.

    Args:
        *triggers: One or more time triggers (``Cron``, ``Every``, ``At``,
            ``CalendarInterval``, another ``AnyOf``/``AllOf``...), not ``Ticks``.

    Raises:
        InvalidTrigger: No trigger, or an argument that is not a time trigger.

    Example:
        >>> weekdays = Cron("0 9 * * mon-fri", timezone="UTC")
        >>> weekend = Cron("0 11 * * sat,sun", timezone="UTC")
        >>> AnyOf(weekdays, weekend).describe()
        'at 09:00 on Monday through Friday (UTC), or at 11:00 on Saturday and Sunday (UTC)'
    """

    kind: ClassVar[str] = "any_of"

    triggers: tuple[Trigger, ...]
    #: When the job was added (set by the scheduler; stored; not part of equality).
    anchored_at: datetime | None = field(compare=False)

    def __init__(self, *triggers: Trigger) -> None:
        object.__setattr__(self, "triggers", _members("AnyOf", triggers))
        object.__setattr__(self, "anchored_at", None)

    def first_fire(self, now: datetime) -> datetime | None:
        """The earliest member firing after ``now``."""
        return self._earliest(self._anchor_for(now), now + _US)

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """The earliest member firing strictly after ``max(prev, now)``."""
        target = prev if now is None or now < prev else now
        return self._earliest(self._anchor_for(prev), target + _US)

    def _earliest(self, anchor: datetime, x: datetime) -> datetime | None:
        best: datetime | None = None
        for member in self.triggers:
            t = _at_or_after(member, anchor, x)
            if t is not None and (best is None or t < best):
                best = t
        return best

    @property
    def jitter(self) -> float | None:
        """The largest member jitter."""
        values = [t.jitter for t in self.triggers if t.jitter]
        return max(values) if values else None

    def describe(self) -> str:
        """The members' descriptions joined by ``, or``."""
        return ", or ".join(t.describe() for t in self.triggers)


@dataclass(frozen=True, slots=True, init=False, repr=False)
class AllOf(_Combined):
    """Fire at the times at which every one of ``triggers`` fires (the intersection).

    The search alternates between members, each time jumping to the latest of their next
    firings, until they agree. It is bounded: after ``max_steps`` jumps without agreement the
    first firing raises :class:`~aioscheduler.errors.NoCommonFiring` (so adding the job
    fails, with the reason); a later search that runs out ends the sequence.

    Args:
        *triggers: Two or more time triggers, not ``Ticks``.
        max_steps: The bound of one search (``int >= 1``).

    Raises:
        InvalidTrigger: Fewer than one trigger, a non-trigger, or a bad ``max_steps``.

    Example:
        >>> fridays = Cron("0 0 * * fri", timezone="UTC")
        >>> thirteenth = Cron("0 0 13 * *", timezone="UTC")
        >>> [t.date().isoformat() for t in AllOf(fridays, thirteenth).preview(2, after=now)]
        ['2026-03-13', '2026-11-13']
    """

    kind: ClassVar[str] = "all_of"

    triggers: tuple[Trigger, ...]
    #: When the job was added (set by the scheduler; stored; not part of equality).
    anchored_at: datetime | None = field(compare=False)
    max_steps: int = 10_000

    def __init__(self, *triggers: Trigger, max_steps: int = 10_000) -> None:
        if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
            raise InvalidTrigger(f"max_steps must be an int >= 1, got {max_steps!r}")
        object.__setattr__(self, "triggers", _members("AllOf", triggers))
        object.__setattr__(self, "anchored_at", None)
        object.__setattr__(self, "max_steps", max_steps)

    def first_fire(self, now: datetime) -> datetime | None:
        """The first time all members agree on, after ``now``.

        Raises:
            NoCommonFiring: No agreement within ``max_steps`` jumps.
        """
        found, exhausted = self._search(self._anchor_for(now), now + _US)
        if exhausted:
            raise NoCommonFiring(
                f"{self.describe()}: no time on which all of them fire was found within "
                f"{self.max_steps} steps after {now.isoformat()}"
            )
        return found

    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """The next agreed time strictly after ``max(prev, now)`` (``None`` if the bounded
        search finds none)."""
        target = prev if now is None or now < prev else now
        return self._search(self._anchor_for(prev), target + _US)[0]

    def _search(self, anchor: datetime, x: datetime) -> tuple[datetime | None, bool]:
        for _ in range(self.max_steps):
            times = []
            for member in self.triggers:
                t = _at_or_after(member, anchor, x)
                if t is None:
                    return None, False
                times.append(t)
            latest = max(times)
            if all(t == latest for t in times):
                return latest, False
            x = latest
        return None, True

    def describe(self) -> str:
        """The members' descriptions joined by ``, and``."""
        return "when all agree: " + ", and ".join(t.describe() for t in self.triggers)

    def to_dict(self) -> dict[str, Any]:
        """Like ``AnyOf``, with ``max_steps``."""
        return {**_Combined.to_dict(self), "max_steps": self.max_steps}

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Trigger:
        steps = data.get("max_steps", 10_000)
        built, anchored = _stored_parts(cls, data, {"max_steps": steps})
        return _copy(built, anchored_at=anchored)


def _copy(trigger: _C, **changes: Any) -> _C:
    """A copy of the frozen ``trigger`` with some fields changed (no validation: the values
    come from a valid trigger)."""
    new = object.__new__(type(trigger))
    for f in fields(trigger):  # type: ignore[arg-type]
        object.__setattr__(new, f.name, changes.get(f.name, getattr(trigger, f.name)))
    return new


def _stored_parts(
    cls: type[_C], data: dict[str, Any], options: dict[str, Any]
) -> tuple[_C, datetime | None]:
    """The trigger built from the stored members and ``options`` (validated by the
    constructor), and the stored ``anchored_at`` to set on it."""
    members = _time.required(data, "triggers")
    if not isinstance(members, list):
        raise InvalidTrigger(f"stored {cls.kind} triggers must be a list, got {members!r}")
    built = cls(*(Trigger.from_dict(m) for m in members), **options)
    anchored = _time.dt_from_json(data, "anchored_at")
    if anchored is not None and anchored.tzinfo is None:
        raise InvalidTrigger(f"stored anchored_at must be aware, got {anchored.isoformat()}")
    return built, anchored
