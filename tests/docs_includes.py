"""Check that every file the docs include (``--8<-- "examples/x.py"``) is in the built HTML.

A formatter once turned the include lines into ``--8 < --"examples/..."``: the snippets
extension then leaves the line as text, the page shows a stray line instead of the code, and
``mkdocs build --strict`` still passes. This check reads the Markdown for anything that looks
like an include (mangled or not), and the built site for the included file's lines.

Usage: ``python -m tests.docs_includes SITE_DIR`` (after ``mkdocs build --site-dir SITE_DIR``);
exit status 1 with one line per problem.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

#: Anything that looks like a snippets include, also with spaces or quotes moved by a formatter.
LOOSE = re.compile(r"""^\s*-+\s*8\s*<\s*-+\s*["']([^"']+)["']\s*$""")
EXACT = re.compile(r"""^--8<-- "([^"]+)"$""")
TAG = re.compile(r"<[^>]+>")


def includes(docs: Path = DOCS) -> list[tuple[Path, int, str, bool]]:
    """``(page, line number, included path, well formed)`` for every include line."""
    found = []
    for page in sorted(docs.rglob("*.md")):
        for number, line in enumerate(page.read_text().splitlines(), 1):
            match = LOOSE.match(line)
            if match:
                found.append((page, number, match.group(1), bool(EXACT.match(line.strip()))))
    return found


def page_html(site: Path, page: Path, docs: Path = DOCS) -> Path:
    relative = page.relative_to(docs).with_suffix("")
    if relative.name == "index":
        return site / relative.parent / "index.html"
    return site / relative / "index.html"


def html_text(path: Path) -> str:
    return html.unescape(TAG.sub("", path.read_text()))


def problems(site: Path, docs: Path = DOCS, root: Path = ROOT) -> list[str]:
    """One line per include that is malformed, names a missing file, or is not in the HTML;
    and one per example that no page includes."""
    out = []
    included: set[Path] = set()
    for page, number, name, well_formed in includes(docs):
        where = f"{page.relative_to(root)}:{number}"
        if not well_formed:
            out.append(f'{where}: malformed include; write it as --8<-- "{name}"')
        source = root / name
        if not source.is_file():
            out.append(f"{where}: included file {name} does not exist")
            continue
        included.add(source.resolve())
        built = page_html(site, page, docs)
        if not built.is_file():
            out.append(f"{where}: no built page {built}")
            continue
        text = html_text(built)
        missing = [ln.strip() for ln in source.read_text().splitlines() if ln.strip()]
        missing = [ln for ln in missing if ln not in text]
        if missing:
            first = missing[0]
            out.append(f"{where}: {name} is not in {built} (first missing line: {first!r})")
    examples = root / "examples"
    for example in sorted(examples.glob("*.py")) if examples.is_dir() else ():
        if example.resolve() not in included:
            out.append(f"examples/{example.name} is not included in any docs page")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.docs_includes SITE_DIR", file=sys.stderr)
        return 2
    found = problems(Path(argv[0]))
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
