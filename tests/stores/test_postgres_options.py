"""PostgresStore options are checked at construction, before any connection (no server needed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aioscheduler.errors import InvalidConfiguration
from aioscheduler.stores.postgres import PostgresStore


def test_durations_may_be_timedeltas_and_the_history_limit_a_digit_string() -> None:
    store = PostgresStore("postgres://h/db", lease=timedelta(seconds=12), history_limit="7")  # type: ignore[arg-type]  # as a URL query gives it
    assert store.lease == 12.0


@pytest.mark.parametrize(
    ("dsn", "options", "message"),
    [
        pytest.param(
            "mysql://h/db", {}, "needs a 'postgresql://user@host:port/db' URL", id="scheme"
        ),
        pytest.param(42, {}, "needs a 'postgresql://", id="not-a-string"),
        pytest.param(
            "postgresql://h/db", {"schema": 5}, "schema must be a lower-case", id="schema-int"
        ),
        pytest.param(
            "postgresql://h/db", {"lease": True}, "lease must be a positive", id="lease-bool"
        ),
        pytest.param("postgresql://h/db", {"poll": 0}, "poll must be a positive", id="poll-zero"),
        pytest.param(
            "postgresql://h/db", {"timeout": "ten"}, "timeout must be a number", id="timeout-word"
        ),
        pytest.param(
            "postgresql://h/db", {"history_limit": True}, "history_limit must be", id="limit-bool"
        ),
        pytest.param(
            "postgresql://h/db", {"history_limit": "-3"}, "history_limit must be", id="limit-text"
        ),
    ],
)
def test_a_bad_option_fails_at_construction(dsn: Any, options: Any, message: str) -> None:
    with pytest.raises(InvalidConfiguration, match=message):
        PostgresStore(dsn, **options)


def test_a_url_of_another_scheme_is_refused_by_from_url() -> None:
    with pytest.raises(InvalidConfiguration, match="starts with 'postgresql://'"):
        PostgresStore.from_url("redis://h/0")


def test_a_malformed_url_is_refused_by_from_url() -> None:
    with pytest.raises(InvalidConfiguration, match="malformed PostgreSQL store URL"):
        PostgresStore.from_url("postgresql://h:notaport]/db")
