"""Layers point down: every module has a layer, no import goes up, no import cycle at all.

face -> core -> parts -> values -> ground (STYLE rule 3, issue 11). Triggers, the value types
and events form a layer of their own: stores keep them, and they import only the ground. An import
counts wherever it sits: at the top level, in a function, under `TYPE_CHECKING`, or as
`importlib.import_module("...")`.
The checker is `tests/layers_support.py`; the tests at the bottom run it over mutated copies of
the package and over small synthetic packages, to show that each rule can fail.
"""

from __future__ import annotations

import functools
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.layers_support import Layer, check

PACKAGE = Path(__file__).resolve().parent.parent / "aioscheduler"

FACE, CORE, PARTS, VALUES, GROUND = Layer.FACE, Layer.CORE, Layer.PARTS, Layer.VALUES, Layer.GROUND

#: Every file of a folder gets the folder's layer, unless LAYER_OF_FILE names the file.
LAYER_OF_DIR: dict[str, Layer] = {
    "cli": FACE,
    "dashboard": FACE,
    "integrations": FACE,
    "testing": FACE,
    "stores": PARTS,
    "triggers": VALUES,  # pure values: a trigger imports only errors and its own package
}

#: The layer of each module outside the folders above (a new module must be added here).
LAYER_OF_FILE: dict[str, Layer] = {
    # face: what users import, and what it is built from
    "__init__.py": FACE,
    "__main__.py": FACE,
    "_scheduler.py": FACE,
    "_decorators.py": FACE,
    "_declaring.py": FACE,  # the decorators' registration half of Scheduler
    "_jobapi.py": FACE,  # add/remove/pause... of Scheduler: validates and delegates
    # core: the engine
    "_attempts.py": CORE,
    "_backfill.py": CORE,
    "_backlog.py": CORE,
    "_cluster.py": CORE,
    "_dispatcher.py": CORE,
    "_engine.py": CORE,
    "_executors.py": CORE,
    "_firing.py": CORE,
    "_jobruns.py": CORE,
    "_lifecycle.py": CORE,
    "_registry.py": CORE,
    "_specs.py": CORE,
    "_ticks.py": CORE,
    "_events.py": CORE,
    "_modify.py": CORE,
    "_process.py": CORE,
    "_recording.py": CORE,
    "_runner.py": CORE,
    "_runjob.py": CORE,
    "_runstop.py": CORE,
    "_stopping.py": CORE,
    "_threaded.py": CORE,
    "_timers.py": CORE,
    "_watchdog.py": CORE,
    # ground: errors, time, encoding, statistics; imports nothing above it
    "_clock.py": GROUND,
    "_crypto.py": GROUND,
    "_gcfreeze.py": GROUND,  # the gc.freeze() policy: imports only the standard library
    "_heap.py": GROUND,
    "_limits.py": GROUND,  # pure arithmetic for the value types (COMMON.md had it in core)
    "_refs.py": GROUND,
    "_serialization.py": GROUND,
    "_statistics.py": GROUND,
    "_tagged.py": GROUND,
    "_tracebacks.py": GROUND,
    "errors.py": GROUND,
    # values: the immutable data a schedule is made of (jobs, runs, events, triggers)
    "_values.py": VALUES,
    "events.py": VALUES,
    "_admission.py": VALUES,  # which stored callables may run: judges JobSpec values
    "_logs.py": VALUES,  # log records built from runs and events
}


def test_every_module_has_a_layer_and_imports_point_down_without_cycles() -> None:
    problems = check(PACKAGE, LAYER_OF_FILE, LAYER_OF_DIR)
    assert problems == [], "\n".join(problems)


def test_every_module_of_the_package_has_a_layer() -> None:
    problems = check(PACKAGE, LAYER_OF_FILE, LAYER_OF_DIR)
    unmapped = [p for p in problems if "has no layer" in p or "in the layer map but" in p]
    assert unmapped == [], "\n".join(unmapped)


# --- the guard can fail: mutations of a copy of the real package ------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package's source (no caches), to mutate."""
    target = tmp_path / "aioscheduler"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "static"))
    return target


def append(file: Path, source: str) -> None:
    file.write_text(file.read_text() + "\n" + textwrap.dedent(source))


@functools.cache
def problems_today() -> frozenset[str]:
    """The real package's problems: a mutation's own show up on top of these."""
    return frozenset(check(PACKAGE, LAYER_OF_FILE, LAYER_OF_DIR))


def new_problems(copy: Path) -> list[str]:
    return [p for p in check(copy, LAYER_OF_FILE, LAYER_OF_DIR) if p not in problems_today()]


MUTATIONS = [
    pytest.param(
        "events.py",
        "if TYPE_CHECKING:\n    from ._scheduler import Scheduler\n",
        "aioscheduler.events -> aioscheduler._scheduler (under TYPE_CHECKING): upward import, "
        "values imports face",
        id="values-import-the-face-under-TYPE_CHECKING",
    ),
    pytest.param(
        "events.py",
        "from ._runner import current_run\n",
        "aioscheduler.events -> aioscheduler._runner (top level): upward import, "
        "values imports core",
        id="values-import-core-at-top-level",
    ),
    pytest.param(
        "triggers/cron.py",
        "def _late() -> object:\n"
        "    import importlib\n"
        '    return importlib.import_module("aioscheduler._scheduler")\n',
        "aioscheduler.triggers.cron -> aioscheduler._scheduler (importlib, in a function): "
        "upward import, values imports face",
        id="trigger-imports-the-face-through-importlib",
    ),
    pytest.param(
        "stores/memory.py",
        "def _late() -> None:\n    from .. import _dispatcher\n",
        "aioscheduler.stores.memory -> aioscheduler._dispatcher (in a function): upward import, "
        "parts imports core",
        id="store-imports-core-in-a-function-relatively",
    ),
    pytest.param(
        "errors.py",
        "import aioscheduler.triggers.cron\n",
        "aioscheduler.errors -> aioscheduler.triggers.cron (top level): upward import, "
        "ground imports values",
        id="ground-imports-a-trigger-absolutely",
    ),
    pytest.param(
        "_heap.py",
        "from . import _clock\n",
        "import cycle among aioscheduler._clock, aioscheduler._heap",
        id="cycle-inside-one-layer",
    ),
]


@pytest.mark.parametrize(("file", "source", "expected"), MUTATIONS)
def test_a_mutated_package_is_reported(copy: Path, file: str, source: str, expected: str) -> None:
    if file == "_heap.py":  # make the cycle: _clock imports _heap under TYPE_CHECKING
        append(copy / "_clock.py", "if TYPE_CHECKING:\n    from ._heap import DueHeap\n")
    append(copy / file, source)
    found = new_problems(copy)
    assert any(expected in p for p in found), "\n".join(found)
    assert all(p.startswith(("aioscheduler/", "import cycle")) for p in found), found


def test_a_renamed_module_is_unmapped_and_its_old_entry_stale(copy: Path) -> None:
    (copy / "_clock.py").rename(copy / "_time_source.py")
    found = new_problems(copy)
    assert any(
        p.startswith("aioscheduler/_time_source.py: module aioscheduler._time_source has no layer")
        for p in found
    ), found
    assert "aioscheduler/_clock.py: in the layer map but no such module" in found


def test_a_new_folder_is_unmapped(copy: Path) -> None:
    (copy / "executors").mkdir()
    (copy / "executors" / "__init__.py").write_text("")
    found = new_problems(copy)
    assert found == [
        "aioscheduler/executors/__init__.py: module aioscheduler.executors has no layer: "
        "add it to the layer map in tests/test_layers.py"
    ]


# --- the guard can fail: small synthetic packages ---------------------------------------------

SYNTHETIC_FILES = {"__init__.py": FACE, "core.py": CORE, "low.py": GROUND}
SYNTHETIC_DIRS = {"parts": PARTS}


def synthetic(tmp_path: Path, low: str, part: str = "") -> Path:
    """A package `aioscheduler` with face `__init__`, `core`, ground `low`, parts `parts/x`."""
    root = tmp_path / "aioscheduler"
    (root / "parts").mkdir(parents=True)
    (root / "__init__.py").write_text("from . import core, low\n")
    (root / "core.py").write_text("from . import low\n")
    (root / "low.py").write_text(textwrap.dedent(low))
    (root / "parts" / "__init__.py").write_text("")
    (root / "parts" / "x.py").write_text(textwrap.dedent(part))
    return root


def test_a_clean_synthetic_package_has_no_problems(tmp_path: Path) -> None:
    root = synthetic(tmp_path, "import os\n", "from .. import low\n")
    assert check(root, SYNTHETIC_FILES, SYNTHETIC_DIRS) == []


UPWARD = [
    pytest.param("import aioscheduler.core\n", "(top level)", id="import-absolute"),
    pytest.param("from aioscheduler import core\n", "(top level)", id="from-package-import-module"),
    pytest.param("from .core import thing\n", "(top level)", id="from-relative-module"),
    pytest.param("from . import core as c\n", "(top level)", id="from-dot-import-module"),
    pytest.param(
        "import typing\nif typing.TYPE_CHECKING:\n    from .core import T\n",
        "(under TYPE_CHECKING)",
        id="typing-dot-TYPE_CHECKING",
    ),
    pytest.param(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    pass\nelse:\n    from . import core\n",
        "(top level)",
        id="else-of-TYPE_CHECKING-runs",
    ),
    pytest.param(
        "class C:\n    def m(self) -> None:\n        from .core import T\n",
        "(in a function)",
        id="in-a-method",
    ),
    pytest.param(
        "f = lambda: __import__('aioscheduler.core')\n",
        "(importlib, in a function)",
        id="dunder-import-in-a-lambda",
    ),
    pytest.param(
        "import importlib\nimportlib.import_module('.core', __package__)\n",
        "(importlib)",
        id="import-module-relative",
    ),
    pytest.param(
        "from importlib import import_module\n"
        "name = 'x'\nimport_module(f'aioscheduler.core.{name}')\n",
        "(importlib)",
        id="import-module-f-string",
    ),
]


@pytest.mark.parametrize(("source", "kind"), UPWARD)
def test_every_form_of_upward_import_is_reported(tmp_path: Path, source: str, kind: str) -> None:
    root = synthetic(tmp_path, source)
    problems = check(root, SYNTHETIC_FILES, SYNTHETIC_DIRS)
    assert f"aioscheduler.low -> aioscheduler.core {kind}: upward import, ground imports core" in (
        " ".join(problems)
    ), problems
    assert all(p.startswith("aioscheduler/low.py:") or "import cycle" in p for p in problems)


def test_an_import_from_two_levels_up_resolves_to_the_right_module(tmp_path: Path) -> None:
    root = synthetic(tmp_path, "", "def f() -> None:\n    from ..core import thing\n")
    assert check(root, SYNTHETIC_FILES, SYNTHETIC_DIRS) == [
        "aioscheduler/parts/x.py:2: aioscheduler.parts.x -> aioscheduler.core (in a function): "
        "upward import, parts imports core"
    ]


def test_imports_of_other_packages_and_of_names_in_a_lower_module_are_fine(tmp_path: Path) -> None:
    source = "import importlib\nimport aioschedulerx\nimportlib.import_module('json')\n"
    root = synthetic(tmp_path, source, "from ..low import name\nfrom aioscheduler.low import n\n")
    assert check(root, SYNTHETIC_FILES, SYNTHETIC_DIRS) == []


def test_a_cycle_through_a_function_level_import_names_every_edge(tmp_path: Path) -> None:
    root = synthetic(tmp_path, "", "")
    (root / "core.py").write_text("from . import low\nfrom . import other\n")
    (root / "other.py").write_text("def f() -> None:\n    from .core import x\n")
    problems = check(root, {**SYNTHETIC_FILES, "other.py": CORE}, SYNTHETIC_DIRS)
    assert problems == [
        "import cycle among aioscheduler.core, aioscheduler.other: "
        "aioscheduler.core -> aioscheduler.other -> aioscheduler.core "
        "[aioscheduler/core.py:2: aioscheduler.core -> aioscheduler.other (top level); "
        "aioscheduler/other.py:2: aioscheduler.other -> aioscheduler.core (in a function)]"
    ]


def test_a_stale_folder_rule_is_reported(tmp_path: Path) -> None:
    root = synthetic(tmp_path, "", "")
    problems = check(root, SYNTHETIC_FILES, {**SYNTHETIC_DIRS, "executors": CORE})
    assert problems == ["aioscheduler/executors/: in the layer map but no such folder"]


def test_a_file_entry_overrides_its_folder_rule(tmp_path: Path) -> None:
    root = synthetic(tmp_path, "from .parts import y\n", "")
    (root / "parts" / "y.py").write_text("")
    assert check(root, {**SYNTHETIC_FILES, "parts/y.py": GROUND}, SYNTHETIC_DIRS) == []
