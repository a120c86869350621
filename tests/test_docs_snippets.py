"""Every Python block in the docs is valid Python (a formatter or an edit that breaks one is
caught here; the included example files run in tests/test_examples.py, and the doctest blocks
of the trigger pages run in tests/triggers/test_docs.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for match in BLOCK.finditer(page.read_text()):
            indent = match.group(1)
            code = "\n".join(line[len(indent) :] for line in match.group(2).splitlines())
            if code.lstrip().startswith((">>>", "--8<--")):
                continue
            line = page.read_text()[: match.start()].count("\n") + 1
            found.append((f"{page.relative_to(DOCS)}:{line}", code))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[w for w, _ in blocks()])
def test_docs_python_blocks_compile(where: str, code: str) -> None:
    compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_blocks_are_found() -> None:
    assert len(blocks()) > 20
