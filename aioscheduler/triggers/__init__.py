"""Triggers: when a job fires. See each class for its arguments."""

from ._base import Trigger as Trigger
from .calendar_interval import CalendarInterval as CalendarInterval
from .combine import AllOf as AllOf
from .combine import AnyOf as AnyOf
from .cron import Cron as Cron
from .date import After as After
from .date import At as At
from .interval import Every as Every
from .ticks import Ticks as Ticks

__all__ = (
    "After",
    "AllOf",
    "AnyOf",
    "At",
    "CalendarInterval",
    "Cron",
    "Every",
    "Ticks",
    "Trigger",
)
