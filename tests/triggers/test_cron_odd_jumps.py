"""cronie's rules for jumps no real zone has today: under 5 minutes, 3 hours or more, and a
long jump back - with a made-up zone, against the main-loop simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from aioscheduler.triggers import Cron

from .cronie_model import simulate_cronie


class StepZone(tzinfo):
    """UTC+01:00 until ``at`` (UTC), then UTC+01:00 + ``jump``; a PEP 495 tzinfo."""

    def __init__(self, at: datetime, jump: timedelta) -> None:
        self.at, self.before, self.after = at, timedelta(hours=1), timedelta(hours=1) + jump

    def _at_utc(self, t: datetime) -> timedelta:
        return self.after if t >= self.at else self.before

    def _candidates(self, local: datetime) -> list[timedelta]:
        return [o for o in (self.before, self.after) if self._at_utc(local - o) == o]

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        local = dt.replace(tzinfo=None)
        found = sorted(self._candidates(local), reverse=True)  # earlier instant first
        if len(found) == 2:
            return found[dt.fold]
        if found:
            return found[0]
        return (self.before, self.after)[dt.fold]  # in a gap: PEP 495

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "STEP"

    def fromutc(self, dt: datetime) -> datetime:
        t = dt.replace(tzinfo=None)
        offset = self._at_utc(t)
        local = t + offset
        fold = int(len(self._candidates(local)) == 2 and offset == min(self.before, self.after))
        return (local).replace(tzinfo=self, fold=fold)


AT = datetime(2026, 6, 1, 1, 0)


@pytest.mark.parametrize(
    "jump",
    [timedelta(minutes=3), timedelta(hours=4), timedelta(hours=-4), timedelta(minutes=-3)],
    ids=["3-min-forward", "4-h-forward", "4-h-back", "3-min-back"],
)
@pytest.mark.parametrize(
    "expression", ["30 2 * * *", "* 2 * * *", "*/2 * * * *", "1 2,3,4 * * *", "0 * * * *"]
)
def test_rare_jumps_follow_cronie(jump: timedelta, expression: str) -> None:
    zone = StepZone(AT, jump)
    start = AT.replace(tzinfo=UTC) - timedelta(hours=6)
    end = AT.replace(tzinfo=UTC) + timedelta(hours=8)
    expected = simulate_cronie(expression, zone, start, end)  # type: ignore[arg-type]
    trigger = Cron(expression, timezone=zone)
    walked, t = [], trigger.first_fire(start)
    while t is not None and t <= end:
        walked.append(t)
        t = trigger.next_after(t)
    assert walked == expected
