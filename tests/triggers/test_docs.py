"""The examples in docs/triggers/*.md and in the trigger docstrings run and print what they say."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aioscheduler.triggers import After, At, Cron, Every, Ticks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "triggers"
GLOBALS = {
    "After": After,
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


@pytest.mark.parametrize("page", ["every", "cron", "at-after", "ticks"])
def test_doc_page_examples(page: str) -> None:
    # A closing code fence would otherwise be read as part of the expected output.
    text = (DOCS / f"{page}.md").read_text(encoding="utf-8").replace("```", "\n")
    result = _run(text, page)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("cls", [After, At, Cron, Every, Ticks], ids=lambda c: c.__name__)
def test_docstring_examples(cls: type) -> None:
    result = _run(cls.__doc__ or "", cls.__name__)
    assert result.attempted > 0
    assert result.failed == 0
