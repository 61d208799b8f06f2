"""Read models for the console: the queue, recent bot chats, a transcript.

Reads the shared tables (conversations, inbound_messages, outbox) that the
channel writes; texts there are already redacted by the privacy gate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.db.models import Conversation, InboundMessage, OutboxMessage
from bot.outbox import body_text
from handover import repository
from handover.auth import AgentRef
from handover.clock import as_utc, seconds_between
from handover.config import HandoverConfig
from handover.models import Agent, ConversationNote, HandoverState
from handover.repository import Handover
from handover.state import State, allowed_events
from handover.window import window_left

PREVIEW = 140


def mask_phone(wa_id: str | None) -> str:
    """'31612345678' -> '+316•••••678': enough to recognise, not to copy."""
    digits = "".join(ch for ch in (wa_id or "") if ch.isdigit())
    if len(digits) < 7:
        return "•••"
    return f"+{digits[:3]}{'•' * (len(digits) - 6)}{digits[-3:]}"


def _preview(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


@dataclass(frozen=True)
class ChatHeader:
    """Who and where a chat is: shared by the queue and the conversation view."""
    conversation_id: int
    name: str
    phone: str
    state: str
    version: int
    reason: str | None
    agent_id: int | None
    agent_name: str | None
    place: int | None


@dataclass(frozen=True)
class QueueItem(ChatHeader):
    waiting_s: int | None            # since queued (queued) or since assigned (assigned)
    last_message: str
    last_message_at: datetime | None
    window_left_s: int
    needs_reply: bool                # the citizen spoke after the agent's last reply


def _agent_names(session) -> dict[int, str]:
    return dict(session.execute(select(Agent.id, Agent.name)).all())


def _last_inbound(session, conversation_ids: list[int]) -> dict[int, InboundMessage]:
    if not conversation_ids:
        return {}
    newest = (select(func.max(InboundMessage.id))
              .where(InboundMessage.conversation_id.in_(conversation_ids))
              .group_by(InboundMessage.conversation_id))
    rows = session.execute(select(InboundMessage).where(InboundMessage.id.in_(newest))).scalars()
    return {row.conversation_id: row for row in rows}


def queue(session, agent: AgentRef, now: datetime) -> list[QueueItem]:
    """Queued chats (in line order), then the assigned chats this agent may see."""
    handovers = repository.active(session)
    if not agent.at_least("supervisor"):
        handovers = [h for h in handovers if h.state is State.QUEUED or h.agent_id == agent.id]
    handovers = [h for h in handovers if h.state in (State.QUEUED, State.ASSIGNED)]
    ids = [h.conversation_id for h in handovers]
    conversations = {c.id: c for c in session.execute(
        select(Conversation).where(Conversation.id.in_(ids))).scalars()} if ids else {}
    last = _last_inbound(session, ids)
    names = _agent_names(session)
    places = {h.conversation_id: n for n, h in enumerate(repository.queued(session), start=1)}
    items = [_queue_item(h, conversations[h.conversation_id], last.get(h.conversation_id),
                         names, places, now) for h in handovers]
    return sorted(items, key=lambda i: (i.state != "queued", i.place or 0, -(i.waiting_s or 0)))


def _queue_item(h: Handover, conv: Conversation, last: InboundMessage | None,
                names: dict, places: dict, now: datetime) -> QueueItem:
    since = h.queued_at if h.state is State.QUEUED else h.assigned_at
    last_at = as_utc(last.received_at) if last else None
    replied = h.last_agent_reply_at
    return QueueItem(
        conversation_id=h.conversation_id, name=conv.profile_name or "Onbekend",
        phone=mask_phone(conv.wa_id), state=h.state.value, version=h.version, reason=h.reason,
        agent_id=h.agent_id, agent_name=names.get(h.agent_id), place=places.get(h.conversation_id),
        waiting_s=seconds_between(since, now), last_message=_preview(last.text if last else ""),
        last_message_at=last_at,
        window_left_s=int(window_left(conv.last_inbound_at, now).total_seconds()),
        needs_reply=bool(last_at and (replied is None or last_at > replied)),
    )


@dataclass(frozen=True)
class BotChat:
    conversation_id: int
    name: str
    phone: str
    last_message: str
    last_message_at: datetime | None
    window_left_s: int


def recent_bot_chats(session, config: HandoverConfig, now: datetime, limit: int = 50) -> list[BotChat]:
    """Conversations with the bot that had a message recently: an agent may pick one up."""
    since = now - timedelta(hours=config.recent_bot_hours)
    taken = select(HandoverState.conversation_id).where(HandoverState.state != State.BOT.value)
    rows = session.execute(
        select(Conversation).where(Conversation.last_inbound_at > since,
                                   Conversation.id.not_in(taken))
        .order_by(Conversation.last_inbound_at.desc()).limit(limit)
    ).scalars().all()
    last = _last_inbound(session, [c.id for c in rows])
    return [BotChat(c.id, c.profile_name or "Onbekend", mask_phone(c.wa_id),
                    _preview(last[c.id].text if c.id in last else ""),
                    as_utc(c.last_inbound_at),
                    int(window_left(c.last_inbound_at, now).total_seconds())) for c in rows]


@dataclass(frozen=True)
class TranscriptLine:
    id: str                   # "in:12" / "out:34": unique across both tables
    direction: str            # in, out
    author: str               # citizen, bot, system, agent
    author_name: str
    text: str
    at: datetime
    status: str | None = None         # outbox: pending, sent, delivered, read, failed
    privacy_kinds: list = field(default_factory=list)


def transcript(session, conversation_id: int, limit: int = 500) -> list[TranscriptLine]:
    """Citizen, bot, system and agent messages in time order (newest ``limit``)."""
    names = _agent_names(session)
    inbound = session.execute(
        select(InboundMessage).where(InboundMessage.conversation_id == conversation_id)
        .order_by(InboundMessage.id.desc()).limit(limit)).scalars().all()
    outbound = session.execute(
        select(OutboxMessage).where(OutboxMessage.conversation_id == conversation_id,
                                    OutboxMessage.kind != "read")
        .order_by(OutboxMessage.id.desc()).limit(limit)).scalars().all()
    lines = [_inbound_line(m) for m in inbound] + [_outbound_line(m, names) for m in outbound]
    lines.sort(key=lambda line: (line.at, line.id))
    return lines[-limit:]


def _inbound_line(message: InboundMessage) -> TranscriptLine:
    text = message.text if message.text else f"[{message.kind}]"
    kinds = [k for k in (message.privacy_kinds or "").split(",") if k]
    return TranscriptLine(f"in:{message.id}", "in", "citizen", "Inwoner", text,
                          as_utc(message.received_at), privacy_kinds=kinds)


def _outbound_line(message: OutboxMessage, names: dict) -> TranscriptLine:
    author, _, agent_id = (message.author or "bot").partition(":")
    if author == "agent":
        name = names.get(int(agent_id) if agent_id.isdigit() else None, "Medewerker")
    else:
        name = {"bot": "Digitale assistent", "system": "Automatisch bericht"}.get(author, author)
    # delivery (sent, delivered, read, failed) is Meta's newest word; state is ours
    status = message.delivery or message.state
    return TranscriptLine(f"out:{message.id}", "out", author, name, outbox_text(message.body),
                          as_utc(message.created_at), status=status)


def outbox_text(body: str) -> str:
    """Readable text of a stored Graph API message object."""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError):
        return "[onleesbaar bericht]"
    return body_text(payload) if isinstance(payload, dict) else "[bericht]"


@dataclass(frozen=True)
class NoteView:
    id: int
    agent_name: str
    text: str
    at: datetime


def notes(session, conversation_id: int) -> list[NoteView]:
    names = _agent_names(session)
    rows = session.execute(select(ConversationNote).where(
        ConversationNote.conversation_id == conversation_id).order_by(ConversationNote.id)).scalars()
    return [NoteView(n.id, names.get(n.agent_id, "?"), n.text, as_utc(n.created_at)) for n in rows]


@dataclass(frozen=True)
class ConversationView(ChatHeader):
    queued_at: datetime | None
    assigned_at: datetime | None
    window_left_s: int
    actions: list
    messages: list
    notes: list


def conversation_view(session, agent: AgentRef, conversation: Conversation, handover: Handover,
                      now: datetime) -> ConversationView:
    names = _agent_names(session)
    return ConversationView(
        conversation_id=conversation.id, name=conversation.profile_name or "Onbekend",
        phone=mask_phone(conversation.wa_id), state=handover.state.value, version=handover.version,
        reason=handover.reason, agent_id=handover.agent_id, agent_name=names.get(handover.agent_id),
        place=repository.place_in_queue(session, conversation.id) if handover.state is State.QUEUED else None,
        queued_at=handover.queued_at, assigned_at=handover.assigned_at,
        window_left_s=int(window_left(conversation.last_inbound_at, now).total_seconds()),
        actions=_actions(agent, handover), messages=transcript(session, conversation.id),
        notes=notes(session, conversation.id),
    )


def _actions(agent: AgentRef, handover: Handover) -> list[str]:
    """What the console should offer this agent now (the API still checks everything)."""
    mine = handover.agent_id == agent.id
    boss = agent.at_least("supervisor")
    offered = []
    for event in allowed_events(handover.state):
        name = event.value
        if name == "return":
            continue
        if handover.state is State.ASSIGNED and not (mine or boss):
            continue
        if handover.state is State.QUEUED and name == "close" and not boss:
            continue
        offered.append(name)
    if handover.state is State.ASSIGNED and mine:
        offered.append("reply")
    return offered
