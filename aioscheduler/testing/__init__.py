"""Test utilities: a deterministic clock for the scheduler."""

from ._fakeclock import FakeClock

__all__ = ("FakeClock",)

FakeClock.__module__ = "aioscheduler.testing"
