"""Run the real ``aioscheduler`` command in a subprocess and read what it prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TZ": "UTC"}


def run(*args: str, timeout: float = 60, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m aioscheduler *args`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "aioscheduler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env(),
    )


class Served:
    """``python -m aioscheduler run ...`` in the background, stdout and stderr merged."""

    def __init__(self, *args: str, cwd: Path = ROOT, prefix: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "aioscheduler", "run", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env(),
            start_new_session=True,  # its own process group, as under a shell or `timeout`
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """Read lines until one contains ``text``; return it (generous real-time bound)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; got:\n" + "\n".join(self.lines))

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def signal_process_and_group(self, sig: int) -> None:
        """What GNU ``timeout`` does: signal the process, then its whole group. The pause
        lets the first delivery happen before the second (otherwise the kernel may merge the
        two while the process sleeps, and the bug this reproduces would hide)."""
        self.proc.send_signal(sig)
        time.sleep(0.02)
        os.killpg(self.proc.pid, sig)

    def finish(self, timeout: float = 30) -> int:
        """Wait for exit; collect the rest of the output; return the exit status."""
        out, _ = self.proc.communicate(timeout=timeout)
        self.lines += out.splitlines()
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()
