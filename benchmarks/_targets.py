# ruff: noqa: RUF001  (the multiplication sign and dashes are meant for the reader)
"""The issue 11 targets, checked against the results of this same run.

Every figure is read from the records run.py collected (ratios against raw asyncio of the
same run); a target whose cells were not run is reported as "not run", never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

OURS = "aioscheduler"
PEERS = ("aps3", "aps4", "aiocron")

Row = list[str]


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _n(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


def _ratios(
    ix: Any, w: str, c: str, key: str, base_case: str | None = None
) -> list[tuple[int, float]]:
    out = []
    for n in ix.ns(w, c):
        r, b = ix.ok(w, c, n, OURS), ix.ok(w, base_case or c, n, "raw")
        if r and b and r.get(key) and b.get(key):
            out.append((n, r[key] / b[key]))
    return out


def _ratio_row(
    ix: Any,
    what: str,
    w: str,
    c: str,
    key: str,
    target: str,
    ok: Callable[[float], bool],
    base_case: str | None = None,
) -> Row:
    rs = _ratios(ix, w, c, key, base_case)
    if not rs:
        return [what, "not run", target, "–"]
    shown = ", ".join(f"{_n(n)}: {_fmt(r)}×" for n, r in rs)
    return [what, shown, target, "yes" if all(ok(r) for _, r in rs) else "**no**"]


def _per_op_row(ix: Any, what: str, w: str, limit: float) -> Row:
    vals = [(n, r["us_per_op"]) for n in ix.ns(w, "job") if (r := ix.ok(w, "job", n, OURS))]
    if not vals:
        return [what, "not run", f"≤ {limit:g} µs", "–"]
    shown = ", ".join(f"{_n(n)}: {_fmt(v)} µs" for n, v in vals)
    return [what, shown, f"≤ {limit:g} µs", "yes" if all(v <= limit for _, v in vals) else "**no**"]


def _fast_row(ix: Any) -> Row:
    r = ix.ok("precision", "fast", 10_000, OURS)
    aps3 = ix.ok("precision", "fast", 10_000, "aps3")
    what = "10,000 jobs every 100 ms (phases spread)"
    target = "≥ 99 % fired, p99 < APScheduler 3.11's"
    if r is None:
        return [what, "not run", target, "–"]
    shown = f"{r['fired_pct']:.1f}% fired, p99 {_fmt(r['p99_ms'])} ms"
    met = r["fired_pct"] >= 99.0
    if aps3 is not None:
        shown += f" (APS 3.11: {aps3['fired_pct']:.1f}%, p99 {_fmt(aps3['p99_ms'])} ms)"
        met = met and r["p99_ms"] < aps3["p99_ms"]
    else:
        shown += " (APS 3.11 not run)"
    return [what, shown, target, "yes" if met else "**no**"]


def _gc_row(ix: Any) -> Row:
    what = "full GC pass on the firing path, 1e5 jobs"
    r = ix.ok("gcpause", "-", 100_000, OURS)
    if r is None:
        return [what, "not run", "none", "–"]
    n2 = r["collections"][2]
    shown = f"{n2} gen-2 collection(s) in the window, longest {_fmt(r['max_pause_ms'][2])} ms"
    shown += f"; gen-0/1 longest {_fmt(max(r['max_pause_ms'][:2]))} ms"
    return [what, shown, "none", "yes" if n2 == 0 else "**no**"]


# workload, case -> (metric, higher is better)
_METRICS: dict[tuple[str, str], tuple[str, bool]] = {
    ("schedule", "timer"): ("us_per_op", False),
    ("schedule", "job"): ("us_per_op", False),
    ("cancel", "timer"): ("us_per_op", False),
    ("cancel", "job"): ("us_per_op", False),
    ("burst", "async"): ("per_s", True),
    ("burst", "sync"): ("per_s", True),
    ("burst", "inline"): ("per_s", True),
    ("steady", "-"): ("cpu_per_1k", False),
}


def _peers_ahead(ix: Any) -> list[str]:
    """Cells where a peer does better than aioscheduler (asyncio loop) in this run."""
    ahead = []
    for (w, c), (key, higher) in _METRICS.items():
        for n in ix.ns(w, c):
            ours = ix.ok(w, c, n, OURS)
            for peer in PEERS:
                theirs = ix.ok(w, c, n, peer)
                if not theirs or key not in theirs:
                    continue
                if ours is None or key not in ours:
                    ahead.append(f"{w}/{c} N={_n(n)}: {peer} ran, aioscheduler did not")
                    continue
                a, b = ours[key], theirs[key]
                if (b > a) if higher else (b < a):
                    ahead.append(f"{w}/{c} N={_n(n)}: {peer} {_fmt(b)} vs ours {_fmt(a)} ({key})")
    for c in ix.cases("precision"):
        for n in ix.ns("precision", c):
            ours = ix.ok("precision", c, n, OURS)
            for peer in PEERS:
                theirs = ix.ok("precision", c, n, peer)
                if not theirs or ours is None:
                    continue
                if theirs["fired_pct"] > ours["fired_pct"] + 0.05 or (
                    theirs["fired_pct"] >= ours["fired_pct"] - 0.05
                    and (theirs["p99_ms"] or 0) < (ours["p99_ms"] or 0)
                ):
                    ahead.append(
                        f"precision/{c} N={_n(n)}: {peer} {theirs['fired_pct']:.1f}% p99 "
                        f"{_fmt(theirs['p99_ms'])} ms vs ours {ours['fired_pct']:.1f}% p99 "
                        f"{_fmt(ours['p99_ms'])} ms"
                    )
    return ahead


def render(ix: Any, systems: Sequence[Any]) -> list[str]:
    from _tables import _table

    def lower(limit: float) -> Callable[[float], bool]:
        return lambda r: r <= limit

    def higher(limit: float) -> Callable[[float], bool]:
        return lambda r: r >= limit

    rows = [
        _ratio_row(
            ix,
            "async job burst (× call_at+create_task)",
            "burst",
            "async",
            "per_s",
            "≥ 0.6× at every N",
            higher(0.6),
        ),
        _ratio_row(
            ix,
            "async timer burst (× raw async)",
            "burst",
            "timer",
            "per_s",
            "≥ 0.6× at every N",
            higher(0.6),
            base_case="async",
        ),
        _ratio_row(
            ix,
            "1,000 jobs due in the same second, p99 (× raw)",
            "precision",
            "aligned",
            "p99_ms",
            "≤ 1.5× raw",
            lower(1.5),
        ),
        _fast_row(ix),
        _ratio_row(
            ix,
            "10,000 interval jobs every 1 s, CPU per 1,000 firings (× raw)",
            "steady",
            "-",
            "cpu_per_1k",
            "≤ 1.8× raw",
            lower(1.8),
        ),
        _per_op_row(ix, "add() of a job", "schedule", 8.0),
        _per_op_row(ix, "remove() of a job", "cancel", 1.5),
        _ratio_row(
            ix,
            "sync jobs on worker threads (× to_thread)",
            "burst",
            "sync",
            "per_s",
            "≥ 0.9×",
            higher(0.9),
        ),
        _gc_row(ix),
    ]
    # the aligned target is about 1,000 jobs: drop other N from that row
    al = [(n, r) for n, r in _ratios(ix, "precision", "aligned", "p99_ms") if n == 1_000]
    if al:
        rows[2] = [
            rows[2][0],
            f"{_fmt(al[0][1])}×",
            "≤ 1.5× raw",
            "yes" if al[0][1] <= 1.5 else "**no**",
        ]
    ahead = _peers_ahead(ix)
    if any(s.key in PEERS for s in systems):
        rows.append(
            [
                "every workload: ahead of every peer",
                f"{len(ahead)} cell(s) behind",
                "0 cells behind",
                "yes" if not ahead else "**no**",
            ]
        )
    out = [
        "## Targets of issue 11 (this run)",
        "",
        _table(["workload", "measured (aioscheduler on asyncio)", "target", "met?"], rows),
        "",
    ]
    if ahead:
        out += ["Cells where a peer is ahead:", ""] + [f"- {a}" for a in ahead] + [""]
    return out
