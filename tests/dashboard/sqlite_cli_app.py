"""A module the CLI tests serve whose scheduler keeps its jobs in SQLite (the file named by
``AIOSCHEDULER_TEST_DB``): ``aioscheduler dashboard tests.dashboard.sqlite_cli_app``."""

from __future__ import annotations

import os

from aioscheduler import Scheduler

DB = os.environ["AIOSCHEDULER_TEST_DB"]
scheduler = Scheduler(store=f"sqlite:///{DB}", allow=["tests.dashboard"])
