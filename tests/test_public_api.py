"""The public face: what `from aioscheduler import ...` offers must not drift silently."""

from __future__ import annotations

import importlib

import aioscheduler
import aioscheduler.errors
import aioscheduler.events
import aioscheduler.testing

EXPECTED = {
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
    "SchedulerThread",
    "Subscription",
    "Ticks",
    "Timer",
    "Trigger",
    "cron",
    "current_run",
    "every",
    "inline",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(aioscheduler.__all__) >= EXPECTED
    assert isinstance(aioscheduler.__all__, tuple)
    for name in aioscheduler.__all__:
        assert hasattr(aioscheduler, name), name


def test_public_classes_present_themselves_as_top_level() -> None:
    for name in (
        "Scheduler",
        "Every",
        "Cron",
        "At",
        "After",
        "Ticks",
        "Timer",
        "Job",
        "Run",
        "CalendarInterval",
        "AnyOf",
        "AllOf",
    ):
        assert getattr(aioscheduler, name).__module__ == "aioscheduler", name


def test_issue_api_names_import() -> None:
    from aioscheduler import After, At, Cron, Every, Job, Scheduler, Ticks, Timer  # noqa: F401
    from aioscheduler.testing import FakeClock  # noqa: F401


def test_every_error_derives_from_the_root_and_a_builtin() -> None:
    errors = aioscheduler.errors
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SchedulerError), name
        if cls is not errors.SchedulerError:
            assert any(
                issubclass(cls, b) for b in (ValueError, LookupError, RuntimeError, TimeoutError)
            ), name


def test_private_modules_are_underscored_and_public_ones_have_all() -> None:
    for mod in (
        "aioscheduler.events",
        "aioscheduler.errors",
        "aioscheduler.testing",
        "aioscheduler.triggers",
        "aioscheduler.stores",
        "aioscheduler.dashboard",
    ):
        module = importlib.import_module(mod)
        assert isinstance(module.__all__, tuple), mod
