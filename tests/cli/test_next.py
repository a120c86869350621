"""``aioscheduler next``: the next fire times of a cron expression or an interval."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aioscheduler.cli import main
from aioscheduler.cli.next import parse_interval
from aioscheduler.errors import InvalidTrigger

from .proc import run

AFTER = "2026-03-26T12:00:00+00:00"  # Thursday; Europe/Berlin springs forward on Sunday 29th


@pytest.mark.slow
def test_prints_cron_times_in_the_zone_and_in_utc_across_dst() -> None:
    proc = run(
        "next", "0 9 * * mon-fri", "-n", "4", "--timezone", "Europe/Berlin", "--after", AFTER
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "cron '0 9 * * mon-fri': at 09:00 on Monday through Friday (Europe/Berlin)",
        "1  Fri 2026-03-27 09:00:00 CET   2026-03-27 08:00:00 UTC",
        "2  Mon 2026-03-30 09:00:00 CEST   2026-03-30 07:00:00 UTC",
        "3  Tue 2026-03-31 09:00:00 CEST   2026-03-31 07:00:00 UTC",
        "4  Wed 2026-04-01 09:00:00 CEST   2026-04-01 07:00:00 UTC",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field value '61' out of range 0-59"),
        ("0 9 * * funday", "day-of-week field value 'funday'"),
        ("* * * *", "expected 5 fields"),
        ("5x", "unknown unit 'x'"),
    ],
)
def test_a_bad_expression_names_the_field_and_value_and_exits_2(
    expression: str, message: str
) -> None:
    proc = run("next", expression)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("aioscheduler next: error: ")
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1


def next_lines(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["next", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_default_count_is_ten_and_a_cron_without_zone_reads_utc(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = next_lines(capsys, "@hourly", "--after", AFTER, "--timezone", "UTC")
    assert lines[0] == "cron '@hourly': at minute 00 of every hour (UTC)"
    assert len(lines) == 11
    assert lines[1] == " 1  Thu 2026-03-26 13:00:00 UTC   2026-03-26 13:00:00 UTC"
    assert lines[10].startswith("10  Thu 2026-03-26 22:00:00")


def test_six_fields_put_seconds_first(capsys: pytest.CaptureFixture[str]) -> None:
    lines = next_lines(capsys, "*/20 * * * * *", "-n", "2", "--after", AFTER, "--timezone", "UTC")
    assert [line.split()[3] for line in lines[1:]] == ["12:00:20", "12:00:40"]


@pytest.mark.parametrize(
    ("expression", "first", "second"),
    [
        ("10s", "12:00:10", "12:00:20"),
        ("every 5 minutes", "12:05:00", "12:10:00"),
        ("1h30m", "13:30:00", "15:00:00"),
        ("250ms", "12:00:00.250000", "12:00:00.500000"),
    ],
)
def test_intervals_count_from_after(
    capsys: pytest.CaptureFixture[str], expression: str, first: str, second: str
) -> None:
    lines = next_lines(capsys, expression, "-n", "2", "--after", AFTER, "--timezone", "UTC")
    assert [line.split()[3] for line in lines[1:]] == [first, second]


def test_a_naive_after_is_read_in_the_timezone(capsys: pytest.CaptureFixture[str]) -> None:
    lines = next_lines(
        capsys, "@daily", "-n", "1", "--after", "2026-03-26T12:00", "--timezone", "Asia/Tokyo"
    )
    assert lines[1] == "1  Fri 2026-03-27 00:00:00 JST   2026-03-26 15:00:00 UTC"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10s", timedelta(seconds=10)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1.5)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("every 2 hours 30 minutes", timedelta(hours=2, minutes=30)),
        ("Every 10 Seconds", timedelta(seconds=10)),
    ],
)
def test_interval_syntax(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5", "'5' needs a unit"),
        ("5 parsecs", "unknown unit 'parsecs'"),
        ("every", "nothing after 'every'"),
        ("0s", "longer than zero"),
        ("every soon", "expected a number at 'soon'"),
        ("99999999999w", "too long"),
    ],
)
def test_bad_intervals_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        parse_interval(text)


@pytest.mark.parametrize(
    "expression",
    ["99999999999w", "9999999999d", "9" * 60 + "s", "every 99999999999 weeks", "61 * * * *"],
)
def test_every_bad_expression_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], expression: str
) -> None:
    assert main(["next", expression]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aioscheduler next: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "args",
    [["-n", "0"], ["-n", "many"], ["--timezone", "Mars/Olympus"], ["--after", "tomorrow"]],
    ids=["zero", "text", "zone", "after"],
)
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["next", "@daily", *args])
    assert exc.value.code == 2
    assert "usage: aioscheduler next" in capsys.readouterr().err


@pytest.mark.slow
def test_the_installed_script_and_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("aioscheduler ")
