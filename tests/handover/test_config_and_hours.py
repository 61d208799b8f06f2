"""The handover config, office hours and the Dutch wording of times."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from handover.config import parse_config
from handover.estimate import describe_wait
from handover.office_hours import describe_opening, is_open, next_opening

from handover_factories import ALWAYS_OPEN, handover_raw, make_config

AMS = ZoneInfo("Europe/Amsterdam")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def test_shipped_config_parses():
    config = make_config()
    assert config.office_hours[0] == ((8 * 60 + 30, 17 * 60),)
    assert 5 not in config.office_hours and 6 not in config.office_hours     # weekend closed
    assert date(2026, 12, 25) in config.holidays
    assert "{place}" in config.texts.queued


@pytest.mark.parametrize("moment, expected", [
    (local(2026, 3, 4, 8, 29), False),     # Wednesday, before opening
    (local(2026, 3, 4, 8, 30), True),
    (local(2026, 3, 4, 16, 59), True),
    (local(2026, 3, 4, 17, 0), False),     # closing time is closed
    (local(2026, 3, 5, 19, 30), True),     # Thursday evening opening
    (local(2026, 3, 7, 11, 0), False),     # Saturday
    (local(2026, 4, 6, 11, 0), False),     # Easter Monday (holiday)
    (local(2026, 7, 1, 9, 0), True),       # summer time: 07:00 UTC
])
def test_is_open(moment, expected):
    assert is_open(make_config(), moment.astimezone(timezone.utc)) is expected


@pytest.mark.parametrize("moment, opening", [
    (local(2026, 3, 4, 7, 0), local(2026, 3, 4, 8, 30)),       # later today
    (local(2026, 3, 4, 18, 0), local(2026, 3, 5, 8, 30)),      # tomorrow
    (local(2026, 3, 6, 17, 30), local(2026, 3, 9, 8, 30)),     # Friday evening -> Monday
    (local(2026, 4, 2, 21, 0), local(2026, 4, 7, 8, 30)),      # Good Friday + Easter Monday skipped
])
def test_next_opening(moment, opening):
    assert next_opening(make_config(), moment) == opening


def test_split_days_and_midnight():
    config = make_config(office_hours={"monday": "08:00-12:00, 13:00-17:00", "sunday": "00:00-24:00"})
    assert not is_open(config, local(2026, 3, 2, 12, 30))
    assert next_opening(config, local(2026, 3, 2, 12, 30)) == local(2026, 3, 2, 13, 0)
    assert is_open(config, local(2026, 3, 8, 23, 59))


def test_no_opening_in_sight():
    config = make_config(office_hours={})
    assert next_opening(config, local(2026, 3, 4, 9, 0)) is None
    assert describe_opening(None, local(2026, 3, 4, 9, 0), AMS) == "zo snel mogelijk"


@pytest.mark.parametrize("opening, expected", [
    (local(2026, 3, 4, 13, 0), "vandaag vanaf 13.00 uur"),
    (local(2026, 3, 5, 8, 30), "morgen vanaf 8.30 uur"),
    (local(2026, 3, 9, 8, 30), "op maandag 9 maart vanaf 8.30 uur"),
])
def test_describe_opening(opening, expected):
    assert describe_opening(opening, local(2026, 3, 4, 12, 0), AMS) == expected


@pytest.mark.parametrize("minutes, expected", [
    (0, "minder dan 5 minuten"), (4.9, "minder dan 5 minuten"), (6, "ongeveer 10 minuten"),
    (15, "ongeveer 15 minuten"), (54, "ongeveer 55 minuten"), (59, "ongeveer 1 uur"), (61, "ongeveer 1,5 uur"),
    (90, "ongeveer 1,5 uur"), (100, "ongeveer 2 uur"), (500, "meer dan 3 uur"),
])
def test_describe_wait(minutes, expected):
    assert describe_wait(timedelta(minutes=minutes)) == expected


@pytest.mark.parametrize("change, message", [
    ({"colour": "blue"}, "unknown setting"),
    ({"office_hours": {"funday": "08:00-17:00"}}, "unknown weekday"),
    ({"office_hours": {"monday": "8-17"}}, "expected times like"),
    ({"office_hours": {"monday": "17:00-08:00"}}, "ends before it starts"),
    ({"office_hours": {"monday": "08:00-12:00, 11:00-17:00"}}, "overlap"),
    ({"office_hours": {"monday": "08:00-25:00"}}, "expected times like"),
    ({"holidays": ["eerste kerstdag"]}, "not a date"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"check_interval_s": 0}, "greater than 0"),
    ({"session_hours": "lang"}, "must be a number"),
])
def test_bad_settings_fail_fast(change, message):
    raw = handover_raw()
    raw.update(change)
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


@pytest.mark.parametrize("texts_change, message", [
    ({"queued": "U bent nummer {plaats}."}, "unknown placeholder"),
    ({"assigned": ""}, "assigned is missing"),
    ({"welcome": "Hoi"}, "unknown text"),
    ({"closed": "Tot {ziens"}, "broken"),
])
def test_bad_texts_fail_fast(texts_change, message):
    raw = handover_raw()
    raw["texts"] = {**raw["texts"], **texts_change}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_missing_texts_section_fails_fast():
    raw = handover_raw()
    del raw["texts"]
    with pytest.raises(ConfigError, match="texts is missing"):
        parse_config(raw)


def test_always_open_helper():
    config = make_config(office_hours=ALWAYS_OPEN)
    assert is_open(config, local(2026, 3, 7, 3, 0))
