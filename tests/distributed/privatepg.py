"""A throwaway PostgreSQL cluster of the tests' own (the shared server is never restarted).

Built with the machine's ``initdb``/``pg_ctl`` on a temporary directory and a free port; as
root, the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class PrivatePG:
    def __init__(self, bindir: str, data: str, port: int, user: list[str]) -> None:
        self.bindir, self.data, self.port, self._user = bindir, data, port, user
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._user, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-o", opts, "-l",
                  f"{self.data}/log", "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


def available() -> str | None:
    """Why a private cluster cannot be made here, or ``None``."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "no initdb under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user"
    return None


@contextmanager
def private_pg() -> Iterator[PrivatePG]:
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    root = tempfile.mkdtemp(prefix="aiosched-pg-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    user: list[str] = []
    if os.geteuid() == 0:
        os.mkdir(data, 0o700)
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pg = PrivatePG(bindir, data, port, user)
    subprocess.run(
        [*user, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    pg.start()
    try:
        yield pg
    finally:
        with suppress(Exception):
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)
