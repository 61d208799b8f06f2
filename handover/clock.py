"""Time helpers: every stored time is UTC.

SQLite hands ``DateTime(timezone=True)`` values back without a zone while
PostgreSQL returns them aware; ``as_utc`` makes both comparable.
"""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; naive values are UTC by construction (we only store UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def seconds_between(earlier: datetime | None, later: datetime | None) -> int | None:
    if earlier is None or later is None:
        return None
    return max(0, int((as_utc(later) - as_utc(earlier)).total_seconds()))
