"""Plain-text tables and time formatting for the command line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

__all__ = ("format_local", "format_table", "format_utc")


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, the header underlined."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _seconds(moment: datetime) -> str:
    return "%H:%M:%S.%f" if moment.microsecond else "%H:%M:%S"


def format_local(moment: datetime, tz: tzinfo | None) -> str:
    """``Mon 2026-03-02 09:00:00 CET`` in ``tz`` (``None``: the system's local zone)."""
    local = moment.astimezone(tz)
    return local.strftime(f"%a %Y-%m-%d {_seconds(local)} %Z")


def format_utc(moment: datetime) -> str:
    """``2026-03-02 08:00:00 UTC``."""
    utc = moment.astimezone(UTC)
    return utc.strftime(f"%Y-%m-%d {_seconds(utc)} UTC")
