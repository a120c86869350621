"""Layers point down: parts (triggers, stores) never import the face or the core."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aioscheduler"

#: module (relative to the package) -> modules it must never import
FORBIDDEN = {
    "triggers": {
        "_scheduler",
        "_dispatcher",
        "_runner",
        "stores",
        "integrations",
        "cli",
        "dashboard",
    },
    "stores": {"_scheduler", "_dispatcher", "_runner", "integrations", "cli", "dashboard"},
    "_heap.py": {"_scheduler", "_dispatcher", "_runner", "asyncio"},
    "_clock.py": {"_scheduler", "_dispatcher", "_runner", "stores"},
    "errors.py": {"_scheduler", "_dispatcher", "_runner", "stores", "triggers"},
    "_serialization.py": {"_scheduler", "_dispatcher", "_runner", "stores"},
    "_refs.py": {"_scheduler", "_dispatcher", "_runner", "stores", "_admission"},
    "_admission.py": {"_scheduler", "_dispatcher", "_runner", "stores"},
    "_crypto.py": {"_scheduler", "_dispatcher", "_runner", "stores"},
    "testing/conformance.py": {"_scheduler", "_dispatcher", "_runner"},
    "testing/tampering.py": {"_scheduler", "_dispatcher", "_runner"},
}


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" if module else a.name for a in node.names)
    return {part for name in names for part in name.split(".")}


def test_lower_layers_do_not_import_upper_layers() -> None:
    problems = []
    for target, banned in FORBIDDEN.items():
        path = PACKAGE / target
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if not file.exists():
                continue
            bad = imported_names(file) & banned
            if bad:
                problems.append(f"{file.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert problems == []


def test_the_layer_map_covers_real_modules() -> None:
    assert (PACKAGE / "triggers").is_dir()
    assert (PACKAGE / "stores").is_dir()
    assert (PACKAGE / "_heap.py").is_file()
