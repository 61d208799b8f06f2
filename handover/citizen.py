"""What the citizen hears from the handover desk, in Dutch (texts in balie.yml).

Messages go through the persisted outbox as author "system", inside the
caller's transaction, so a state change and its message commit together.
A message that WhatsApp would refuse (window closed) is not queued at all.
"""
from __future__ import annotations

from datetime import datetime

from bot.outbox import enqueue_text
from handover import repository
from handover.config import HandoverConfig
from handover.estimate import describe_wait, estimated_wait
from handover.office_hours import describe_opening, is_open, next_opening
from handover.window import is_window_open


def first_name(full_name: str) -> str:
    """'Jan de Vries' -> 'Jan': citizens hear a first name only."""
    parts = (full_name or "").split()
    return parts[0] if parts else "een medewerker"


def queue_text(session, config: HandoverConfig, conversation_id: int, now: datetime) -> str:
    """Place in the queue and estimated wait, or when we are open again."""
    place = repository.place_in_queue(session, conversation_id) or 1
    if not is_open(config, now):
        opening = describe_opening(next_opening(config, now), now, config.tz)
        return config.texts.queued_closed.format(place=place, next_open=opening)
    wait = describe_wait(estimated_wait(session, config, place, now))
    return config.texts.queued.format(place=place, wait=wait)


def wait_update_text(session, config: HandoverConfig, conversation_id: int, now: datetime) -> str:
    place = repository.place_in_queue(session, conversation_id) or 1
    wait = describe_wait(estimated_wait(session, config, place, now))
    return config.texts.wait_update.format(place=place, wait=wait)


def office_closed_text(session, config: HandoverConfig, conversation_id: int, now: datetime) -> str:
    """For a chat still queued when the office closes: when we are back."""
    place = repository.place_in_queue(session, conversation_id) or 1
    opening = describe_opening(next_opening(config, now), now, config.tz)
    return config.texts.office_closed.format(place=place, next_open=opening)


def released_text(session, config: HandoverConfig, conversation_id: int, now: datetime) -> str:
    if not is_open(config, now):
        return office_closed_text(session, config, conversation_id, now)
    place = repository.place_in_queue(session, conversation_id) or 1
    wait = describe_wait(estimated_wait(session, config, place, now))
    return config.texts.released.format(place=place, wait=wait)


def send(session, conversation_id: int, text: str, now: datetime) -> bool:
    """Queue a system message; False (nothing queued) when the window is closed."""
    if not is_window_open(session, conversation_id, now):
        return False
    enqueue_text(session, conversation_id, text, author="system", now=now)
    return True
