"""``aioscheduler dashboard``: serve the web dashboard of a scheduler or of a store.

``TARGET`` (``module:attr``) on the in-memory store: the scheduler runs in this process, with
the dashboard next to it. ``TARGET`` on a persistent store, or ``--store URL``: the store is
read (read-only) while the service that owns the scheduler runs elsewhere; the page polls it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from .._scheduler import Scheduler
from ..errors import SchedulerError
from ..stores import Store, store_from_url
from ._target import UsageError, cwd_importable, load_scheduler

__all__ = ("add_parser", "serve_dashboard")

#: Environment variable read when ``--token`` is not given (a token in argv shows in ``ps``).
TOKEN_ENV = "AIOSCHEDULER_DASHBOARD_TOKEN"


def add_parser(commands: Any) -> None:
    """Add the ``dashboard`` subcommand to the ``aioscheduler`` parser."""
    dash = commands.add_parser(
        "dashboard",
        help="serve the web dashboard",
        description="Serve the web dashboard of the scheduler MODULE:ATTR (an in-memory one "
        "runs here, with its jobs) or of the store at --store (read-only). Binds 127.0.0.1 "
        f"by default; any other address needs --token (or ${TOKEN_ENV}).",
    )
    source = dash.add_mutually_exclusive_group(required=True)
    source.add_argument("target", nargs="?", metavar="MODULE:ATTR", help="e.g. myapp:scheduler")
    source.add_argument("--store", metavar="URL", help="a store URL, e.g. sqlite:///jobs.db")
    dash.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    dash.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any)")
    dash.add_argument(
        "--token", default=None, help=f"access token (default: ${TOKEN_ENV}); 16+ characters"
    )
    dash.add_argument("--read-only", action="store_true", help="hide and refuse the actions")
    dash.add_argument(
        "--allow",
        action="append",
        default=None,
        metavar="MODULE",
        help="with --store: show jobs whose code is in MODULE (repeatable); others are listed "
        "as broken. A SQLite file is read without importing anything; a PostgreSQL or Redis "
        "store loads (imports) the admitted jobs, like any scheduler with allow=",
    )


def _store(url: str, allow: list[str] | None) -> Store:
    """The store to show: a SQLite file is read read-only (beside the scheduler that holds its
    lock); any other URL goes to ``store_from_url`` (PostgreSQL and Redis share by design)."""
    if url.startswith("sqlite:"):
        from .._admission import Admission
        from ..dashboard._readonly import SQLiteReader

        return SQLiteReader.from_url(url, Admission(allow) if allow else None)
    return store_from_url(url)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve_dashboard(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not _loopback(args.host) and token is None:
        raise UsageError(
            f"--host {args.host} can be reached from other machines: give --token "
            f"(or set {TOKEN_ENV})"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    try:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from ..dashboard import Dashboard
        from ..dashboard._readonly import SQLiteReader
        from ..stores.sqlite import SQLiteStore
    except ImportError as exc:
        raise UsageError(
            f"the dashboard needs {exc.name}: pip install 'aioscheduler[dashboard]'"
        ) from None

    try:
        if args.store is not None:
            cwd_importable()
            store = _store(args.store, args.allow)
            if isinstance(store, SQLiteReader):  # it checks names itself, importing nothing
                scheduler = Scheduler(store=store)
            else:  # a shared store loads its jobs: only what --allow admits (sec's policy)
                scheduler = Scheduler(store=store, allow=args.allow)
        else:
            scheduler = await load_scheduler(args.target)
            if isinstance(scheduler.store, SQLiteStore):
                # the service holds the file's one-writer lock: read it beside it instead
                codec = getattr(scheduler.store, "codec", None)
                admission = scheduler.admission
                reader = SQLiteReader(scheduler.store.path, codec, admission)
                scheduler = Scheduler(store=reader)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None
    runs_here = not scheduler.store.persistent and args.store is None
    try:
        dashboard = Dashboard(scheduler, token=token, read_only=args.read_only or not runs_here)
    except SchedulerError as exc:
        raise UsageError(str(exc)) from None

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if runs_here:
            async with scheduler:
                yield
        else:
            try:
                yield
            finally:
                await scheduler.store.close()

    app = Starlette(routes=[Mount("", app=dashboard)], lifespan=lifespan)

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # ours (below) stop it without re-raising the signal afterwards

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a signal is a clean stop: exit status 0
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn's way to end a failed startup (a port taken): reported below
            if server.started:
                raise

    task = asyncio.ensure_future(serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        port = server.servers[0].sockets[0].getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        mode = "read-only, " if dashboard.read_only else ""
        what = "store " + args.store if args.store else args.target
        print(
            f"aioscheduler dashboard: {what} on http://{host}:{port}/ ({mode}Ctrl-C stops)",
            flush=True,
        )
    try:
        await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if not server.started:
        print("aioscheduler dashboard: error: the server did not start", file=sys.stderr)
        return 1
    return 0
