"""A throwaway redis-server of the tests' own, on a free port (the shared one is never
restarted or flushed). No RDB snapshots; an append-only file in a temporary directory, so
that data survives a restart as on a production server (``persist=False``: nothing survives,
as on a server run without persistence)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager


def available() -> str | None:
    """Why a private server cannot be started, or ``None``."""
    return None if shutil.which("redis-server") else "redis-server is not installed"


class PrivateRedis:
    def __init__(self, workdir: str, persist: bool = True) -> None:
        self.persist = persist
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persist else "no", "--appendfsync", "always",
             "--dir", self.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@contextmanager
def private_redis(persist: bool = True) -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="aiosched-redis-") as workdir:
        server = PrivateRedis(workdir, persist)
        server.start()
        try:
            yield server
        finally:
            server.stop()
