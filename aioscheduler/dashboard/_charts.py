"""The timeline and lateness charts, drawn as inline SVG (no script, no external asset)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from .._values import Job, Run
from ._views import FAILED, lateness_ms

__all__ = ("Firings", "collect_firings", "lateness_svg", "timeline_svg")

#: Firings computed per job for the timeline (an every-second job fires 3,600 times an hour).
PER_JOB_LIMIT = 3_600
#: Firings computed in all: past it the timeline says it is truncated.
TOTAL_LIMIT = 200_000
#: Job lanes drawn under the histogram; the busiest-second table covers every job.
MAX_LANES = 40

WIDTH = 1000
LABEL = 200
PLOT = WIDTH - LABEL - 20
BINS = 120  # 30-second bins over the hour


@dataclass(frozen=True, slots=True)
class Firings:
    """The firings of the next hour: ``(job id, times)`` per job, and whether some were cut."""

    start: datetime
    end: datetime
    lanes: list[tuple[str, list[datetime]]]
    truncated: bool

    def per_second(self) -> Counter[datetime]:
        """How many firings fall on each second."""
        counts: Counter[datetime] = Counter()
        for _, times in self.lanes:
            counts.update(t.replace(microsecond=0) for t in times)
        return counts


def collect_firings(jobs: Sequence[Job], now: datetime, span: timedelta) -> Firings:
    """Walk each unpaused job's trigger from its next run time to ``now + span``."""
    end = now + span
    lanes: list[tuple[str, list[datetime]]] = []
    total = 0
    truncated = False
    for job in jobs:
        t = job.next_run_at
        if job.paused or t is None or t > end:
            continue
        times: list[datetime] = []
        while t is not None and t <= end:
            if len(times) >= PER_JOB_LIMIT or total >= TOTAL_LIMIT:
                truncated = True
                break
            times.append(t)
            total += 1
            t = job.trigger.next_after(t)
        lanes.append((job.id, times))
    lanes.sort(key=lambda lane: (lane[1][0], lane[0]))
    return Firings(now, end, lanes, truncated)


def _x(t: datetime, start: datetime, end: datetime) -> float:
    frac = (t - start) / (end - start)
    return LABEL + max(0.0, min(1.0, frac)) * PLOT


def _clock(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%M:%S")


def timeline_svg(firings: Firings, job_url: Callable[[str], str] | None = None) -> str:
    """The next hour: a histogram of firings per 30 seconds on top (so a crowd on one second
    stands out), then one lane per job with a tick per firing (its label links to
    ``job_url(id)`` when given)."""
    start, end = firings.start, firings.end
    bins = [0] * BINS
    span = (end - start).total_seconds()
    for _, times in firings.lanes:
        for t in times:
            i = int((t - start).total_seconds() / span * BINS)
            bins[min(max(i, 0), BINS - 1)] += 1
    peak = max(bins) or 1
    hist_h = 120
    lanes = firings.lanes[:MAX_LANES]
    lane_h = 18
    top = hist_h + 40
    height = top + lane_h * len(lanes) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Firings of the next hour">'
    ]
    bar_w = PLOT / BINS
    out.append(
        f'<text x="{LABEL - 8}" y="14" text-anchor="end" class="axis">firings / 30 s</text>'
        f'<text x="{LABEL - 8}" y="{hist_h}" text-anchor="end" class="axis">0</text>'
        f'<text x="{LABEL - 8}" y="28" text-anchor="end" class="axis">{peak}</text>'
    )
    for i, count in enumerate(bins):
        if not count:
            continue
        h = count / peak * (hist_h - 20)
        x = LABEL + i * bar_w
        t0 = start + timedelta(seconds=i * span / BINS)
        crowd = " crowd" if count == peak and peak > 1 else ""
        out.append(
            f'<rect class="bar{crowd}" x="{x:.1f}" y="{hist_h - h:.1f}" '
            f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}">'
            f"<title>{_clock(t0)} UTC: {count} firing{'s' if count != 1 else ''}</title></rect>"
        )
    for minute in range(0, 61, 10):
        t = start + timedelta(minutes=minute)
        x = _x(t, start, end)
        out.append(
            f'<line class="grid" x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 20}"/>'
            f'<text class="axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
            f"{_clock(t)[:5]}</text>"
        )
    for row, (job_id, times) in enumerate(lanes):
        y = top + row * lane_h
        label = job_id if len(job_id) <= 28 else job_id[:27] + "…"
        out.append(
            (f'<a href="{escape(job_url(job_id))}">' if job_url else "")
            + f'<text class="lane" x="{LABEL - 8}" y="{y + 12}" text-anchor="end">'
            f"<title>{escape(job_id)}</title>{escape(label)}</text>" + ("</a>" if job_url else "")
        )
        out.append(
            f'<line class="lane-line" x1="{LABEL}" y1="{y + 8}" x2="{LABEL + PLOT}" y2="{y + 8}"/>'
        )
        for t in times[:720]:  # one tick per 5 s of width at most; the histogram has the rest
            x = _x(t, start, end)
            out.append(f'<line class="tick" x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + 14}"/>')
    out.append("</svg>")
    return "".join(out)


def lateness_svg(runs: Sequence[Run], limit: int = 200) -> str:
    """Bars of the lateness of the last ``limit`` runs that started (failures in red)."""
    started = sorted(
        (r for r in runs if r.started_at is not None),
        key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC),
    )[-limit:]
    height = 160
    plot_h = 120
    values = [lateness_ms(r) or 0.0 for r in started]
    peak = max(values, default=0.0) or 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart lateness" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Lateness of the last runs">'
        f'<text class="axis" x="{LABEL - 8}" y="14" text-anchor="end">{peak:.1f} ms</text>'
        f'<text class="axis" x="{LABEL - 8}" y="{plot_h + 10}" text-anchor="end">0 ms</text>'
    ]
    if not started:
        out.append(f'<text class="axis" x="{LABEL + 10}" y="70">no runs yet</text>')
    bar_w = min(PLOT / max(len(started), 1), 12.0)
    for i, (run, value) in enumerate(zip(started, values, strict=True)):
        h = max(value / peak * (plot_h - 10), 1.0)
        cls = "bar failed" if run.outcome in FAILED else "bar"
        x = LABEL + PLOT - (len(started) - i) * bar_w  # the newest at the right edge
        when = _clock(run.scheduled_at)
        out.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{plot_h + 10 - h:.1f}" '
            f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}">'
            f"<title>{escape(str(run.job_id))} at {when} UTC: {value:.1f} ms late, "
            f"{escape(str(run.outcome))}</title></rect>"
        )
    out.append(
        f'<text class="axis" x="{LABEL}" y="{height - 8}">older</text>'
        f'<text class="axis" x="{LABEL + PLOT}" y="{height - 8}" text-anchor="end">newer</text>'
        "</svg>"
    )
    return "".join(out)
