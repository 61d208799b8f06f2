"""WhatsApp's 24-hour customer service window.

Free text may only be sent within 24 hours of the citizen's last message
(conversations.last_inbound_at, kept by the channel). Checked before an agent
reply is accepted, so the agent hears it now instead of seeing a failed send.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.db.models import Conversation
from handover.clock import as_utc

WINDOW = timedelta(hours=24)


def window_left(last_inbound_at: datetime | None, now: datetime) -> timedelta:
    """Time left to send free text; zero or negative when the window is closed."""
    if last_inbound_at is None:
        return timedelta(0)
    return as_utc(last_inbound_at) + WINDOW - now


def conversation_window_left(session, conversation_id: int, now: datetime) -> timedelta:
    last = session.execute(
        select(Conversation.last_inbound_at).where(Conversation.id == conversation_id)
    ).scalar()
    return window_left(last, now)


def is_window_open(session, conversation_id: int, now: datetime) -> bool:
    return conversation_window_left(session, conversation_id, now) > timedelta(0)
