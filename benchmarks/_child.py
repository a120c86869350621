"""Run one system x workload x N in this process and print one JSON result line.

Invoked by run.py as ``python benchmarks/_child.py '<json params>'`` with the
interpreter of the system's venv. The result line starts with ``RESULT_MARK`` so
stray prints from libraries cannot be mistaken for it. A child reports its own
failures (``error``), soft timeouts and "n/a" verdicts; the parent handles crashes
and hard timeouts.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

RESULT_MARK = "@@BENCH-RESULT "

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads._common import NotApplicable, Params, SoftTimeout, rss_bytes  # noqa: E402


def _run(p: Params) -> dict[str, Any]:
    mod = importlib.import_module(f"workloads.{p.workload}")
    fn = getattr(mod, f"run_{p.system}")
    if p.loop == "uvloop":
        import uvloop

        return uvloop.run(fn(p))  # type: ignore[no-any-return]
    return asyncio.run(fn(p))


def main() -> None:
    raw = json.loads(sys.argv[1])
    p = Params(**raw)
    out: dict[str, Any] = {"params": raw}
    t0 = time.perf_counter()
    try:
        out["result"] = _run(p)
    except NotApplicable as exc:
        out["result"] = {"na": str(exc)}
    except SoftTimeout as exc:
        out["result"] = {"error": f"timeout: {exc}"}
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        out["result"] = {"error": f"{type(exc).__name__}: {exc}"[:200] + where}
        traceback.print_exc(file=sys.stderr)
    from workloads._systems import NOTES

    if NOTES and isinstance(out.get("result"), dict):
        out["result"]["notes"] = NOTES
    out["wall_s"] = time.perf_counter() - t0
    out["peak_rss"] = rss_bytes()
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(out), flush=True)
    sys.stderr.flush()
    # Do not wait on threads or tasks a system failed to shut down.
    os._exit(0)


if __name__ == "__main__":
    main()
