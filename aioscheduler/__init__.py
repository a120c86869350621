"""aioscheduler: an asyncio-native scheduler of jobs and timers.

Quick start::

    from aioscheduler import Scheduler, Every

    scheduler = Scheduler()

    @scheduler.every(seconds=30)
    async def refresh() -> None: ...

    async def main() -> None:
        async with scheduler:
            await serve_forever()
"""

from ._decorators import cron as cron
from ._decorators import every as every
from ._decorators import inline as inline
from ._events import EventStream as EventStream
from ._events import Subscription as Subscription
from ._firing import current_run as current_run
from ._scheduler import Scheduler as Scheduler
from ._statistics import SchedulerState as SchedulerState
from ._statistics import SchedulerStatistics as SchedulerStatistics
from ._threaded import SchedulerThread as SchedulerThread
from ._timers import Timer as Timer
from ._values import Backoff as Backoff
from ._values import Job as Job
from ._values import JobOptions as JobOptions
from ._values import Outcome as Outcome
from ._values import Run as Run
from .triggers import After as After
from .triggers import AllOf as AllOf
from .triggers import AnyOf as AnyOf
from .triggers import At as At
from .triggers import CalendarInterval as CalendarInterval
from .triggers import Cron as Cron
from .triggers import Every as Every
from .triggers import Ticks as Ticks
from .triggers import Trigger as Trigger

__all__ = (
    "After",
    "AllOf",
    "AnyOf",
    "At",
    "Backoff",
    "CalendarInterval",
    "Cron",
    "EventStream",
    "Every",
    "Job",
    "JobOptions",
    "Outcome",
    "Run",
    "Scheduler",
    "SchedulerState",
    "SchedulerStatistics",
    "SchedulerThread",
    "Subscription",
    "Ticks",
    "Timer",
    "Trigger",
    "cron",
    "current_run",
    "every",
    "inline",
)

__version__ = "0.1.0"

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("aioscheduler."):
        _obj.__module__ = "aioscheduler"
del _name, _obj
