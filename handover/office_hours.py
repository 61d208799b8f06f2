"""Office hours: is someone at the KCC now, and when is the next opening?

Pure functions over HandoverConfig; times in and out are aware datetimes.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from handover.config import HandoverConfig

DUTCH_WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
DUTCH_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                "september", "oktober", "november", "december")
LOOKAHEAD_DAYS = 31


def is_open(config: HandoverConfig, when: datetime) -> bool:
    local = when.astimezone(config.tz)
    if local.date() in config.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in config.office_hours.get(local.weekday(), ()))


def next_opening(config: HandoverConfig, when: datetime) -> datetime | None:
    """The first opening moment after ``when`` (local time), or None if none within a month."""
    local = when.astimezone(config.tz)
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        if day in config.holidays:
            continue
        for start, _ in config.office_hours.get(day.weekday(), ()):
            moment = datetime.combine(day, time(start // 60, start % 60), tzinfo=config.tz)
            if moment > local:
                return moment
    return None


def describe_opening(opening: datetime | None, now: datetime, tz) -> str:
    """Dutch, B1: 'vandaag vanaf 13.00 uur', 'morgen vanaf 8.30 uur', 'op maandag 5 januari vanaf 8.30 uur'."""
    if opening is None:
        return "zo snel mogelijk"
    local, today = opening.astimezone(tz), now.astimezone(tz).date()
    clock = f"{local.hour}.{local.minute:02d} uur"
    if local.date() == today:
        return f"vandaag vanaf {clock}"
    if local.date() == today + timedelta(days=1):
        return f"morgen vanaf {clock}"
    return (f"op {DUTCH_WEEKDAYS[local.weekday()]} {local.day} "
            f"{DUTCH_MONTHS[local.month - 1]} vanaf {clock}")
