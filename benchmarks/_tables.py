# ruff: noqa: RUF001  (the multiplication sign and dashes are meant for the reader)
"""Markdown tables for run.py's results. Ratios are against raw asyncio, same run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

WORKLOADS = ("schedule", "burst", "precision", "cancel", "steady", "resched", "gcpause")
BASELINE = "raw"
# Where raw asyncio has no row of its own, it is compared with this case.
BASE_CASE = {("burst", "timer"): "async", ("resched", "inline"): "sync"}

Rec = dict[str, Any]


def _n(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


def _num(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _ms(x: float | None) -> str:
    return "–" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def _ratio(v: float | None, base: float | None) -> str:
    if v is None or not base:
        return ""
    return f" ({v / base:.2f}×)"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


class _Index:
    def __init__(self, records: list[Rec]) -> None:
        self.by = {(r["workload"], r["case"], r["n"], r["system"]): r for r in records}

    def get(self, w: str, c: str, n: int, s: str) -> Rec | None:
        return self.by.get((w, c, n, s))

    def ok(self, w: str, c: str, n: int, s: str) -> dict[str, Any] | None:
        r = self.get(w, c, n, s)
        return r["result"] if r and r.get("status") == "ok" else None

    def ns(self, w: str, c: str) -> list[int]:
        return sorted({k[2] for k in self.by if k[0] == w and k[1] == c})

    def cases(self, w: str) -> list[str]:
        seen: dict[str, None] = {}
        for k in self.by:
            if k[0] == w:
                seen.setdefault(k[1], None)
        return list(seen)


def _status(r: Rec | None) -> str:
    return "—" if r is None else str(r.get("status", "?")).replace("|", "/")


def _grid(
    ix: _Index,
    systems: Sequence[Any],
    w: str,
    c: str,
    fmt: Callable[[dict[str, Any], dict[str, Any] | None], str],
) -> str:
    ns = ix.ns(w, c)
    rows = []
    for s in systems:
        if all(ix.get(w, c, n, s.key) is None for n in ns):
            continue
        row = [s.label]
        for n in ns:
            res = ix.ok(w, c, n, s.key)
            base = ix.ok(w, BASE_CASE.get((w, c), c), n, BASELINE)
            row.append(fmt(res, base) if res else _status(ix.get(w, c, n, s.key)))
        rows.append(row)
    return _table(["system", *(f"N={_n(n)}" for n in ns)], rows)


def _schedule(ix: _Index, systems: Sequence[Any], w: str) -> list[str]:
    out = []
    what = {"schedule": "add", "cancel": "cancel / remove"}[w]
    for c in ix.cases(w):
        label = {"timer": "one-shot timers", "job": "recurring jobs"}.get(c, c)

        def fmt(r: dict[str, Any], b: dict[str, Any] | None) -> str:
            cell = f"{_num(r['us_per_op'])} µs{_ratio(r['us_per_op'], b and b['us_per_op'])}"
            if "bytes_per_item" in r:
                cell += f" · {max(0.0, r['bytes_per_item']):.0f} B"
            return cell

        out.append(
            f"**{label}**: µs per {what} (× raw asyncio: lower is better)"
            + (", RSS bytes per pending item" if w == "schedule" else "")
        )
        out.append(_grid(ix, systems, w, c, fmt))
    return out


def _burst(ix: _Index, systems: Sequence[Any]) -> list[str]:
    out = []
    titles = {
        "async": "async callbacks (jobs / call_at + create_task)",
        "sync": "sync callbacks on worker threads (limit 40)",
        "inline": "sync callbacks run on the loop",
        "timer": "async callbacks through aioscheduler's call_at timers (× raw asyncio async)",
    }

    def fmt(r: dict[str, Any], b: dict[str, Any] | None) -> str:
        cell = f"{_num(r['per_s'])}/s{_ratio(r['per_s'], b and b.get('per_s'))}"
        if r.get("overran_s", 0) > 0.05:
            cell += f" ⚠ sched overran {r['overran_s']:.1f}s"
        return cell

    for c in ix.cases("burst"):
        out.append(
            f"**{titles.get(c, c)}**: firings/s until the last ran "
            "(× raw asyncio: higher is better)"
        )
        out.append(_grid(ix, systems, "burst", c, fmt))
    return out


def _precision(ix: _Index, systems: Sequence[Any], meta: dict[str, Any]) -> list[str]:
    out = []
    quick = meta.get("mode") == "quick"
    titles = {
        "oneshot": f"N one-shots spread over {'1' if quick else '3'} s",
        "aligned": "N jobs every 1 s aligned on the whole second",
        "fast": "N jobs every 100 ms, phases spread",
    }
    for c in ix.cases("precision"):
        rows = []
        for n in ix.ns("precision", c):
            base = ix.ok("precision", c, n, BASELINE)
            for s in systems:
                rec = ix.get("precision", c, n, s.key)
                if rec is None:
                    continue
                r = ix.ok("precision", c, n, s.key)
                if r is None:
                    rows.append([_n(n), s.label, _status(rec), "", "", "", ""])
                    continue
                fired = f"{r['fired_pct']:.1f}%"
                if r.get("dups"):
                    fired += f" (+{r['dups']} dup)"
                if r.get("overran_s", 0) > 0.05:
                    fired += f" ⚠ setup overran {r['overran_s']:.1f}s"
                rows.append(
                    [
                        _n(n),
                        s.label,
                        fired,
                        _ms(r["p50_ms"]),
                        _ms(r["p99_ms"]),
                        _ms(r["max_ms"]),
                        _ratio(r["p99_ms"], base and base["p99_ms"]).strip(" ()"),
                    ]
                )
        out.append(f"**{titles.get(c, c)}**: lateness in ms (callback start − intended)")
        out.append(_table(["N", "system", "fired", "p50", "p99", "max", "p99 × raw"], rows))
    return out


def _steady(ix: _Index, systems: Sequence[Any]) -> list[str]:
    rows = []
    for n in ix.ns("steady", "-"):
        base = ix.ok("steady", "-", n, BASELINE)
        for s in systems:
            rec = ix.get("steady", "-", n, s.key)
            if rec is None:
                continue
            r = ix.ok("steady", "-", n, s.key)
            if r is None:
                rows.append([s.label, _status(rec), "", "", "", "", ""])
                continue
            cpu = r["cpu_per_1k"] * 1000
            rss = " / ".join(f"{x:.1f}" for x in r["rss_mb"])
            rows.append(
                [
                    s.label,
                    f"{r['fired_pct']:.1f}%",
                    _ms(r["p50_ms"]),
                    _ms(r["p99_ms"]),
                    _ms(r["max_ms"]),
                    f"{cpu:.1f}{_ratio(cpu, base and base['cpu_per_1k'] * 1000)}",
                    rss,
                ]
            )
    return [
        "**10,000 interval jobs (1 s, phases spread)**: lateness ms, CPU ms per 1,000 "
        "firings (× raw asyncio), RSS MB at start / middle / end of the window",
        _table(["system", "fired", "p50", "p99", "max", "CPU ms / 1k firings", "RSS MB"], rows),
    ]


def _gcpause(ix: _Index, systems: Sequence[Any]) -> list[str]:
    rows = []
    for n in ix.ns("gcpause", "-"):
        for s in systems:
            rec = ix.get("gcpause", "-", n, s.key)
            if rec is None:
                continue
            r = ix.ok("gcpause", "-", n, s.key)
            if r is None:
                rows.append([_n(n), s.label, _status(rec), "", "", "", ""])
                continue
            counts = " / ".join(str(c) for c in r["collections"])
            pauses = " / ".join(_ms(x) for x in r["max_pause_ms"])
            rows.append(
                [
                    _n(n),
                    s.label,
                    f"{r['fired_pct']:.1f}%",
                    _ms(r["p99_ms"]),
                    counts,
                    pauses,
                    _ms(r["gen2_total_ms"]),
                ]
            )
    return [
        "**N interval jobs (10 s, phases spread), garbage collections in the firing window**: "
        "collections and longest pause (ms) per generation 0 / 1 / 2; nothing tuned by the "
        "benchmark",
        _table(
            ["N", "system", "fired", "p99 ms", "collections", "longest pause ms", "gen-2 ms"],
            rows,
        ),
    ]


def _resched(ix: _Index, systems: Sequence[Any]) -> list[str]:
    cases = ix.cases("resched")
    rows = []
    n = (ix.ns("resched", cases[0]) or [0])[0] if cases else 0
    for s in systems:
        if all(ix.get("resched", c, n, s.key) is None for c in cases):
            continue
        row = [s.label]
        for c in cases:
            r = ix.ok("resched", c, n, s.key)
            b = ix.ok("resched", BASE_CASE.get(("resched", c), c), n, BASELINE)
            row.append(
                f"{_num(r['per_s'])}/s{_ratio(r['per_s'], b and b['per_s'])}"
                if r
                else _status(ix.get("resched", c, n, s.key))
            )
        rows.append(row)
    return [
        f"**{n:,} timers returning their next delay (0.01–0.1 s)**: firings/s "
        "(× raw asyncio: higher is better; inline is compared with raw sync)",
        _table(["system", *cases], rows),
    ]


def render(meta: dict[str, Any], records: list[Rec], systems: Sequence[Any]) -> str:
    ix = _Index(records)
    v = meta.get("versions", {})
    lines = [
        f"# aioscheduler benchmarks ({meta['mode']} run, {meta['date']})",
        "",
        f"- machine: {meta['nproc']} CPUs, {meta['cpu']}; {meta['platform']}",
        f"- Python {meta['python']}; suite wall time {meta['wall_s']:.0f} s",
    ]
    for s in systems:
        if s.key in v:
            lines.append(f"- {s.label}: " + ", ".join(f"{k} {x}" for k, x in v[s.key].items()))
    for k, err in meta.get("unavailable", {}).items():
        lines.append(f"- **{k} unavailable**: {err}")
    lines += [
        "- ratios are against raw asyncio measured in this same run; one process per "
        "system × workload × N",
        "",
    ]
    sections = {
        "schedule": ("1. Schedule cost", lambda: _schedule(ix, systems, "schedule")),
        "burst": ("2. Burst throughput", lambda: _burst(ix, systems)),
        "precision": ("3. Precision", lambda: _precision(ix, systems, meta)),
        "cancel": ("4. Cancel cost", lambda: _schedule(ix, systems, "cancel")),
        "steady": ("5. Steady state", lambda: _steady(ix, systems)),
        "gcpause": ("7. Garbage-collection pauses", lambda: _gcpause(ix, systems)),
        "resched": ("6. Self-rescheduling timers", lambda: _resched(ix, systems)),
    }
    for w in WORKLOADS:
        if not ix.cases(w):
            continue
        title, fn = sections[w]
        lines.append(f"## {title}")
        lines.append("")
        for block in fn():
            lines += [block, ""]
    import _targets  # imports this module back for _table

    lines += _targets.render(ix, systems)
    return "\n".join(lines)
