"""The ``handover:`` section of balie.yml as a typed, validated dataclass.

Bad values fail at start-up with a ConfigError naming the key, never later
in the middle of a citizen's conversation (a text with an unknown
``{placeholder}`` included).
"""
from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Every citizen text and the placeholders it may use.
TEXT_PLACEHOLDERS = {
    "queued": {"place", "wait"},
    "queued_closed": {"place", "next_open"},
    "wait_update": {"place", "wait"},
    "assigned": {"agent"},
    "transferred": {"agent"},
    "released": {"place", "wait"},
    "office_closed": {"place", "next_open"},
    "closed": set(),
}

# Minutes since midnight; an interval [start, end) with end up to 24:00.
Interval = tuple[int, int]


@dataclass(frozen=True)
class HandoverTexts:
    queued: str
    queued_closed: str
    wait_update: str
    assigned: str
    transferred: str
    released: str
    office_closed: str
    closed: str


@dataclass(frozen=True)
class HandoverConfig:
    texts: HandoverTexts
    timezone: str = "Europe/Amsterdam"
    # weekday (0 = Monday) -> opening intervals; a missing weekday is closed
    office_hours: dict = field(default_factory=dict)
    holidays: frozenset = frozenset()
    default_handle_minutes: float = 6.0     # estimate when no chat was closed yet
    estimate_sample: int = 20               # recent closed chats behind the estimate
    wait_update_after_s: int = 300          # silence before the citizen hears from us;
                                            # each next update waits twice as long
    check_interval_s: float = 30.0          # the service's periodic check
    poll_interval_s: float = 1.0            # live updates: how often the DB is polled
    session_hours: float = 12.0             # agent login lifetime
    recent_bot_hours: float = 24.0          # bot conversations an agent may pick up
    max_failed_logins: int = 5
    lockout_minutes: int = 5

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_NUMBERS = {
    "default_handle_minutes": float, "estimate_sample": int, "wait_update_after_s": int,
    "check_interval_s": float, "poll_interval_s": float,
    "session_hours": float, "recent_bot_hours": float, "max_failed_logins": int,
    "lockout_minutes": int,
}


def parse_config(raw: dict) -> HandoverConfig:
    """Build the config from the raw YAML mapping; ConfigError names what is wrong."""
    raw = dict(raw or {})
    known = set(_NUMBERS) | {"texts", "timezone", "office_hours", "holidays"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown setting(s) in [handover]: {', '.join(sorted(unknown))}")
    values = {name: _number(name, kind, raw[name]) for name, kind in _NUMBERS.items() if name in raw}
    if "timezone" in raw:
        values["timezone"] = _timezone(raw["timezone"])
    return HandoverConfig(
        texts=_texts(raw.get("texts")),
        office_hours=_office_hours(raw.get("office_hours") or {}),
        holidays=_holidays(raw.get("holidays") or []),
        **values,
    )


def _number(name: str, kind: type, value) -> float:
    try:
        number = kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting handover.{name} must be a number") from exc
    if number <= 0:
        raise ConfigError(f"setting handover.{name} must be greater than 0")
    return number


def _timezone(value) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"setting handover.timezone: unknown time zone {value!r}") from exc
    return str(value)


def _texts(raw) -> HandoverTexts:
    if not isinstance(raw, dict):
        raise ConfigError("setting handover.texts is missing")
    unknown = set(raw) - set(TEXT_PLACEHOLDERS)
    if unknown:
        raise ConfigError(f"unknown text(s) in handover.texts: {', '.join(sorted(unknown))}")
    texts = {}
    for name, allowed in TEXT_PLACEHOLDERS.items():
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"setting handover.texts.{name} is missing")
        used = _placeholders(name, value)
        if used - allowed:
            raise ConfigError(f"handover.texts.{name} uses unknown placeholder(s): "
                              f"{', '.join(sorted(used - allowed))}")
        texts[name] = value.strip()
    return HandoverTexts(**texts)


def _placeholders(name: str, text: str) -> set[str]:
    try:
        return {field_name for _, field_name, _, _ in string.Formatter().parse(text) if field_name}
    except ValueError as exc:
        raise ConfigError(f"handover.texts.{name} has a broken {{placeholder}}") from exc


def _office_hours(raw) -> dict[int, tuple[Interval, ...]]:
    if not isinstance(raw, dict):
        raise ConfigError("setting handover.office_hours must map weekdays to times")
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        raise ConfigError(f"unknown weekday(s) in handover.office_hours: {', '.join(sorted(unknown))}")
    hours = {}
    for day, value in raw.items():
        intervals = _intervals(f"handover.office_hours.{day}", value)
        if intervals:
            hours[WEEKDAYS.index(day)] = intervals
    return hours


def _intervals(key: str, value) -> tuple[Interval, ...]:
    """'08:30-12:00, 13:00-17:00' or 'closed' -> ((510, 720), (780, 1020))."""
    text = str(value or "").strip().lower()
    if text in ("", "closed", "gesloten"):
        return ()
    intervals = []
    for part in text.split(","):
        try:
            start_text, end_text = (piece.strip() for piece in part.split("-"))
            start, end = _minutes(start_text), _minutes(end_text)
        except ValueError as exc:
            raise ConfigError(f"setting {key}: expected times like 08:30-17:00, got {part.strip()!r}") from exc
        if start >= end:
            raise ConfigError(f"setting {key}: {part.strip()!r} ends before it starts")
        intervals.append((start, end))
    intervals.sort()
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        if start < end:
            raise ConfigError(f"setting {key}: opening times overlap")
    return tuple(intervals)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(minutes) < 60 and 0 <= value <= 24 * 60):
        raise ValueError(text)
    return value


def _holidays(raw) -> frozenset:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError("setting handover.holidays must be a list of dates (YYYY-MM-DD)")
    days = set()
    for value in raw:
        if isinstance(value, dt.date):
            days.add(value)
            continue
        try:
            days.add(dt.date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ConfigError(f"setting handover.holidays: {value!r} is not a date (YYYY-MM-DD)") from exc
    return frozenset(days)


@lru_cache(maxsize=1)
def get_config() -> HandoverConfig:
    """The process-wide handover config, read from the shared settings once."""
    from bot.settings import get_settings   # imported here: nothing runs at import time

    return parse_config(get_settings().handover.raw)
