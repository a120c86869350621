"""`aioscheduler jobs --store URL` on a shared store: the table and the broken rows under it."""

from __future__ import annotations

from datetime import UTC, datetime

from aioscheduler.cli._stored import stored_jobs_table
from aioscheduler.stores._inspect import LeaseInfo, StoredJob

NEXT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Listing:
    """A store offering `describe_jobs()`, as the PostgreSQL and Redis stores do."""

    def __init__(self, *jobs: StoredJob) -> None:
        self.jobs = jobs

    async def describe_jobs(self) -> list[StoredJob]:
        return list(self.jobs)


def job(job_id: str, problem: str | None = None, **changes: object) -> StoredJob:
    base = StoredJob(job_id, "app:work", "every 10 seconds", NEXT, False, None, (), problem)
    return base._replace(**changes)  # type: ignore[arg-type]


async def test_running_firings_are_listed_with_node_attempt_and_lease_left() -> None:
    lease = LeaseInfo(NEXT, "node-a", "node-a#1", 2, 4.25)
    text = await stored_jobs_table(Listing(job("a", leases=(lease,), last_outcome="error")), UTC)
    header, _, row = text.splitlines()
    assert header.split("  ")[0] == "ID" and "RUNNING ON (ATTEMPT, LEASE LEFT)" in header
    assert row.split()[0] == "a" and "node-a (2, 4.2 s)" in row and "error" in row


async def test_a_paused_job_without_a_next_run_shows_dashes() -> None:
    text = await stored_jobs_table(Listing(job("p", next_run_at=None, paused=True)), UTC)
    row = text.splitlines()[2]
    assert " yes " in row and row.count(" - ") >= 2 and row.endswith("-")


async def test_broken_rows_are_listed_under_the_table_with_their_problem() -> None:
    text = await stored_jobs_table(
        Listing(job("ok"), job("x", "RefusedReference: not admitted"), job("y", "unreadable")),
        UTC,
    )
    assert text.endswith(
        "\n\n2 broken jobs (cannot be loaded):\n  x: RefusedReference: not admitted\n"
        "  y: unreadable"
    )


async def test_only_broken_rows_say_no_jobs_and_one_broken_job() -> None:
    text = await stored_jobs_table(Listing(job("x", "unreadable")), UTC)
    assert text == "no jobs\n\n1 broken job (cannot be loaded):\n  x: unreadable"
