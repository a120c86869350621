"""The docs show the files they include (see ``tests/docs_includes.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .docs_includes import ROOT, problems


def test_a_mangled_include_line_is_reported(tmp_path: Path) -> None:
    docs, site = tmp_path / "docs", tmp_path / "site" / "page"
    docs.mkdir()
    site.mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "x.py").write_text("print('hello')\n")
    (docs / "page.md").write_text('```python\n--8 < --"examples/x.py"\n```\n')
    (site / "index.html").write_text('<pre><code>--8 &lt; --"examples/x.py"</code></pre>')
    found = problems(tmp_path / "site", docs, tmp_path)
    assert any("malformed include" in p for p in found)
    assert any("examples/x.py is not in" in p for p in found)


def test_a_well_formed_include_in_the_html_passes(tmp_path: Path) -> None:
    docs, site = tmp_path / "docs", tmp_path / "site" / "page"
    docs.mkdir()
    site.mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "x.py").write_text("print('hello')\n")
    (docs / "page.md").write_text('```python\n--8<-- "examples/x.py"\n```\n')
    (site / "index.html").write_text(
        "<pre><code><span>print</span>(<span>&#39;hello&#39;</span>)</code></pre>"
    )
    assert problems(tmp_path / "site", docs, tmp_path) == []


@pytest.mark.slow
def test_the_built_docs_contain_every_included_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr
    assert problems(site) == []
