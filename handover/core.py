"""The handover interface of the WhatsApp channel (runs inside the Rasa server).

For every inbound message the channel asks ``current_state``: anything but
"bot" means the message is for the agent side and never goes to Rasa; it
then calls ``note_citizen_message``. When the bot signals a handover, the
channel calls ``request_handover``. The caller passes its session and commits.

This module and what it imports must stay free of FastAPI and run on
SQLAlchemy 1.4 (the Rasa environment) as well as 2.x.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from bot.errors import InvalidTransition
from handover import citizen, repository
from handover.clock import as_utc
from handover.config import HandoverConfig, get_config
from handover.models import HandoverState
from handover.repository import REASONS
from handover.state import Event, State

__all__ = ["REASONS", "current_state", "request_handover", "note_citizen_message"]


def current_state(session, conversation_id: int) -> str:
    """'bot', 'queued' or 'assigned'; 'bot' when the conversation never handed over."""
    return repository.current_state(session, conversation_id)


def request_handover(session, conversation_id: int, reason: str, now: datetime) -> None:
    """Move bot -> queued and tell the citizen their place (or when we open).

    A no-op when the conversation is not with the bot, including when another
    process queued it a moment ago: the citizen gets exactly one queue message.
    """
    queue_conversation(session, conversation_id, reason, as_utc(now), get_config())


def queue_conversation(session, conversation_id: int, reason: str, now: datetime,
                       config: HandoverConfig) -> bool:
    """``request_handover`` with the config passed in; True if this call queued it."""
    if reason not in REASONS:
        raise ValueError(f"unknown handover reason {reason!r}; expected one of {REASONS}")
    try:
        repository.apply(session, conversation_id, Event.REQUEST, now, actor="bot", reason=reason)
    except InvalidTransition:
        return False   # already with a human (or being handed over by another process)
    citizen.send(session, conversation_id, citizen.queue_text(session, config, conversation_id, now), now)
    return True


def note_citizen_message(session, conversation_id: int, inbound_id: int, now: datetime) -> None:
    """Remember the newest citizen message of a handed-over chat (queue preview, live updates)."""
    table = HandoverState.__table__
    session.execute(
        update(table)
        .where(table.c.conversation_id == conversation_id, table.c.state != State.BOT.value)
        .values(last_inbound_id=inbound_id, last_citizen_at=as_utc(now))
    )
