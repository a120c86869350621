"""The stored form: JSON-compatible, versioned, round-trips exactly, refuses what it can't read."""

from __future__ import annotations

import importlib.resources
import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioscheduler.errors import InvalidTrigger, SerializationError
from aioscheduler.triggers import After, At, Cron, Every, Ticks, Trigger

from ._util import BERLIN, utc


def round_trip(trigger: Trigger) -> Trigger:
    """Through real JSON text, so the stored form is proven JSON-compatible."""
    return Trigger.from_dict(json.loads(json.dumps(trigger.to_dict(), allow_nan=False)))


# -- strategies --------------------------------------------------------------------------------

_offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=_offsets
)
_naive = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1))
_moments = st.one_of(_aware, _naive)
_jitters = st.one_of(st.none(), st.floats(0, 3600, allow_nan=False))
# Exact through float seconds up to 2**53 microseconds (about 285 years).
_intervals = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=36500))


@st.composite
def _bounds(draw: st.DrawFn) -> dict[str, Any]:
    """Optional start/end, either aware or naive, with end_at > start_at in any zone."""
    start = draw(st.one_of(st.none(), _moments))
    end = draw(st.one_of(st.none(), _moments))
    if start is not None and end is not None:
        # Two days apart: more than any offset a naive bound may be resolved with.
        gap = draw(st.timedeltas(min_value=timedelta(days=2), max_value=timedelta(days=900)))
        shifted = start.replace(tzinfo=None) + gap
        end = shifted if end.tzinfo is None else shifted.replace(tzinfo=end.tzinfo)
    return {"start_at": start, "end_at": end}


_everys = st.builds(
    lambda interval, jitter, bounds: Every(interval, jitter=jitter, **bounds),
    _intervals,
    _jitters,
    _bounds(),
)
_crons = st.builds(
    lambda expression, zone, jitter, bounds: Cron(
        expression, timezone=zone, jitter=jitter, **bounds
    ),
    st.sampled_from(
        ["*/15 * * * *", "0 9 * * mon-fri", "@daily", "*/5 0 12 * * *", "0 0 29 2 *", "5-5 1 * * *"]
    ),
    st.one_of(
        st.none(),
        st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
        _offsets,
    ),
    _jitters,
    _bounds(),
)
_ats = st.builds(At, _moments)
_afters = st.builds(After, st.one_of(_intervals, st.floats(0, 1e9, allow_nan=False)))
_ticks = st.builds(Ticks, st.integers(1, 10**9), st.text(min_size=1, max_size=20), st.booleans())


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(_everys, id="every"),
        pytest.param(_crons, id="cron"),
        pytest.param(_ats, id="at"),
        pytest.param(_afters, id="after"),
        pytest.param(_ticks, id="ticks"),
    ],
)
@given(data=st.data())
def test_round_trip_is_exact(strategy: st.SearchStrategy[Trigger], data: st.DataObject) -> None:
    trigger = data.draw(strategy)
    again = round_trip(trigger)
    assert again == trigger
    assert type(again) is type(trigger)
    assert again.to_dict() == trigger.to_dict()


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(
            Every(minutes=5, jitter=2, start_at=utc(2024, 1, 1)),
            {
                "kind": "every",
                "version": 1,
                "interval": 300.0,
                "jitter": 2.0,
                "start_at": "2024-01-01T00:00:00+00:00",
                "end_at": None,
            },
            id="every",
        ),
        pytest.param(
            Cron("0 9 * * mon-fri", timezone="Europe/Berlin"),
            {
                "kind": "cron",
                "version": 2,
                "expression": "0 9 * * mon-fri",
                "timezone": "Europe/Berlin",
                "jitter": None,
                "start_at": None,
                "end_at": None,
                "dst_gap": "cronie",
                "dst_repeat": "cronie",
            },
            id="cron",
        ),
        pytest.param(
            At(datetime(2030, 1, 1, 9)),
            {"kind": "at", "version": 1, "when": "2030-01-01T09:00:00"},
            id="at-naive",
        ),
        pytest.param(After(1.5), {"kind": "after", "version": 1, "delay": 1.5}, id="after"),
        pytest.param(
            Ticks(3, "jobs", repeat=True),
            {"kind": "ticks", "version": 1, "n": 3, "counter": "jobs", "repeat": True},
            id="ticks",
        ),
    ],
)
def test_stored_form_is_plain_json(trigger: Trigger, expected: dict[str, Any]) -> None:
    assert trigger.to_dict() == expected


@pytest.mark.parametrize(
    ("zone", "stored"),
    [
        pytest.param(UTC, "+00:00", id="utc"),
        pytest.param(timezone(timedelta(hours=5, minutes=30)), "+05:30", id="east"),
        pytest.param(timezone(timedelta(hours=-3, minutes=-30)), "-03:30", id="west"),
    ],
)
def test_a_fixed_offset_zone_is_stored_as_an_iso_offset(zone: timezone, stored: str) -> None:
    trigger = Cron("@daily", timezone=zone)
    assert trigger.to_dict()["timezone"] == stored
    assert round_trip(trigger) == trigger


def test_an_unzoned_cron_bound_to_utc_is_stored_as_the_utc_key() -> None:
    assert Cron("@daily").bind(None).to_dict()["timezone"] == "UTC"


def test_a_zone_without_a_key_cannot_be_stored() -> None:
    resource = importlib.resources.files("tzdata.zoneinfo") / "Europe" / "Berlin"
    with resource.open("rb") as file:
        keyless = ZoneInfo.from_file(file)
    with pytest.raises(SerializationError, match="has no key"):
        Cron("@daily", timezone=keyless).to_dict()


class _CustomZone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "CUSTOM"


def test_a_custom_tzinfo_works_but_cannot_be_stored() -> None:
    trigger = Cron("0 9 * * *", timezone=_CustomZone())
    assert trigger.preview(1, after=utc(2024, 1, 1)) == [utc(2024, 1, 1, 8)]
    with pytest.raises(SerializationError, match="cannot be stored"):
        trigger.to_dict()


# -- refusals ----------------------------------------------------------------------------------

_EVERY = Every(60).to_dict()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([1, 2], r"stored trigger must be a mapping, got \[1, 2\]", id="not-a-dict"),
        pytest.param({"version": 1}, "unknown stored trigger kind None", id="no-kind"),
        pytest.param(
            _EVERY | {"kind": "pickle"}, "unknown stored trigger kind 'pickle'", id="kind"
        ),
        pytest.param(_EVERY | {"kind": 3}, "unknown stored trigger kind 3", id="kind-type"),
        pytest.param(_EVERY | {"version": 2}, "has version 2; .* reads versions 1..1", id="newer"),
        pytest.param(_EVERY | {"version": 0}, "has version 0", id="version-0"),
        pytest.param(_EVERY | {"version": "1"}, "has version '1'", id="version-str"),
        pytest.param(
            {"kind": "every", "version": 1},
            "stored every trigger has no 'interval'",
            id="every-empty",
        ),
        pytest.param(_EVERY | {"interval": "60"}, "interval must be a number", id="interval-type"),
        pytest.param(_EVERY | {"interval": 0}, "interval must be positive", id="interval-zero"),
        pytest.param(
            _EVERY | {"start_at": "yesterday"}, "stored start_at 'yesterday' is not", id="iso"
        ),
        pytest.param(
            _EVERY | {"end_at": 12}, "stored end_at must be an ISO 8601 string", id="iso-type"
        ),
        pytest.param(_EVERY | {"jitter": -1}, "jitter must be", id="jitter"),
        pytest.param({"kind": "cron", "version": 1}, "has no 'expression'", id="cron-empty"),
        pytest.param(
            {"kind": "cron", "version": 1, "expression": "61 * * * *"},
            "minute field",
            id="cron-bad",
        ),
        pytest.param(
            {"kind": "cron", "version": 1, "expression": "@daily", "timezone": "Nowhere/City"},
            "unknown timezone 'Nowhere/City'",
            id="cron-zone",
        ),
        pytest.param(
            {"kind": "cron", "version": 1, "expression": "@daily", "timezone": "+25:00"},
            "stored timezone offset '\\+25:00' is not valid",
            id="cron-offset",
        ),
        pytest.param(
            {"kind": "at", "version": 1}, "stored at trigger has no 'when'", id="at-empty"
        ),
        pytest.param({"kind": "at", "version": 1, "when": None}, "has no time", id="at-none"),
        pytest.param({"kind": "after", "version": 1}, "has no 'delay'", id="after-empty"),
        pytest.param(
            {"kind": "after", "version": 1, "delay": -1}, "delay must be >= 0", id="after"
        ),
        pytest.param({"kind": "ticks", "version": 1}, "has no 'n'", id="ticks-empty"),
        pytest.param({"kind": "ticks", "version": 1, "n": 0}, "n must be", id="ticks-n"),
    ],
)
def test_bad_stored_forms_are_refused(data: Any, message: str) -> None:
    with pytest.raises(InvalidTrigger, match=message):
        Trigger.from_dict(data)


def test_missing_optional_keys_take_defaults() -> None:
    assert Trigger.from_dict({"kind": "ticks", "version": 1, "n": 2}) == Ticks(2)
    assert Trigger.from_dict({"kind": "every", "version": 1, "interval": 5}) == Every(5)
    assert Trigger.from_dict({"kind": "cron", "version": 1, "expression": "@daily"}) == Cron(
        "@daily"
    )


def test_each_kind_is_registered() -> None:
    for cls in (Every, Cron, At, After, Ticks):
        assert Trigger._registry[cls.kind] is cls


def test_stored_bounds_keep_their_instant() -> None:
    trigger = Every(60, start_at=datetime(2024, 7, 1, 9, tzinfo=BERLIN))
    assert trigger.to_dict()["start_at"] == "2024-07-01T07:00:00+00:00"
    assert round_trip(trigger) == trigger
