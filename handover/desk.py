"""What an agent does with a conversation: pick up, claim, reply, release,
transfer, close, write a note.

Framework-free: each function takes the session, the config, the acting
agent and ``now``, raises domain errors, and leaves committing to the caller.
State changes go through ``repository.apply`` (atomic, audited); the matching
citizen message is queued in the same transaction.
"""
from __future__ import annotations

from datetime import datetime

from bot.db.models import Conversation
from bot.errors import InvalidTransition
from bot.outbox import enqueue_text
from handover import agents, audit, citizen, repository
from handover.auth import AgentRef
from handover.clock import seconds_between
from handover.config import HandoverConfig
from handover.errors import BadRequest, Forbidden, NotFound, StaleState, WindowClosed
from handover.models import Agent, ConversationNote, HandlingTime
from handover.repository import Handover
from handover.state import Event, State
from handover.window import is_window_open

MAX_TEXT = 4096   # WhatsApp's limit for a text message body


def conversation(session, conversation_id: int) -> Conversation:
    found = session.get(Conversation, conversation_id)
    if found is None:
        raise NotFound(f"conversation {conversation_id}")
    return found


def may_see(agent: AgentRef, handover: Handover) -> bool:
    """Supervisors see everything; an agent sees bot and queued chats and their own."""
    if agent.at_least("supervisor"):
        return True
    return handover.state is not State.ASSIGNED or handover.agent_id == agent.id


def visible(session, agent: AgentRef, conversation_id: int) -> Handover:
    """The handover snapshot if this agent may see the conversation; NotFound otherwise.

    NotFound rather than Forbidden: an agent learns nothing about chats that
    are not theirs.
    """
    conversation(session, conversation_id)
    handover = repository.get(session, conversation_id)
    if not may_see(agent, handover):
        raise NotFound(f"conversation {conversation_id} is not visible to agent {agent.id}")
    return handover


def _require_owner(agent: AgentRef, handover: Handover) -> None:
    """Only the assigned agent, or a supervisor, acts on an assigned chat."""
    if handover.state is State.ASSIGNED and handover.agent_id != agent.id \
            and not agent.at_least("supervisor"):
        raise Forbidden("assigned to another agent",
                        public="Dit gesprek is van een andere medewerker.")


def _greet(session, config: HandoverConfig, conversation_id: int, name: str, now: datetime,
           *, transferred: bool = False) -> None:
    template = config.texts.transferred if transferred else config.texts.assigned
    citizen.send(session, conversation_id, template.format(agent=citizen.first_name(name)), now)


TAKEN = "Een collega heeft dit gesprek net opgepakt, of het is al afgesloten."


def _take(session, config: HandoverConfig, agent: AgentRef, conversation_id: int, event: Event,
          now: datetime, expected_version: int | None) -> Handover:
    """Claim or pick up; losing to a colleague is a 409 that says so, not a 404."""
    conversation(session, conversation_id)
    try:
        handover = repository.apply(session, conversation_id, event, now, actor=agent.actor,
                                    agent_id=agent.id, expected_version=expected_version)
    except InvalidTransition as exc:
        raise StaleState(str(exc), public=TAKEN) from exc
    _greet(session, config, conversation_id, agent.name, now)
    return handover


def claim(session, config: HandoverConfig, agent: AgentRef, conversation_id: int, now: datetime,
          *, expected_version: int | None = None) -> Handover:
    """queued -> assigned to this agent; of two agents claiming at once exactly one wins."""
    return _take(session, config, agent, conversation_id, Event.CLAIM, now, expected_version)


def pickup(session, config: HandoverConfig, agent: AgentRef, conversation_id: int, now: datetime,
           *, expected_version: int | None = None) -> Handover:
    """bot -> assigned: the agent takes over a bot conversation on their own."""
    return _take(session, config, agent, conversation_id, Event.PICKUP, now, expected_version)


def release(session, config: HandoverConfig, agent: AgentRef, conversation_id: int,
            now: datetime) -> Handover:
    """assigned -> queued, keeping the citizen's original place in line."""
    _require_owner(agent, visible(session, agent, conversation_id))
    return _requeue(session, config, conversation_id, now, agent.actor)


def release_all(session, config: HandoverConfig, agent_id: int, now: datetime, *,
                actor: str) -> int:
    """Put every chat assigned to this agent back in the queue (they logged
    out, were disabled or their session expired): otherwise those citizens
    wait for someone who is gone, and no colleague may answer them. Returns
    how many chats went back."""
    mine = repository.active(session, agent_id=agent_id)
    for handover in mine:
        _requeue(session, config, handover.conversation_id, now, actor)
    return len(mine)


def set_agent_active(session, config: HandoverConfig, agent: Agent, active: bool,
                     now: datetime, *, actor: str) -> tuple[agents.AgentInfo, int]:
    """Enable or disable an agent (agents.set_active); a disabled agent's chats
    go back to the queue. Returns the agent and how many chats went back."""
    info = agents.set_active(session, agent, active, now, actor=actor)
    return info, 0 if active else release_all(session, config, agent.id, now, actor=actor)


def _requeue(session, config: HandoverConfig, conversation_id: int, now: datetime,
             actor: str) -> Handover:
    handover = repository.apply(session, conversation_id, Event.RELEASE, now, actor=actor)
    citizen.send(session, conversation_id,
                 citizen.released_text(session, config, conversation_id, now), now)
    return handover


def transfer(session, config: HandoverConfig, agent: AgentRef, conversation_id: int,
             to_agent_id: int, now: datetime) -> Handover:
    """assigned -> assigned to another active agent."""
    current = visible(session, agent, conversation_id)
    _require_owner(agent, current)
    target = agents.get(session, to_agent_id)
    if not target.active:
        raise BadRequest("target agent is disabled", public="Deze medewerker is niet actief.")
    if current.agent_id == target.id:
        raise BadRequest("already assigned to this agent",
                         public="Het gesprek is al van deze medewerker.")
    handover = repository.apply(session, conversation_id, Event.TRANSFER, now, actor=agent.actor,
                                agent_id=target.id)
    _greet(session, config, conversation_id, target.name, now, transferred=True)
    return handover


def close(session, config: HandoverConfig, agent: AgentRef, conversation_id: int,
          now: datetime) -> Handover:
    """assigned (or, by a supervisor, queued) -> closed -> bot, in one transaction."""
    current = visible(session, agent, conversation_id)
    _require_owner(agent, current)
    if current.state is State.QUEUED and not agent.at_least("supervisor"):
        raise Forbidden("only a supervisor closes a queued chat",
                        public="Pak het gesprek eerst op voordat u het afsluit.")
    closed = repository.apply(session, conversation_id, Event.CLOSE, now, actor=agent.actor)
    _record_handling_time(session, closed, now)
    handover = repository.apply(session, conversation_id, Event.RETURN, now, actor=agent.actor)
    citizen.send(session, conversation_id, config.texts.closed, now)
    return handover


def _record_handling_time(session, closed: Handover, now: datetime) -> None:
    session.add(HandlingTime(
        conversation_id=closed.conversation_id, agent_id=closed.agent_id, reason=closed.reason,
        queued_at=closed.queued_at, assigned_at=closed.assigned_at, closed_at=now,
        wait_s=seconds_between(closed.queued_at, closed.assigned_at),
        handle_s=seconds_between(closed.assigned_at, now),
    ))


def reply(session, agent: AgentRef, conversation_id: int, text: str, now: datetime) -> int:
    """Queue the agent's message for the citizen; returns the outbox id.

    Only the assigned agent replies. The bookkeeping UPDATE doubles as the
    check: it matches only while the chat is assigned to this agent, and its
    row lock orders the reply against a concurrent transfer or close.
    """
    text = _clean(text)
    current = visible(session, agent, conversation_id)
    if current.state is not State.ASSIGNED or current.agent_id != agent.id:
        raise Forbidden("reply to a chat not assigned to you",
                        public="U kunt alleen antwoorden in een gesprek dat u heeft opgepakt.")
    if not is_window_open(session, conversation_id, now):
        raise WindowClosed(f"conversation {conversation_id}: 24-hour window has passed")
    if not repository.touch(session, conversation_id, where_state=State.ASSIGNED,
                            where_agent=agent.id, last_agent_reply_at=now):
        raise Forbidden("chat changed hands while replying",
                        public="Het gesprek is net aan iemand anders gegeven.")
    row = enqueue_text(session, conversation_id, text, author=agent.actor, now=now)
    audit.record(session, "reply", now, actor=agent.actor, agent_id=agent.id,
                 conversation_id=conversation_id, outbox_id=row.id, length=len(text))
    return row.id


def add_note(session, agent: AgentRef, conversation_id: int, text: str, now: datetime) -> int:
    """An internal note for colleagues; the citizen never sees it."""
    text = _clean(text)
    visible(session, agent, conversation_id)
    note = ConversationNote(conversation_id=conversation_id, agent_id=agent.id, text=text,
                            created_at=now)
    session.add(note)
    session.flush()
    audit.record(session, "note", now, actor=agent.actor, agent_id=agent.id,
                 conversation_id=conversation_id, note_id=note.id)
    return note.id


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BadRequest("empty text", public="Het bericht is leeg.")
    if len(text) > MAX_TEXT:
        raise BadRequest("text too long", public=f"Het bericht is langer dan {MAX_TEXT} tekens.")
    return text
