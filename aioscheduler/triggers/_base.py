"""The trigger contract: a stateless, immutable value that says when a job fires.

A trigger never holds run state. The scheduler (or a store) keeps the last *nominal* due time
and asks the trigger for the next one, so intervals never drift: the next time is computed from
the previous due time, not from when the previous run happened to start or finish.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

from ._time import datetime_to_ts, ts_to_datetime

__all__ = ("Trigger",)

#: Upper bound on iterations of any generic search over a trigger's firings (count_between,
#: preview). A search that would need more raises or is truncated instead of spinning.
MAX_SEARCH = 100_000


class Trigger(ABC):
    """Base class of every trigger.

    Implementations are frozen dataclasses (``@dataclass(frozen=True, slots=True)``) that validate
    their arguments in ``__post_init__`` and raise :class:`~aioscheduler.errors.InvalidTrigger`
    naming the bad value. All datetimes passed in and returned are timezone-aware; returned ones
    are in UTC.
    """

    #: Closed registry of trigger kinds for stored data: ``kind`` -> class.
    _registry: ClassVar[dict[str, type[Trigger]]] = {}
    #: The ``kind`` this class is stored as (set by each concrete subclass).
    kind: ClassVar[str] = ""
    #: The version of the stored representation (bump on incompatible change).
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            Trigger._registry[kind] = cls

    # -- the contract -------------------------------------------------------------------------

    @abstractmethod
    def first_fire(self, now: datetime) -> datetime | None:
        """Return the first nominal firing of a job added at ``now``, or ``None`` if it never fires.

        ``now`` is aware UTC. The result may be ``<= now`` (a start time in the past or an
        ``At`` in the past); the scheduler then treats it as due and applies the misfire policy.
        Triggers not driven by time (``Ticks``) return ``None``.
        """

    @abstractmethod
    def next_after(self, prev: datetime, now: datetime | None = None) -> datetime | None:
        """Return the nominal firing that follows the firing due at ``prev``.

        With ``now`` (later than ``prev``), skip ahead: return the first firing of the sequence
        strictly after ``now``, computing it directly rather than iterating over every missed
        time where the trigger allows it. ``None`` means the trigger is exhausted (one-shot
        done, past ``end_at``).
        """

    def first_fire_ts(self, now: float) -> float | None:
        """:meth:`first_fire` on UTC timestamps (a job's registration, no datetime needed).

        Subclasses may override it with a faster path; results must equal
        ``first_fire(datetime.fromtimestamp(now, UTC)).timestamp()`` exactly.
        """
        first = self.first_fire(datetime.fromtimestamp(now, UTC))
        return None if first is None else first.timestamp()

    def next_after_ts(self, prev: float) -> float | None:
        """:meth:`next_after` on UTC timestamps (the hot path of planning a firing).

        Subclasses may override it with faster arithmetic; results must equal
        ``next_after(prev).timestamp()`` to the microsecond, with ``prev`` read exactly (the
        float's binary value rounded half-even to whole microseconds, as
        ``datetime.fromtimestamp`` does). A float timestamp holds every microsecond until
        2242 (2**33 s); past that the engine's float times are the limit, not the trigger.
        """
        nxt = self.next_after(ts_to_datetime(prev))
        return None if nxt is None else datetime_to_ts(nxt)

    def bind(self, tz: tzinfo | None) -> Trigger:
        """Return this trigger resolved against the scheduler's default time zone ``tz``.

        Called once at registration. A trigger that needs a time zone it was not given
        (a naive datetime, a cron without ``timezone``) takes ``tz`` here, or UTC for a cron;
        a naive ``At`` without any ``tz`` raises :class:`~aioscheduler.errors.InvalidTrigger`.
        The default returns ``self``.
        """
        return self

    def anchor(self, now: datetime) -> Trigger:
        """Return this trigger anchored at ``now``, the time its job is added.

        Called once at registration, after :meth:`bind`. A trigger whose sequence counts from
        the time it was added (``CalendarInterval`` without ``start_at``) fixes that time
        here, so the stored trigger keeps it. The default returns ``self``.
        """
        return self

    @property
    def jitter(self) -> float | None:
        """Maximum random delay in seconds added to each firing (``None``: none)."""
        return None

    def count_between(self, after: datetime, until: datetime, limit: int = MAX_SEARCH) -> int:
        """Count nominal firings ``t`` of the sequence through ``after``, ``after < t <= until``.

        ``after`` must itself be a firing of the sequence. The count stops at ``limit``.
        Subclasses override this with arithmetic where they can.
        """
        count = 0
        t = self.next_after(after)
        while t is not None and t <= until and count < limit:
            count += 1
            t = self.next_after(t)
        return count

    def latest_at_or_before(
        self, after: datetime, until: datetime, limit: int = MAX_SEARCH
    ) -> tuple[datetime, int]:
        """Return the latest firing ``t <= until`` of the sequence through ``after``, and how many
        firings lie in ``(after, t]``.

        ``after`` must itself be a firing of the sequence; if no firing follows it by ``until``,
        the result is ``(after, 0)``. Used for coalescing and misfire accounting. The walk stops
        after ``limit`` firings (then the count is ``limit`` and the time the last one reached).
        Subclasses override this with arithmetic where they can.
        """
        latest, count = after, 0
        t = self.next_after(after)
        while t is not None and t <= until and count < limit:
            latest, count = t, count + 1
            t = self.next_after(t)
        return latest, count

    def latest_at_or_before_ts(
        self, after: float, until: float, limit: int = MAX_SEARCH
    ) -> tuple[float, int]:
        """:meth:`latest_at_or_before` on UTC timestamps (coalescing on the hot path).

        Subclasses may override it with faster arithmetic; results must equal
        ``latest_at_or_before`` on ``datetime.fromtimestamp(t, UTC)`` of both times, the
        latest firing as its ``timestamp()``.
        """
        latest, count = self.latest_at_or_before(
            datetime.fromtimestamp(after, UTC), datetime.fromtimestamp(until, UTC), limit
        )
        return latest.timestamp(), count

    def preview(self, k: int, after: datetime | None = None) -> list[datetime]:
        """Return the next ``k`` firings (aware UTC) of a job added at ``after`` (default: now).

        Used by the docs, the CLI (``aioscheduler next``) and tests.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k!r}")
        if after is None:
            after = datetime.now(UTC)
        elif after.tzinfo is None:
            raise ValueError(f"after must be timezone-aware, got naive {after!r}")
        out: list[datetime] = []
        trigger = self.anchor(after.astimezone(UTC))
        t = trigger.first_fire(after.astimezone(UTC))
        while t is not None and len(out) < k:
            out.append(t)
            t = trigger.next_after(t)
        return out

    def describe(self) -> str:
        """An English sentence saying when the trigger fires, for tables, logs and ``repr``."""
        return type(self).__name__

    def __repr__(self) -> str:
        """The constructor-like call, then ``# describe()``:
        ``Every(interval=datetime.timedelta(seconds=300))  # every 5 minutes``."""
        return f"{self.call_repr()}  # {self.describe()}"

    def call_repr(self) -> str:
        """The constructor-like call of :func:`repr` without the description:
        ``Name(field=value, ...)`` with the fields that are not ``None``."""
        import dataclasses

        if not dataclasses.is_dataclass(self):
            return f"{type(self).__name__}()"
        shown = ", ".join(
            f"{f.name}={value!r}"
            for f in dataclasses.fields(self)
            if f.repr and (value := getattr(self, f.name)) is not None
        )
        return f"{type(self).__name__}({shown})"

    # -- stored form --------------------------------------------------------------------------

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the stored form: JSON-compatible, ``{"kind": ..., "version": ..., ...}``."""

    @classmethod
    @abstractmethod
    def _from_dict(cls, data: dict[str, Any]) -> Trigger:
        """Build the trigger from its stored form (``kind`` and ``version`` already checked)."""

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Trigger:
        """Rebuild a trigger from :meth:`to_dict` output.

        Only kinds in the closed registry are accepted; an unknown kind or a newer version
        raises :class:`~aioscheduler.errors.InvalidTrigger` (never a silent deletion).
        """
        from ..errors import InvalidTrigger

        if not isinstance(data, dict):
            raise InvalidTrigger(f"stored trigger must be a mapping, got {data!r}")
        kind = data.get("kind")
        cls = Trigger._registry.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise InvalidTrigger(f"unknown stored trigger kind {kind!r}")
        version = data.get("version")
        if not isinstance(version, int) or version > cls.version or version < 1:
            raise InvalidTrigger(
                f"stored {kind} trigger has version {version!r}; this aioscheduler reads "
                f"versions 1..{cls.version}"
            )
        return cls._from_dict(data)
