"""The periodic check (every ``check_interval_s``): nobody waits in silence.

For each queued chat:
- office open, and the last notice is older than the update interval: tell
  the citizen their current place and wait. The interval doubles after each
  update (5, 10, 20, 40 min ...): never silence, never spam.
- office closed, and the last notice was sent while open (the office closed
  on them): tell them when we are back.

Each notice is claimed with a conditional UPDATE on (version, notice count),
so two service processes never both send it, and a chat claimed a moment ago
does not get a "still waiting" message.

Before that, chats assigned to an agent with no live session left go back to
the queue: the session expired, or the browser was closed and the agent never
came back. (Logging out or being disabled does this at once: handover/api.py.)
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from bot.errors import InvalidTransition
from handover import auth, citizen, desk, repository
from handover.config import HandoverConfig
from handover.models import HandoverState
from handover.office_hours import is_open
from handover.repository import Handover
from handover.state import State
from handover.window import is_window_open

TABLE = HandoverState.__table__
MAX_DOUBLINGS = 5


def update_interval(config: HandoverConfig, updates_sent: int) -> timedelta:
    return timedelta(seconds=config.wait_update_after_s * 2 ** min(updates_sent, MAX_DOUBLINGS))


def _notice(session, config: HandoverConfig, h: Handover, now: datetime) -> str | None:
    """The text this chat should get now, or None."""
    last_told = h.last_wait_update_at or h.queued_at or now
    if not is_open(config, now):
        if is_open(config, last_told):
            return citizen.office_closed_text(session, config, h.conversation_id, now)
        return None
    if now - last_told >= update_interval(config, h.wait_updates_sent):
        return citizen.wait_update_text(session, config, h.conversation_id, now)
    return None


def _claim_notice(session, h: Handover, now: datetime) -> bool:
    result = session.execute(
        update(TABLE).where(TABLE.c.conversation_id == h.conversation_id,
                            TABLE.c.state == h.state.value, TABLE.c.version == h.version,
                            TABLE.c.wait_updates_sent == h.wait_updates_sent)
        .values(wait_updates_sent=h.wait_updates_sent + 1, last_wait_update_at=now)
    )
    return result.rowcount == 1


def requeue_signed_out(session, config: HandoverConfig, now: datetime) -> int:
    """Chats of agents without a live session back to the queue; returns how many."""
    holders = {h.agent_id for h in repository.active(session) if h.state is State.ASSIGNED}
    moved = 0
    for agent_id in sorted(a for a in holders if a is not None):
        if auth.signed_in(session, agent_id, now):
            continue
        try:
            moved += desk.release_all(session, config, agent_id, now, actor="system")
        except InvalidTransition:   # another checker or the agent moved it first (StaleState)
            continue
    return moved


def run_once(session, config: HandoverConfig, now: datetime) -> int:
    """Queue the due messages in the caller's transaction; returns how many."""
    sent = requeue_signed_out(session, config, now)
    for handover in repository.queued(session):
        text = _notice(session, config, handover, now)
        if text is None or not is_window_open(session, handover.conversation_id, now):
            continue
        if _claim_notice(session, handover, now) and citizen.send(session, handover.conversation_id,
                                                                   text, now):
            sent += 1
    return sent
