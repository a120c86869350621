"""The examples run, and do what their docstrings say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_quickstart_prints_firings_and_stops_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--duration", "3.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("scheduler running")
    assert lines[-1] == "stopped cleanly"
    pattern = re.compile(r"^(\S.*?)\s+scheduled (\S+)\s+ran (\S+)\s+late\s+(-?[\d.]+) ms$")
    firings = [m.groups() for line in lines[1:-1] if (m := pattern.match(line))]
    assert len(firings) == len(lines) - 2  # every other line is a firing report
    names = [f[0] for f in firings]
    assert names.count("heartbeat") >= 2
    assert "one-shot" in names
    assert any(n.startswith("timer (") for n in names)
    assert all(0 <= float(f[3]) < 1000 for f in firings)  # generous bound: never early
