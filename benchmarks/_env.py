"""Interpreters for each benchmarked system, and the peer venvs they need.

APScheduler 3.11 and 4.0.0a6 share the import name ``apscheduler``, so each peer
version lives in its own venv under ``benchmarks/.venvs/``. A venv is created on
first use and reused after; a marker file records the pinned requirements it was
built from, so changing a pin rebuilds it. If a venv cannot be built (no network,
no ``venv`` module), the systems that need it are reported as unavailable and the
rest of the suite still runs.

Run ``python benchmarks/_env.py`` to build (or check) the peer venvs by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"

# venv name -> pinned requirements. APS 3 and aiocron can share a venv: aiocron
# does not depend on apscheduler.
PEER_VENVS: dict[str, tuple[str, ...]] = {
    "peers": ("apscheduler==3.11.*", "aiocron==2.1"),
    "aps4": ("apscheduler==4.0.0a6",),
}

# How long a venv build may take before we give up on it (pip over a slow link).
_BUILD_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class Interpreter:
    """Where a system runs: a python executable, or the reason it cannot."""

    python: str | None
    error: str | None = None


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    # Create peer venvs from the base interpreter, not from the main venv's shim,
    # so they do not inherit anything from it.
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure_venv(name: str, *, log: bool = True) -> Interpreter:
    """Return the python of peer venv ``name``, creating it on first use."""
    reqs = PEER_VENVS[name]
    venv = VENVS_DIR / name
    marker = venv / ".bench-requirements.json"
    py = _venv_python(venv)
    if py.exists() and marker.exists() and json.loads(marker.read_text()) == list(reqs):
        return Interpreter(str(py))
    if venv.exists():
        shutil.rmtree(venv)
    if log:
        print(
            f"[env] creating {venv.relative_to(REPO_ROOT)}: pip install {' '.join(reqs)}",
            file=sys.stderr,
            flush=True,
        )
    try:
        subprocess.run(
            [_base_python(), "-m", "venv", str(venv)],
            check=True,
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT_S,
        )
        subprocess.run(
            [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", *reqs],
            check=True,
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT_S,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["?"]
        shutil.rmtree(venv, ignore_errors=True)
        return Interpreter(None, f"venv {name} unavailable: {tail[0][:120]}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(venv, ignore_errors=True)
        return Interpreter(None, f"venv {name} unavailable: {type(exc).__name__}")
    marker.write_text(json.dumps(list(reqs)))
    return Interpreter(str(py))


def probe(python: str, code: str) -> str | None:
    """Run ``code`` in ``python``; return None on success, else a one-line reason."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    try:
        proc = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=str(REPO_ROOT),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return type(exc).__name__
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return (lines[-1] if lines else f"exit {proc.returncode}")[:160]


def versions(python: str, modules: tuple[str, ...]) -> dict[str, str]:
    """Installed distribution versions in ``python``'s environment."""
    code = (
        "import json, importlib.metadata as m\n"
        f"out = {{}}\nfor n in {list(modules)!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except Exception: out[n] = '-'\n"
        "print(json.dumps(out))"
    )
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
        result: dict[str, str] = json.loads(proc.stdout)
        return result
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


if __name__ == "__main__":
    for venv_name in PEER_VENVS:
        print(venv_name, ensure_venv(venv_name))
