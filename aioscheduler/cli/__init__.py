"""The ``aioscheduler`` command (also ``python -m aioscheduler``).

``run`` serves a scheduler until SIGINT/SIGTERM, ``jobs`` lists jobs, ``next`` previews the fire
times of a cron expression or an interval. Exit status: 0 on success or a clean stop, 1 on a
crash (or a stop forced by a second signal), 2 on bad arguments, a bad expression or a target
that cannot be loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from ..errors import InvalidTrigger
from ._target import UsageError

__all__ = ("build_parser", "main")

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _zone(value: str) -> tzinfo:
    from ..triggers._time import to_zone

    try:
        return to_zone(value, "time zone")
    except InvalidTrigger as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _grace(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be >= 0 seconds, got {value!r}")
    return seconds


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if not 1 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000, got {n}")
    return n


def _instant(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-03-02T12:00:00+00:00)"
        ) from None


_FACTORY_HELP = "MODULE:ATTR is a function returning the Scheduler: call it (sync or async)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``aioscheduler`` command."""
    parser = argparse.ArgumentParser(
        prog="aioscheduler", description="Run, inspect and preview aioscheduler schedules."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="serve a scheduler until SIGINT/SIGTERM",
        description="Serve the scheduler MODULE:ATTR (a Scheduler; with --factory, a "
        "zero-argument function, sync or async, returning one) until SIGINT or SIGTERM. The "
        "first signal stops it gracefully, waiting --grace seconds for running work; a second, "
        "separate one cancels at once.",
    )
    run.add_argument("target", metavar="MODULE:ATTR", help="e.g. myapp.jobs:scheduler")
    run.add_argument("--factory", action="store_true", help=_FACTORY_HELP)
    run.add_argument(
        "--grace",
        type=_grace,
        default=None,
        metavar="SECONDS",
        help="how long the first signal waits for running work (default: as long as it takes)",
    )
    run.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop (default: auto, uvloop when installed)",
    )
    run.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="lifecycle and firings are logged at info, problems at warning and error "
        "(default: info)",
    )

    jobs = commands.add_parser(
        "jobs",
        help="list jobs as a table",
        description="List the jobs of the scheduler MODULE:ATTR, or of the store at --store: "
        "id, trigger, next run (local and UTC), paused, last outcome.",
    )
    source = jobs.add_mutually_exclusive_group(required=True)
    source.add_argument("target", nargs="?", metavar="MODULE:ATTR", help="e.g. myapp:scheduler")
    source.add_argument("--store", metavar="URL", help="a store URL, e.g. sqlite:///jobs.db")
    jobs.add_argument("--factory", action="store_true", help=_FACTORY_HELP)
    jobs.add_argument(
        "--allow",
        metavar="MODULE",
        action="append",
        default=None,
        help="with --store: a module or package whose functions the stored jobs may name "
        "(repeatable; like Scheduler(allow=...)); others are listed as broken, never imported",
    )
    jobs.add_argument(
        "--secret-key-env",
        metavar="NAME",
        default=None,
        help="with --store: read a signed or encrypted store with the key in the environment "
        "variable NAME",
    )
    jobs.add_argument(
        "--timezone", type=_zone, default=None, help="zone of the local column (default: system)"
    )

    nxt = commands.add_parser(
        "next",
        help="preview the next fire times of a cron expression or an interval",
        description="Print the next fire times of a cron expression (5 fields, or 6 with "
        "seconds first, or @hourly-style aliases) or an interval ('10s', '5m', '1h30m', "
        "'every 5 minutes').",
    )
    nxt.add_argument("expression", metavar="EXPR")
    nxt.add_argument("-n", type=_count, default=10, help="how many (default: 10)")
    nxt.add_argument(
        "--timezone",
        type=_zone,
        default=None,
        help="zone the cron expression is read in and times are shown in (default: cron in "
        "UTC, shown in the system zone)",
    )
    nxt.add_argument(
        "--after", type=_instant, default=None, help="start from this ISO time (default: now)"
    )
    from .dashboard import add_parser as add_dashboard_parser

    add_dashboard_parser(commands)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def _run_loop(factory: Callable[[], Coroutine[Any, Any, T]], loop: str = "asyncio") -> T:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(factory())


def _choose_loop(choice: str) -> str:
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise UsageError(
                "--loop uvloop: uvloop is not installed (pip install uvloop)"
            ) from None
        return "asyncio"
    return "uvloop"


def _command(args: argparse.Namespace) -> int:
    if args.command == "next":
        from .next import preview, to_trigger

        after = args.after or datetime.now(UTC)
        if after.tzinfo is None:
            after = after.replace(tzinfo=args.timezone or UTC)
        try:
            trigger = to_trigger(args.expression, args.timezone)
            text = preview(trigger, args.n, after, args.timezone)
        except (InvalidTrigger, OverflowError, ValueError) as exc:
            raise UsageError(str(exc) or type(exc).__name__) from None
        print(text)
        return 0
    if args.command == "jobs":
        from ._keys import secret_key_from_env
        from .jobs import list_jobs

        key = secret_key_from_env(args.secret_key_env)
        print(
            _run_loop(
                lambda: list_jobs(
                    args.target,
                    args.store,
                    args.timezone,
                    args.allow,
                    factory=args.factory,
                    key=key,
                )
            )
        )
        return 0
    if args.command == "dashboard":
        from .dashboard import serve_dashboard

        return _run_loop(lambda: serve_dashboard(args))
    from .run import serve

    loop = _choose_loop(args.loop)
    return _run_loop(lambda: serve(args.target, args.grace, loop, factory=args.factory), loop)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aioscheduler`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    level = getattr(args, "log_level", "warning").upper()
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)
    try:
        code = _command(args)
    except UsageError as exc:
        print(f"aioscheduler {args.command}: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside `run`, e.g. while importing a slow module
        code = 130
    _exit_if_threads_linger(code)
    return code


def _exit_if_threads_linger(code: int) -> None:
    """Exit now if worker threads of sync jobs outlived the stop (they were reported
    cancelled): the interpreter would otherwise wait for them at exit."""
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
