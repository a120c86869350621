"""AnyOf (the union, simultaneous firings folded) and AllOf (the bounded intersection)."""

from __future__ import annotations

from datetime import date

import pytest

from aioscheduler.errors import InvalidTrigger, NoCommonFiring
from aioscheduler.triggers import AllOf, AnyOf, At, CalendarInterval, Cron, Every, Ticks, Trigger

from ._util import utc

T0 = utc(2026, 3, 2, 12)


def test_any_of_is_the_union_and_folds_simultaneous_firings() -> None:
    trigger = AnyOf(Cron("0 * * * *"), Cron("*/30 * * * *"), Cron("45 12 * * *"))
    assert trigger.preview(5, after=T0) == [
        utc(2026, 3, 2, 12, 30),
        utc(2026, 3, 2, 12, 45),
        utc(2026, 3, 2, 13),  # both crons fire: once
        utc(2026, 3, 2, 13, 30),
        utc(2026, 3, 2, 14),
    ]


def test_any_of_keeps_intervals_on_their_own_grid() -> None:
    trigger = AnyOf(Every(60), Every(90)).anchor(T0)
    seconds = [(t - T0).total_seconds() for t in trigger.preview(6, after=T0)]
    assert seconds == [60, 90, 120, 180, 240, 270]


def test_any_of_with_a_one_shot() -> None:
    trigger = AnyOf(At(utc(2026, 3, 2, 12, 10)), Cron("0 13 * * *"))
    assert trigger.preview(3, after=T0) == [
        utc(2026, 3, 2, 12, 10),
        utc(2026, 3, 2, 13),
        utc(2026, 3, 3, 13),
    ]


def test_any_of_skips_ahead_after_downtime() -> None:
    trigger = AnyOf(Every(60), Cron("30 * * * *")).anchor(T0)
    nxt = trigger.next_after(utc(2026, 3, 2, 12, 1), now=utc(2026, 3, 9, 12, 0, 30))
    assert nxt == utc(2026, 3, 9, 12, 1)


def test_all_of_is_the_intersection() -> None:
    friday_13th = AllOf(Cron("0 0 * * fri"), Cron("0 0 13 * *"))
    days = [t.date() for t in friday_13th.preview(3, after=T0)]
    assert days == [date(2026, 3, 13), date(2026, 11, 13), date(2027, 8, 13)]


def test_all_of_with_intervals_meets_on_the_common_multiple() -> None:
    trigger = AllOf(Every(60), Every(90)).anchor(T0)
    assert [(t - T0).total_seconds() for t in trigger.preview(3, after=T0)] == [180, 360, 540]


def test_all_of_without_agreement_fails_at_the_first_firing() -> None:
    never = AllOf(Cron("0 0 * * *"), Cron("30 0 * * *"), max_steps=50)
    with pytest.raises(NoCommonFiring, match="within 50 steps"):
        never.first_fire(T0)
    assert never.next_after(T0) is None  # a later search ends the sequence instead


def test_all_of_ends_when_a_member_ends() -> None:
    assert AllOf(At(utc(2026, 3, 3)), Cron("0 0 * * *")).preview(3, after=T0) == [utc(2026, 3, 3)]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AnyOf(), "AnyOf needs at least one trigger"),
        (lambda: AllOf("0 * * * *"), "AllOf takes triggers"),  # type: ignore[arg-type]
        (lambda: AnyOf(Ticks(3)), "cannot combine"),
        (lambda: AllOf(Cron("@daily"), max_steps=0), "max_steps must be an int >= 1"),
    ],
)
def test_bad_arguments_are_refused(build: object, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "trigger",
    [
        AnyOf(Cron("0 9 * * *", timezone="Europe/Berlin"), Every(90)).anchor(T0),
        AllOf(Cron("0 0 * * fri"), Cron("0 0 13 * *"), max_steps=77),
        AnyOf(AllOf(Every(60), Every(90)), CalendarInterval(months=1, start_at=T0)),
    ],
    ids=["any", "all", "nested"],
)
def test_stored_forms_round_trip(trigger: Trigger) -> None:
    data = trigger.to_dict()
    back = Trigger.from_dict(data)
    assert back == trigger
    assert back.to_dict() == data


def test_describe_joins_the_members() -> None:
    assert AnyOf(Every(60), Cron("0 9 * * *")).describe() == "every 1 minute, or at 09:00"
    assert AllOf(Cron("0 0 * * fri"), Cron("0 0 13 * *")).describe() == (
        "when all agree: at 00:00 on Friday, and at 00:00 on day 13 of the month"
    )
