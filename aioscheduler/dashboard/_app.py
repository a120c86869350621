"""The dashboard's ASGI app: routes, actions, the live stream."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._scheduler import Scheduler
from ..errors import InvalidDashboard, JobNotFound, StoreError
from . import _html
from ._charts import MAX_LANES, collect_firings, lateness_svg, timeline_svg
from ._guard import TokenGuard, same_origin
from ._live import LiveFeed
from ._views import next_firings, running_by_job, view_of

__all__ = ("Dashboard",)

STATIC = Path(__file__).resolve().parent / "static"
#: Tokens travel in a cookie and a header: letters, digits and ``-._~`` only.
TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{16,256}")
ACTIONS = ("pause", "resume", "run", "remove")
#: Largest action request body read (a job id and three short fields).
MAX_BODY = 64 * 1024


class Dashboard:
    """A web dashboard of ``scheduler``: an ASGI app (Starlette) to mount in a web app or to
    serve with ``aioscheduler dashboard``.

    Pages: the jobs (the mount's root), one page per job (run history, tracebacks, the next
    ten firings) and a timeline of the next hour. They update live over server-sent events.

    Args:
        scheduler: The scheduler to show. Its store is read on each request; it need not be
            running (then a persistent store is polled for changes).
        token: If set, every request must carry it (``?token=...`` once, which sets a cookie,
            or ``Authorization: Bearer ...``). At least 16 characters among letters, digits
            and ``-._~``. Required by ``aioscheduler dashboard`` for any bind but loopback.
        read_only: Hide the Pause/Resume/Run now/Remove buttons and refuse those requests.
        live_interval: Seconds between two live-update messages (events in between are
            batched into one).
        poll: Seconds between two reads of a persistent store for changes made elsewhere
            (default 2.0 for persistent stores, none for the memory store; ``0`` disables).
        allowed_hosts: Without a token the dashboard answers only requests addressed to
            this machine (``Host`` is ``localhost``, ``127.x.y.z`` or ``[::1]``), which
            defeats DNS rebinding. List other host names here (``["*"]``: any) to open it
            without a token, e.g. behind a proxy that authenticates. Ignored with a token.

    Raises:
        InvalidDashboard: ``scheduler`` is not a Scheduler, or a malformed token or interval.

    Example::

        app = FastAPI(lifespan=scheduler.lifespan)
        app.mount("/scheduler", Dashboard(scheduler))
    """

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        token: str | None = None,
        read_only: bool = False,
        live_interval: float = 0.25,
        poll: float | None = None,
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(scheduler, Scheduler):
            raise InvalidDashboard(f"Dashboard needs a Scheduler, got {scheduler!r}")
        if token is not None and (not isinstance(token, str) or not TOKEN_RE.fullmatch(token)):
            shown = token if not isinstance(token, str) else f"{token[:4]}... ({len(token)} chars)"
            raise InvalidDashboard(
                "token must be 16 to 256 characters among letters, digits and '-._~', "
                f"got {shown!r}"
            )
        if not isinstance(read_only, bool):
            raise InvalidDashboard(f"read_only must be True or False, got {read_only!r}")
        for name, value in (("live_interval", live_interval), ("poll", poll)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
            ):
                raise InvalidDashboard(f"{name} must be a number of seconds >= 0, got {value!r}")
        self.scheduler = scheduler
        self.read_only = read_only
        self.token = token
        self._interval = float(live_interval)
        if poll is None:
            poll = 2.0 if scheduler.store.persistent else 0.0
        self._poll = float(poll) or None
        # Forms carry this; a page of another site cannot read it (same-origin policy).
        key = (token or secrets.token_urlsafe(32)).encode()
        self.csrf_token = hmac.new(key, b"aioscheduler-dashboard-csrf", hashlib.sha256).hexdigest()
        routes = [
            Route("/", self._jobs_page),
            Route("/rows", self._rows),
            Route("/jobs/{job_id:path}", self._job_page),
            Route("/timeline", self._timeline),
            Route("/events", self._events),
            Route("/action", self._action, methods=["POST"]),
            Route("/api/jobs", self._api_jobs),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
        starlette = Starlette(routes=routes, exception_handlers={StoreError: _store_failed})
        hosts = None
        if allowed_hosts is not None:
            names = () if isinstance(allowed_hosts, str) else tuple(allowed_hosts)
            if isinstance(allowed_hosts, str) or not all(isinstance(h, str) and h for h in names):
                raise InvalidDashboard(
                    f"allowed_hosts must be a list of host names, got {allowed_hosts!r}"
                )
            hosts = frozenset(h.lower() for h in names)
        self._app = TokenGuard(starlette, token, hosts)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI entry point."""
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        mode = " read-only" if self.read_only else ""
        return f"<Dashboard of {self.scheduler!r}{mode}>"

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/") + "/"

    def _node(self) -> str:
        node = getattr(self.scheduler, "node_id", None) or getattr(self.scheduler, "_node_id", "")
        return str(node) or "local"

    def _page(self, request: Request, title: str, body: str, active: str = "") -> HTMLResponse:
        html = _html.page(
            title, body, base=self._base(request), csrf=self.csrf_token, active=active
        )
        return HTMLResponse(html)

    # -- pages ---------------------------------------------------------------------------------

    async def _jobs_page(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        state = request.query_params.get("state", "all")
        jobs = await self.scheduler.jobs()
        running = await running_by_job(self.scheduler.store)
        views = [view_of(job, running) for job in jobs]
        broken = await _broken(self.scheduler.store)
        # The script filters as one types; without it the server filters (the same rules).
        if state != "all":
            views = [v for v in views if v.state == state]
        if query:
            views = [v for v in views if query.lower() in v.search_text]
        body = _html.jobs_page(
            views,
            base=self._base(request),
            csrf=self.csrf_token,
            read_only=self.read_only,
            query=query,
            state=state,
        )
        return self._page(request, "Jobs", body + _html.broken_list(broken), "jobs")

    async def _rows(self, request: Request) -> Response:
        ids = request.query_params.getlist("id")
        if ids and len(ids) <= 50:
            jobs = []
            for job_id in ids:
                with contextlib.suppress(JobNotFound):
                    jobs.append(await self.scheduler.get(job_id))
        else:
            wanted = set(ids)
            jobs = [j for j in await self.scheduler.jobs() if not wanted or j.id in wanted]
        running = await running_by_job(self.scheduler.store)
        rows = _html.rows_html(
            (view_of(j, running) for j in jobs),
            self._base(request),
            self.csrf_token,
            self.read_only,
        )
        return HTMLResponse(f"<table><tbody>{rows}</tbody></table>")

    async def _job_page(self, request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            job = await self.scheduler.get(job_id)
        except JobNotFound as exc:
            return HTMLResponse(
                _html.page(
                    "Not found",
                    f"<h1>Not found</h1><p>{escape(str(exc))}</p>",
                    base=self._base(request),
                    csrf=self.csrf_token,
                    active="",
                ),
                status_code=404,
            )
        view = view_of(job, await running_by_job(self.scheduler.store))
        firings = next_firings(job, 10, self.scheduler.clock.now())
        if request.query_params.get("fragment") == "live":
            actions = (
                "" if self.read_only else _html.actions(view, self._base(request), self.csrf_token)
            )
            return HTMLResponse(_html.job_live(job, view, firings, self._node(), actions))
        body = _html.job_page(
            job,
            view,
            firings,
            base=self._base(request),
            csrf=self.csrf_token,
            read_only=self.read_only,
            node=self._node(),
        )
        return self._page(request, job.id, body)

    async def _timeline(self, request: Request) -> Response:
        jobs = await self.scheduler.jobs()
        now = self.scheduler.clock.now()
        firings = collect_firings(jobs, now, timedelta(hours=1))
        crowds = [(t, n) for t, n in firings.per_second().most_common(10) if n > 0]
        runs = [run for job in jobs for run in job.history]
        body = _html.timeline_page(
            timeline_svg(firings, lambda job_id: _html.job_url(self._base(request), job_id)),
            lateness_svg(runs),
            crowds=crowds,
            truncated=firings.truncated,
            jobs_drawn=min(len(firings.lanes), MAX_LANES),
            jobs_total=len(firings.lanes),
        )
        return self._page(request, "Timeline", body, "timeline")

    async def _api_jobs(self, request: Request) -> Response:
        out = []
        for job in await self.scheduler.jobs():
            v = view_of(job)
            out.append(
                {
                    "id": v.id,
                    "callable": v.callable,
                    "trigger": v.trigger,
                    "next_run_at": v.next_run_at.isoformat() if v.next_run_at else None,
                    "paused": v.paused,
                    "state": v.state,
                    "last_outcome": v.last_outcome,
                    "last_lateness_ms": v.last_lateness_ms,
                    "failure_streak": v.streak,
                }
            )
        return JSONResponse(out)

    async def _events(self, request: Request) -> Response:
        feed = LiveFeed(self.scheduler, interval=self._interval, poll=self._poll)
        return StreamingResponse(
            feed.stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    # -- actions -------------------------------------------------------------------------------

    async def _action(self, request: Request) -> Response:
        scripted = request.headers.get("x-requested-with") == "aioscheduler-dashboard"
        if self.read_only:
            return _refuse(scripted, 403, "the dashboard is read-only")
        if not same_origin(request.scope):
            return _refuse(scripted, 403, "cross-site request refused")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _refuse(scripted, 413, "request too large")
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return _refuse(scripted, 415, "send the form as application/x-www-form-urlencoded")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        given = request.headers.get("x-csrf-token") or form.get("csrf", "")
        if not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
            return _refuse(scripted, 403, "missing or wrong CSRF token: reload the page")
        action, job_id = form.get("action", ""), form.get("job_id", "")
        if action not in ACTIONS:
            return _refuse(scripted, 400, f"unknown action {action!r}; known: {ACTIONS}")
        base = self._base(request)
        if action == "remove" and form.get("confirmed") != "yes":
            if scripted:
                return _refuse(scripted, 409, "removing a job needs confirmed=yes")
            return self._page(
                request, "Remove?", _html.confirm_page(job_id, base=base, csrf=self.csrf_token)
            )
        try:
            if action == "pause":
                await self.scheduler.pause(job_id)
            elif action == "resume":
                await self.scheduler.resume(job_id)
            elif action == "run":
                await self.scheduler.run_now(job_id)
            else:
                await self.scheduler.remove(job_id)
        except JobNotFound as exc:
            return _refuse(scripted, 404, str(exc))
        if scripted:
            return JSONResponse({"ok": True, "action": action, "job_id": job_id})
        return RedirectResponse(base, status_code=303)


async def _broken(store: Any) -> list[tuple[str, str]]:
    """``store.broken_jobs()`` (sync or async) where the store has it: jobs it cannot load."""
    method = getattr(store, "broken_jobs", None)
    if method is None:
        return []
    result = method()
    if inspect.isawaitable(result):
        result = await result
    return [(str(item[0]), str(item[1])) for item in result or ()]


def _refuse(scripted: bool, status: int, message: str) -> Response:
    if scripted:
        return JSONResponse({"ok": False, "error": message}, status_code=status)
    return Response(message + "\n", status_code=status, media_type="text/plain")


async def _store_failed(request: Request, exc: Exception) -> Response:
    return Response(f"the store cannot be read: {exc}\n", status_code=503, media_type="text/plain")
