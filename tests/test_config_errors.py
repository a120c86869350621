"""Each bad setting gets its own fitting error type and a message naming it (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aioscheduler import Cron, Every, Scheduler
from aioscheduler.errors import InvalidConfiguration, InvalidJob, InvalidTrigger


def test_every_zero_says_the_interval_is_zero() -> None:
    with pytest.raises(InvalidTrigger, match=r"got 0: .* all 0; e\.g\. Every\(seconds=30\)") as e:
        Every(seconds=0)
    assert "nothing" not in str(e.value)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/"])
def test_a_bad_scheduler_timezone_is_a_configuration_error(zone: str) -> None:
    with pytest.raises(InvalidConfiguration, match="scheduler timezone") as e:
        Scheduler(timezone=zone)
    assert not isinstance(e.value, InvalidTrigger)
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosql://x", "unknown store URL scheme 'nosql'"),
        ("jobs.db", "must look like 'scheme://...'"),
        ("sqlite://jobs.db", "sqlite:///relative.db"),
    ],
)
def test_a_bad_store_url_is_a_configuration_error(url: str, message: str) -> None:
    with pytest.raises(InvalidConfiguration, match=message) as e:
        Scheduler(store=url)
    assert not isinstance(e.value, InvalidJob)


def test_a_store_that_is_not_a_store_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfiguration, match="store must be a Store"):
        Scheduler(store=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["utc", "UTC", "Utc"])
def test_utc_is_accepted_in_any_case(key: str) -> None:
    scheduler = Scheduler(timezone=key)
    naive = datetime(2026, 3, 2, 12, 0)
    assert naive.replace(tzinfo=scheduler.timezone).utcoffset() == UTC.utcoffset(None)
    cron = Cron("0 9 * * *", timezone=key)
    assert cron.next_after(datetime(2026, 3, 2, 10, tzinfo=UTC)) == datetime(
        2026, 3, 3, 9, tzinfo=UTC
    )
