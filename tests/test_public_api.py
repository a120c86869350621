"""The public face: what each public module exports must not drift silently.

Every module whose dotted name has no part starting with `_` is public. Its `__all__` is compared
exactly (adding or removing a name fails here first: update EXPECTED in the same commit), every
name in it must import and be documented, and names of the top-level package present themselves
as `aioscheduler.X`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import aioscheduler
import aioscheduler.errors

#: `aioscheduler.__all__`: the names users import from the package itself.
TOP_LEVEL: tuple[str, ...] = (
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

#: Every public module -> its `__all__` (None: a package of optional modules, no names).
EXPECTED: dict[str, tuple[str, ...] | None] = {
    "aioscheduler": TOP_LEVEL,
    "aioscheduler.errors": (
        "BackfillTooLarge",
        "InvalidBackfill",
        "InvalidConfiguration",
        "InvalidDashboard",
        "InvalidDelay",
        "InvalidJob",
        "InvalidTrigger",
        "JobExists",
        "JobNotFound",
        "JobTimeout",
        "NoCommonFiring",
        "RefusedReference",
        "SchedulerError",
        "SchedulerCrashed",
        "SchedulerStateError",
        "SerializationError",
        "StoreDirectoryMissing",
        "StoreDirectoryNotWritable",
        "StoreError",
        "StoreReadOnly",
        "StoreVersionError",
        "StoreWiped",
    ),
    "aioscheduler.events": (
        "ClockJumped",
        "Event",
        "JobAdded",
        "JobBroken",
        "JobEvent",
        "JobPaused",
        "JobPausedAfterFailures",
        "JobRemoved",
        "JobResumed",
        "JobUpdated",
        "LeaseLost",
        "LoopStalled",
        "RunEvent",
        "RunFinished",
        "RunLost",
        "RunMissed",
        "RunSkipped",
        "RunStarted",
        "SchedulerCrashedEvent",
        "SchedulerStarted",
        "SchedulerStopped",
        "StoreRecovered",
        "StoreUnavailable",
    ),
    "aioscheduler.triggers": (
        "After",
        "AllOf",
        "AnyOf",
        "At",
        "CalendarInterval",
        "Cron",
        "Every",
        "Ticks",
        "Trigger",
    ),
    "aioscheduler.triggers.calendar_interval": ("CalendarInterval",),
    "aioscheduler.triggers.combine": ("AllOf", "AnyOf"),
    "aioscheduler.triggers.cron": ("Cron",),
    "aioscheduler.triggers.date": ("After", "At"),
    "aioscheduler.triggers.interval": ("Every",),
    "aioscheduler.triggers.ticks": ("Ticks",),
    "aioscheduler.stores": (
        "Claim",
        "MemoryStore",
        "PostgresStore",
        "ReleaseResult",
        "Store",
        "StoreContext",
        "store_from_url",
    ),
    "aioscheduler.stores.memory": ("FinishedFiring", "MemoryStore"),
    "aioscheduler.stores.postgres": ("PostgresStore",),
    "aioscheduler.stores.redis": ("Lease", "RedisStore"),
    "aioscheduler.stores.sqlite": ("SQLiteStore",),
    "aioscheduler.testing": ("FakeClock",),
    "aioscheduler.testing.conformance": (
        "T0",
        "SharedStoreConformance",
        "StoreConformance",
        "conformance_job",
        "finished",
        "spec",
        "stored_triggers",
    ),
    "aioscheduler.testing.tampering": (
        "Sentinel",
        "TamperingTests",
        "forged_payload",
        "make_sentinel",
    ),
    "aioscheduler.integrations": None,
    "aioscheduler.integrations.aiohttp": ("SCHEDULER_KEY", "cleanup_context"),
    "aioscheduler.integrations.fastapi": ("AppLifespan", "Lifespan"),
    "aioscheduler.integrations.otel": ("ATTRIBUTE_PREFIX", "SchedulerTracing", "instrument"),
    "aioscheduler.integrations.prometheus": (
        "DURATION_BUCKETS",
        "LATENESS_BUCKETS",
        "TIMER_LABEL",
        "SchedulerMetrics",
        "instrument",
    ),
    "aioscheduler.dashboard": ("Dashboard",),
    "aioscheduler.dashboard.aiohttp": ("mount",),
    "aioscheduler.cli": ("build_parser", "main"),
    "aioscheduler.cli.dashboard": ("add_parser", "serve_dashboard"),
    "aioscheduler.cli.jobs": ("list_jobs",),
    "aioscheduler.cli.next": ("parse_interval", "preview", "to_trigger"),
    "aioscheduler.cli.run": ("log_run", "serve"),
}

#: Public by name but not imported here: running it is the CLI (`python -m aioscheduler`).
NOT_IMPORTED = {"aioscheduler.__main__"}


def public_modules() -> list[str]:
    """Every module of the package without a `_` part, found on disk."""
    found = ["aioscheduler"]
    for info in pkgutil.walk_packages(aioscheduler.__path__, "aioscheduler."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(found)


def exported(module_name: str) -> list[tuple[ModuleType, str]]:
    module = importlib.import_module(module_name)
    return [(module, name) for name in getattr(module, "__all__", ())]


ALL_NAMES = [
    pytest.param(module_name, name, id=f"{module_name}.{name}")
    for module_name, names in EXPECTED.items()
    for name in names or ()
]


def test_the_public_modules_are_exactly_the_expected_ones() -> None:
    assert set(public_modules()) - NOT_IMPORTED == set(EXPECTED)


@pytest.mark.parametrize("module_name", sorted(EXPECTED))
def test_all_lists_exactly_the_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names == EXPECTED[module_name]
    assert names is None or isinstance(names, tuple)


@pytest.mark.parametrize(("module_name", "name"), ALL_NAMES)
def test_every_public_name_imports_and_is_documented(module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    obj = getattr(module, name)  # a lazily loaded name (stores.PostgresStore) loads here
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = obj.__doc__ or ""
        # a dataclass without a docstring gets its signature as __doc__: that is not a doc
        assert doc.strip() and not doc.startswith(f"{obj.__name__}("), f"{name} has no docstring"
    else:
        assert name in _commented_names(module), f"{name} has no `#:` comment"


def _commented_names(module: ModuleType) -> set[str]:
    """Module constants documented by a `#:` comment on the line(s) just above them."""
    assert module.__file__ is not None
    source = Path(module.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    names: set[str] = set()
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        above = lines[node.lineno - 2] if node.lineno > 1 else ""
        if above.lstrip().startswith("#:"):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names_present_themselves_as_aioscheduler(name: str) -> None:
    assert getattr(aioscheduler, name).__module__ == "aioscheduler"


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
