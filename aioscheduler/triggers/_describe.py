"""English descriptions of triggers (``describe()``)."""

from __future__ import annotations

from ._cronspec import CronSpec


def describe_cron(spec: CronSpec) -> str:
    return "cron"
