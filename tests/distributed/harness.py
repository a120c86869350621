"""Processes, proxies and store queries for the distributed tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]


class Node:
    def __init__(self, name: str, proc: subprocess.Popen[str], err: Path) -> None:
        self.name = name
        self.proc = proc
        self.err = err
        self.stats: dict[str, Any] | None = None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self, timeout: float = 20) -> dict[str, Any]:
        """Graceful stop (SIGTERM); returns the counters the node printed."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        assert self.proc.returncode == 0, self.log()
        self.stats = json.loads(out.strip().splitlines()[-1])
        return self.stats

    def log(self) -> str:
        return self.err.read_text() if self.err.exists() else ""


class Cluster:
    """Scheduler processes on one namespace: a PostgreSQL schema or a Redis key prefix, by
    the URL's scheme (see tests/distributed/node.py)."""

    def __init__(self, url: str, namespace: str, tmp: Path, lease: float = 2.0) -> None:
        self.url, self.namespace, self.tmp, self.lease = url, namespace, tmp, lease
        self.nodes: list[Node] = []

    def start(self, name: str, *, url: str | None = None, **opts: float | str) -> Node:
        args = [
            sys.executable, "-m", "tests.distributed.node", url or self.url, self.namespace, name
        ]  # fmt: skip
        opts.setdefault("lease", self.lease)
        for key, value in opts.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        err = self.tmp / f"{name}-{len(self.nodes)}.err"
        with err.open("w") as stderr:  # the child keeps its own copy
            proc = subprocess.Popen(
                args, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        node = Node(name, proc, err)
        self.nodes.append(node)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "READY", f"node {name} did not start: {line!r}\n{node.log()}"
        return node

    def named(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def close(self) -> None:
        for node in self.nodes:
            if node.proc.poll() is None:
                os.kill(node.proc.pid, signal.SIGCONT)
            node.kill()


@contextmanager
def cluster(url: str, namespace: str, tmp: Path, lease: float = 2.0) -> Iterator[Cluster]:
    c = Cluster(url, namespace, tmp, lease)
    try:
        yield c
    finally:
        c.close()


async def firings(url: str, schema: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return list(await conn.fetch(f'SELECT * FROM "{schema}".firings ORDER BY job_id, slot'))
    finally:
        await conn.close()


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll a condition of the outside world (processes, files) with a generous bound."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


async def until(predicate: Any, timeout: float, what: str) -> None:
    """Wait for a condition of the outside world (processes, files) with a generous bound."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.05)
