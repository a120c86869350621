"""The examples in docs/triggers/*.md and in the trigger docstrings run and print what they say."""

from __future__ import annotations

import doctest
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aioscheduler.triggers import After, AllOf, AnyOf, At, CalendarInterval, Cron, Every, Ticks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "triggers"
GLOBALS = {
    "After": After,
    "AllOf": AllOf,
    "AnyOf": AnyOf,
    "CalendarInterval": CalendarInterval,
    "At": At,
    "Cron": Cron,
    "Every": Every,
    "Ticks": Ticks,
    "datetime": datetime,
    "timedelta": timedelta,
    "timezone": timezone,
    "ZoneInfo": ZoneInfo,
    "now": datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
}


def _run(text: str, name: str) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(text, dict(GLOBALS), name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize(
    "page", ["every", "cron", "at-after", "ticks", "calendar-interval", "combining"]
)
def test_doc_page_examples(page: str) -> None:
    # A closing code fence would otherwise be read as part of the expected output.
    text = (DOCS / f"{page}.md").read_text(encoding="utf-8").replace("```", "\n")
    result = _run(text, page)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "cls",
    [After, At, Cron, Every, Ticks, CalendarInterval, AnyOf, AllOf],
    ids=lambda c: c.__name__,
)
def test_docstring_examples(cls: type) -> None:
    result = _run(cls.__doc__ or "", cls.__name__)
    assert result.attempted > 0
    assert result.failed == 0


_TABLE = re.compile(
    r"<!-- dst-table zone=(\S+) from=(\S+) to=(\S+) keyword=(\w+) -->\n"
    r"\| expression \|(.*)\|\n\|[-|]+\|\n((?:\|.*\|\n)+)"
)


def _dst_tables() -> list[tuple[str, str, str, str, str, str]]:
    text = (DOCS / "cron.md").read_text(encoding="utf-8")
    out = []
    for zone, start, end, keyword, header, body in _TABLE.findall(text):
        policies = [h.strip().strip("`") for h in header.split("|")]
        for row in body.strip().splitlines():
            expression, *cells = (c.strip() for c in row.strip("|").split("|"))
            for policy, cell in zip(policies, cells, strict=True):
                out.append((zone, start, end, keyword, expression.strip("`"), policy + "=" + cell))
    return out


def test_the_dst_tables_are_there() -> None:
    assert len(_dst_tables()) == 6 * 3 + 4 * 4


@pytest.mark.parametrize(("zone", "start", "end", "keyword", "expression", "cell"), _dst_tables())
def test_dst_table_cells_are_what_cron_does(
    zone: str, start: str, end: str, keyword: str, expression: str, cell: str
) -> None:
    policy, _, shown = cell.partition("=")
    tz = ZoneInfo(zone)
    policies: dict[str, Any] = {keyword: policy}  # dst_gap= or dst_repeat=, from the table
    trigger = Cron(expression, timezone=tz, **policies)
    first, last = (datetime.fromisoformat(x).replace(tzinfo=tz) for x in (start, end))
    times, t = [], trigger.first_fire(first - timedelta(microseconds=1))
    while t is not None and t < last:
        times.append(t.astimezone(tz).strftime("%H:%M %Z"))
        t = trigger.next_after(t)
    assert (", ".join(times) or "-") == shown
