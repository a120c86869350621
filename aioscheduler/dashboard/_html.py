"""Server-rendered HTML of the dashboard. Every value from a job goes through ``escape``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from .._values import Job, Run
from ._views import FAILED, JobView, format_error, lateness_ms

__all__ = (
    "STATES",
    "actions",
    "broken_list",
    "confirm_page",
    "job_live",
    "job_page",
    "job_url",
    "jobs_page",
    "page",
    "rows_html",
    "timeline_page",
)

#: The state filter's choices (value, label).
STATES = (
    ("all", "All"),
    ("active", "Active"),
    ("paused", "Paused"),
    ("failing", "Failing"),
    ("idle", "No next run"),
)


def job_url(base: str, job_id: str) -> str:
    """The job page of ``job_id`` (any character, ``/`` included, survives the round trip)."""
    return f"{base}jobs/{quote(job_id, safe='')}"


def _utc(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def _local(t: datetime | None) -> str:
    """A ``<time>`` the page's script rewrites in the viewer's zone (UTC until it does)."""
    if t is None:
        return "-"
    iso = t.astimezone(UTC).isoformat()
    return f'<time class="local" datetime="{escape(iso)}">{_utc(t)}</time>'


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f} ms" if abs(value) < 10_000 else f"{value / 1000:,.1f} s"


def page(title: str, body: str, *, base: str, csrf: str, active: str) -> str:
    """The whole document around ``body`` (which is already escaped HTML)."""
    nav = "".join(
        f'<a href="{escape(base + path)}"{" aria-current=page" if name == active else ""}>'
        f"{label}</a>"
        for name, path, label in (("jobs", "", "Jobs"), ("timeline", "timeline", "Timeline"))
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{escape(csrf)}">'
        f'<meta name="dashboard-base" content="{escape(base)}">'
        f"<title>{escape(title)} · aioscheduler</title>"
        f'<link rel="stylesheet" href="{escape(base)}static/dashboard.css">'
        f'<script src="{escape(base)}static/dashboard.js" defer></script>'
        "</head><body>"
        f"<header><strong>aioscheduler</strong><nav>{nav}</nav>"
        '<span id="live" class="live off" role="status">offline</span></header>'
        f"<main>{body}</main></body></html>\n"
    )


def actions(view: JobView, base: str, csrf: str) -> str:
    toggle = ("resume", "Resume") if view.paused else ("pause", "Pause")
    buttons = "".join(
        f'<button type="submit" name="action" value="{value}">{label}</button>'
        for value, label in (toggle, ("run", "Run now"), ("remove", "Remove"))
    )
    return (
        f'<form method="post" action="{escape(base)}action" class="actions">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="job_id" value="{escape(view.id)}">{buttons}</form>'
    )


def _row(view: JobView, base: str, csrf: str, read_only: bool) -> str:
    outcome = view.last_outcome or "-"
    streak = str(view.streak) if view.streak else ""
    cells = [
        f'<td class="id"><a href="{escape(job_url(base, view.id))}">{escape(view.id)}</a></td>',
        f'<td class="callable"><code>{escape(view.callable)}</code></td>',
        f'<td class="trigger">{escape(view.trigger)}</td>',
        f'<td class="next-local">{_local(view.next_run_at)}</td>',
        f'<td class="next-utc">{_utc(view.next_run_at)}</td>',
        f'<td class="outcome {escape(outcome)}">{escape(outcome)}</td>',
        f'<td class="lateness num">{_ms(view.last_lateness_ms)}</td>',
        f'<td class="streak num">{streak}</td>',
        f'<td class="paused">{"paused" if view.paused else ""}</td>',
    ]
    if view.running is not None:
        cells.append(f'<td class="running">{"<br>".join(escape(r) for r in view.running)}</td>')
    if not read_only:
        cells.append(f'<td class="act">{actions(view, base, csrf)}</td>')
    content = "".join(cells)
    # A digest of the row lets the page skip rows that did not change (a full re-read of
    # 1,000 rows then touches only the few that did).
    version = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
    return (
        f'<tr data-job-id="{escape(view.id)}" data-state="{view.state}" data-v="{version}" '
        f'data-search="{escape(view.search_text)}">{content}</tr>'
    )


def rows_html(views: Iterable[JobView], base: str, csrf: str, read_only: bool) -> str:
    """The ``<tr>`` rows of the jobs table (also served alone for live updates)."""
    return "".join(_row(v, base, csrf, read_only) for v in views)


def jobs_page(
    views: Sequence[JobView], *, base: str, csrf: str, read_only: bool, query: str, state: str
) -> str:
    """The jobs page: filters, then one row per job. ``query``/``state`` pre-fill the filters
    (the script filters as one types; without it the server has filtered already)."""
    options = "".join(
        f'<option value="{value}"{" selected" if value == state else ""}>{label}</option>'
        for value, label in STATES
    )
    head = [
        "ID",
        "Callable",
        "Trigger",
        "Next run (your zone)",
        "Next run (UTC)",
        "Last outcome",
        "Lateness",
        "Failure streak",
        "Paused",
    ]
    if views and views[0].running is not None:
        head.append("Running on")
    if not read_only:
        head.append("Actions")
    mode = '<p class="note">Read-only: actions are disabled.</p>' if read_only else ""
    return (
        f'<h1>Jobs <small id="count">{len(views)}</small></h1>{mode}'
        f'<form class="filters" method="get" action="{escape(base)}" role="search">'
        f'<label>State <select name="state" id="state-filter">{options}</select></label>'
        f'<label>Search <input type="search" name="q" id="search" value="{escape(query)}" '
        'placeholder="id, callable or trigger" autocomplete="off"></label>'
        '<noscript><button type="submit">Filter</button></noscript></form>'
        '<table id="jobs"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + f"</tr></thead><tbody>{rows_html(views, base, csrf, read_only)}</tbody></table>"
        '<p id="empty" class="note" hidden>No job matches the filters.</p>'
        '<section id="failures" hidden><h2>Failures since this page opened</h2><ul></ul>'
        "</section>"
    )


def _history(runs: Sequence[Run], node: str) -> str:
    if not runs:
        return '<p class="note">No finished run yet.</p>'
    rows = []
    for run in reversed(runs):
        outcome = str(run.outcome) if run.outcome else "-"
        run_node = getattr(run, "node", None) or node
        rows.append(
            f'<tr class="run {escape(outcome)}"><td>{_utc(run.scheduled_at)}</td>'
            f"<td>{_utc(run.started_at)}</td><td>{_utc(run.finished_at)}</td>"
            f'<td class="num">{_ms(lateness_ms(run))}</td>'
            f'<td class="outcome {escape(outcome)}">{escape(outcome)}'
            f"{' (' + escape(run.reason) + ')' if run.reason else ''}</td>"
            f'<td class="num">{run.attempt}</td><td>{escape(str(run_node))}</td></tr>'
        )
        error = format_error(run) if run.outcome in FAILED else None
        if error:
            rows.append(
                f'<tr class="traceback"><td colspan="7"><details open><summary>Traceback'
                f"</summary><pre>{escape(error)}</pre></details></td></tr>"
            )
    return (
        '<table class="history"><thead><tr><th>Scheduled</th><th>Started</th><th>Finished</th>'
        "<th>Lateness</th><th>Outcome</th><th>Attempt</th><th>Node</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def job_live(job: Job, view: JobView, firings: Sequence[datetime], node: str, actions: str) -> str:
    """The parts of a job page that live updates replace (the page keeps its action buttons
    while a Remove confirmation is open)."""
    state = "paused" if job.paused else view.state
    items = "".join(f"<li>{_local(t)} <span class='utc'>{_utc(t)}</span></li>" for t in firings)
    heading = "Next ten firings" + (" (if resumed now)" if job.paused else "")
    return (
        f'<div class="job-actions">{actions}</div>'
        f'<dl class="facts"><dt>State</dt><dd class="state {state}">{state}</dd>'
        f"<dt>Trigger</dt><dd>{escape(view.trigger)}</dd>"
        f"<dt>Callable</dt><dd><code>{escape(view.callable)}</code></dd>"
        f"<dt>Next run</dt><dd>{_local(job.next_run_at)} "
        f"<span class='utc'>{_utc(job.next_run_at)}</span></dd>"
        f"<dt>Failure streak</dt><dd>{view.streak}</dd>"
        + (
            f"<dt>Running on</dt><dd>{escape(', '.join(view.running)) or '-'}</dd>"
            if view.running is not None
            else ""
        )
        + "</dl>"
        f'<section><h2>{heading}</h2><ol class="firings">'
        f"{items or '<li>none</li>'}</ol></section>"
        f"<section><h2>Run history</h2>{_history(job.history, node)}</section>"
    )


def job_page(
    job: Job,
    view: JobView,
    firings: Sequence[datetime],
    *,
    base: str,
    csrf: str,
    read_only: bool,
    node: str,
) -> str:
    """A job's page: its facts, actions, the next ten firings and the run history."""
    buttons = "" if read_only else actions(view, base, csrf)
    return (
        f'<p><a href="{escape(base)}">← all jobs</a></p>'
        f'<h1 class="job-title" data-job-id="{escape(job.id)}">{escape(job.id)}</h1>'
        f'<div id="job-live" data-job-id="{escape(job.id)}">'
        f"{job_live(job, view, firings, node, buttons)}</div>"
    )


def timeline_page(
    timeline: str,
    lateness: str,
    *,
    crowds: Sequence[tuple[datetime, int]],
    truncated: bool,
    jobs_drawn: int,
    jobs_total: int,
) -> str:
    """The timeline page around the two (already rendered) SVG charts."""
    crowd_rows = "".join(
        f"<tr><td>{_local(t)}</td><td>{_utc(t)}</td><td class='num'>{n}</td></tr>"
        for t, n in crowds
    )
    notes = []
    if truncated:
        notes.append("Very frequent jobs: only part of their firings are drawn.")
    if jobs_drawn < jobs_total:
        notes.append(
            f"{jobs_total - jobs_drawn} more jobs fire in the hour (in the histogram "
            "and the table, without a lane)."
        )
    note = "".join(f'<p class="note">{n}</p>' for n in notes)
    return (
        "<h1>Timeline</h1><section><h2>The next hour</h2>"
        f'<div class="chart-box">{timeline}</div>{note}</section>'
        "<section><h2>Busiest seconds</h2>"
        + (
            "<table class='crowds'><thead><tr><th>Second (your zone)</th><th>UTC</th>"
            f"<th>Firings</th></tr></thead><tbody>{crowd_rows}</tbody></table>"
            if crowds
            else "<p class='note'>Nothing fires in the next hour.</p>"
        )
        + "</section><section><h2>Lateness of the last runs</h2>"
        f'<div class="chart-box">{lateness}</div></section>'
    )


def broken_list(broken: Sequence[tuple[str, str]]) -> str:
    """The jobs a store cannot load (tampered, refused, unreadable): listed, never run."""
    if not broken:
        return ""
    items = "".join(
        f"<li><code>{escape(job_id)}</code>: {escape(reason)}</li>" for job_id, reason in broken
    )
    return (
        f'<section id="broken"><h2>Broken jobs ({len(broken)}): cannot be loaded, not run</h2>'
        f"<ul>{items}</ul></section>"
    )


def confirm_page(job_id: str, *, base: str, csrf: str) -> str:
    """Confirmation of a removal asked without the script (a plain form POST)."""
    return (
        f"<h1>Remove {escape(job_id)}?</h1>"
        f'<form method="post" action="{escape(base)}action" class="confirm">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="job_id" value="{escape(job_id)}">'
        '<input type="hidden" name="confirmed" value="yes">'
        '<button type="submit" name="action" value="remove">Remove</button> '
        f'<a href="{escape(base)}">Cancel</a></form>'
    )
