"""The PostgreSQL store's options: validated once, from keywords or URL query parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InvalidConfiguration

__all__ = ("URL_OPTIONS", "Options", "parse_url")

#: Store options that may be given as URL query parameters (the rest go to asyncpg).
URL_OPTIONS = ("schema", "lease", "poll", "timeout", "history_limit", "retention")
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidConfiguration(
                f"{name} must be a number of seconds, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise InvalidConfiguration(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Options:
    dsn: str
    where: str
    schema: str
    lease: float
    history_limit: int | None
    poll: float
    timeout: float
    retention: float
    clock: str

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel of the schema."""
        return f"aioscheduler_{self.schema}"

    @property
    def claim_timeout(self) -> float:
        """Seconds a transaction may sit idle before the server ends it (frozen claimer)."""
        return max(1.0, min(10.0, self.lease / 2))

    @classmethod
    def build(cls, dsn: str, **kw: Any) -> Options:
        if not isinstance(dsn, str) or not dsn.startswith(("postgresql://", "postgres://")):
            raise InvalidConfiguration(
                f"a PostgreSQL store needs a 'postgresql://user@host:port/db' URL, got {dsn!r}"
            )
        schema = kw["schema"]
        if not isinstance(schema, str) or not _SCHEMA.fullmatch(schema):
            raise InvalidConfiguration(
                f"schema must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 41 "
                f"characters), got {schema!r}"
            )
        limit = kw["history_limit"]
        if isinstance(limit, str):
            limit = int(limit) if limit.isdigit() else limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise InvalidConfiguration(f"history_limit must be an int >= 0 or None, got {limit!r}")
        if kw["clock"] not in ("server", "node"):
            raise InvalidConfiguration(f"clock must be 'server' or 'node', got {kw['clock']!r}")
        parts = urlsplit(dsn)
        where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"
        return cls(
            dsn=dsn,
            where=where,
            schema=schema,
            lease=_seconds(kw["lease"], "lease"),
            history_limit=limit,
            poll=_seconds(kw["poll"], "poll"),
            timeout=_seconds(kw["timeout"], "timeout"),
            retention=_seconds(kw["retention"], "retention"),
            clock=kw["clock"],
        )


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """Split a store URL into the DSN for asyncpg and this store's options from its query."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as exc:
        raise InvalidConfiguration(f"malformed PostgreSQL store URL {url!r}: {exc}") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidConfiguration(
            f"a PostgreSQL store URL starts with 'postgresql://', got {url!r}"
        )
    ours = {k: v for k, v in query if k in URL_OPTIONS}
    rest = [(k, v) for k, v in query if k not in URL_OPTIONS]
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    return dsn, ours
