"""Repository for conversations, inbound messages and delivery statuses.

Functions that take ``session`` run inside the caller's transaction. The two
that take ``sessions`` (a sessionmaker) own their transaction, because they
rely on a unique constraint: they insert, and an ``IntegrityError`` means
another request or process got there first. That is race-free across
processes on SQLite and PostgreSQL alike, where a look-up first is not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Union

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import (
    Conversation, ConversationEvent, InboundMessage, MessageStatus, OutboxMessage,
)
from bot.outbox import body_text, enqueue_read, utcnow

SERVICE_WINDOW = timedelta(hours=24)
DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3}


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every timestamp Balie stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def window_open(conversation: Conversation, now: datetime | None = None) -> bool:
    """True while free-form messages may be sent (24 h after the citizen's last message)."""
    last = as_utc(conversation.last_inbound_at)
    return last is not None and (now or utcnow()) - last < SERVICE_WINDOW


# --------------------------------------------------------------- conversations

def get_or_create_conversation(sessions, wa_id: str, profile_name: str | None = None,
                               now: datetime | None = None) -> int:
    """The id of the conversation for ``wa_id``, created when new.

    Keeps the profile name current. Owns its transaction: two processes
    creating the same conversation both end up with the one row.
    """
    now = now or utcnow()
    for _ in range(3):
        try:
            with sessions.begin() as session:
                conversation = session.execute(
                    select(Conversation).where(Conversation.wa_id == wa_id)).scalar_one_or_none()
                if conversation is None:
                    conversation = Conversation(wa_id=wa_id, profile_name=profile_name,
                                                created_at=now)
                    session.add(conversation)
                elif profile_name and conversation.profile_name != profile_name:
                    conversation.profile_name = profile_name
                session.flush()
                conversation_id = conversation.id
            return conversation_id
        except IntegrityError:
            continue   # created concurrently: the next round finds it
    raise RuntimeError("could not create conversation")  # pragma: no cover


def get_conversation(session, conversation_id: int) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def record_event(session, conversation_id: int, kind: str, detail: str | None = None,
                 inbound_id: int | None = None, now: datetime | None = None) -> ConversationEvent:
    row = ConversationEvent(conversation_id=conversation_id, kind=kind, detail=detail,
                            inbound_id=inbound_id, created_at=now or utcnow())
    session.add(row)
    session.flush()
    return row


# ------------------------------------------------------------ inbound messages

@dataclass(frozen=True)
class NewInbound:
    """An inbound message as it may be stored: text already redacted."""

    wamid: str
    wa_id: str
    kind: str
    text: str | None = None
    reply_id: str | None = None
    privacy_kinds: tuple[str, ...] = ()
    sent_at: datetime | None = None
    profile_name: str | None = None


@dataclass(frozen=True)
class StoredInbound:
    inbound_id: int | None          # None for a duplicate
    conversation_id: int
    duplicate: bool


TypingRule = Union[bool, Callable[[object, int], bool]]


def store_inbound(sessions, message: NewInbound, now: datetime | None = None,
                  typing: TypingRule = True) -> StoredInbound:
    """Store a citizen's message once, and queue its read receipt.

    Dedupe is the unique constraint on ``wamid``: of any number of concurrent
    deliveries exactly one inserts; the others get ``duplicate=True``.
    ``typing`` decides whether the read receipt shows a typing indicator
    (a callable gets the session and the conversation id).
    """
    now = now or utcnow()
    conversation_id = get_or_create_conversation(sessions, message.wa_id, message.profile_name, now)
    try:
        with sessions.begin() as session:
            row = InboundMessage(
                wamid=message.wamid, conversation_id=conversation_id, kind=message.kind,
                text=message.text, reply_id=message.reply_id,
                privacy_kinds=",".join(message.privacy_kinds) or None,
                sent_at=message.sent_at, received_at=now, state="pending", attempts=0)
            session.add(row)
            session.flush()   # the duplicate check: raises IntegrityError here
            _touch_window(session, conversation_id, min(message.sent_at or now, now))
            show_typing = typing(session, conversation_id) if callable(typing) else typing
            enqueue_read(session, conversation_id, message.wamid, typing=show_typing,
                         now=now, inbound_id=row.id)
            inbound_id = row.id
        return StoredInbound(inbound_id, conversation_id, duplicate=False)
    except IntegrityError:
        return StoredInbound(None, conversation_id, duplicate=True)


def _touch_window(session, conversation_id: int, at: datetime) -> None:
    # Only ever moves forward, in SQL, so concurrent deliveries cannot move it back.
    session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(
            last_inbound_at=case(
                (or_(Conversation.last_inbound_at.is_(None), Conversation.last_inbound_at < at), at),
                else_=Conversation.last_inbound_at)))


def get_inbound(session, inbound_id: int) -> InboundMessage | None:
    return session.get(InboundMessage, inbound_id)


def pending_inbound_ids(session, conversation_id: int) -> list[int]:
    """Unprocessed messages of one conversation, in the order the citizen sent them."""
    return list(session.execute(
        select(InboundMessage.id).where(InboundMessage.conversation_id == conversation_id,
                                        InboundMessage.state == "pending")
        .order_by(InboundMessage.sent_at, InboundMessage.id)).scalars())


def conversations_with_pending(session) -> list[int]:
    """Conversations with unprocessed messages (after a crash), oldest first."""
    rows = session.execute(
        select(InboundMessage.conversation_id, func.min(InboundMessage.id))
        .where(InboundMessage.state == "pending")
        .group_by(InboundMessage.conversation_id)
        .order_by(func.min(InboundMessage.id))).all()
    return [conversation_id for conversation_id, _ in rows]


def previous_inbound_at(session, conversation_id: int, inbound_id: int) -> datetime | None:
    """When the citizen's message before ``inbound_id`` arrived (None: first message)."""
    return as_utc(session.execute(
        select(func.max(InboundMessage.received_at))
        .where(InboundMessage.conversation_id == conversation_id,
               InboundMessage.id < inbound_id)).scalar())


def mark_processed(session, inbound_id: int, routed_to: str, now: datetime | None = None,
                   state: str = "done", error: str | None = None) -> bool:
    """Finish a pending message; False if it was already finished (by another worker).

    Conditional on ``state = 'pending'``: run it first in the transaction
    that writes the replies, and roll back when it returns False.
    """
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.state == "pending")
        .values(state=state, routed_to=routed_to, processed_at=now or utcnow(), error=error))
    return result.rowcount == 1


def record_attempt_failure(session, inbound_id: int, error: str) -> int:
    """Count a failed processing attempt; returns the number of attempts so far."""
    session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id)
        .values(attempts=InboundMessage.attempts + 1, error=error[:512]))
    return session.execute(
        select(InboundMessage.attempts).where(InboundMessage.id == inbound_id)).scalar_one()


# ------------------------------------------------------------------- statuses

def store_status(sessions, wamid: str, status: str, recipient_id: str | None = None,
                 occurred_at: datetime | None = None, error_code: int | None = None,
                 error_title: str | None = None, now: datetime | None = None) -> bool:
    """Store a delivery status once and reflect it on the outbox row; False if seen before.

    Statuses arrive in any order: ``delivery`` only moves up (sent < delivered
    < read), and ``failed`` marks the row failed with Meta's error.
    """
    now = now or utcnow()
    try:
        with sessions.begin() as session:
            session.add(MessageStatus(
                wamid=wamid, status=status, recipient_id=recipient_id, occurred_at=occurred_at,
                received_at=now, error_code=error_code,
                error_title=(error_title or None) and error_title[:512]))
            session.flush()
            _reflect_status(session, wamid, status, error_code, error_title)
            return True
    except IntegrityError:
        return False


def _reflect_status(session, wamid: str, status: str, error_code, error_title) -> None:
    if status == "failed":
        session.execute(
            update(OutboxMessage).where(OutboxMessage.wamid == wamid).values(
                state="failed", delivery="failed", error_code=error_code,
                error_title=(error_title or "")[:512] or None))
        return
    rank = DELIVERY_RANK.get(status)
    if rank is None:
        return
    lower = [name for name, value in DELIVERY_RANK.items() if value < rank]
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.wamid == wamid,
               or_(OutboxMessage.delivery.is_(None), OutboxMessage.delivery.in_(lower)))
        .values(delivery=status))


# ----------------------------------------------------------------- transcript

@dataclass(frozen=True)
class TranscriptEntry:
    at: datetime
    direction: str              # "in" (citizen) or "out" (bot, system, agent)
    kind: str
    text: str
    author: str                 # "citizen", "bot", "system", "agent:<id>"
    state: str                  # inbound: pending/done/failed; outbox: pending/sent/failed
    delivery: str | None = None
    error_code: int | None = None


def transcript(session, conversation_id: int, limit: int = 200) -> list[TranscriptEntry]:
    """The last ``limit`` messages of a conversation, both directions, oldest first.

    Citizen texts are the redacted ones; read receipts are left out.
    """
    inbound = session.execute(
        select(InboundMessage).where(InboundMessage.conversation_id == conversation_id)
        .order_by(InboundMessage.id.desc()).limit(limit)).scalars().all()
    outbound = session.execute(
        select(OutboxMessage).where(and_(OutboxMessage.conversation_id == conversation_id,
                                         OutboxMessage.kind != "read"))
        .order_by(OutboxMessage.id.desc()).limit(limit)).scalars().all()
    entries = [_inbound_entry(row) for row in inbound] + [_outbox_entry(row) for row in outbound]
    entries.sort(key=lambda entry: entry.at)
    return entries[-limit:]


def _inbound_entry(row: InboundMessage) -> TranscriptEntry:
    return TranscriptEntry(at=as_utc(row.received_at), direction="in", kind=row.kind,
                           text=row.text or f"[{row.kind}]", author="citizen", state=row.state)


def _outbox_entry(row: OutboxMessage) -> TranscriptEntry:
    try:
        text = body_text(json.loads(row.body))
    except ValueError:
        text = ""
    return TranscriptEntry(at=as_utc(row.created_at), direction="out", kind=row.kind, text=text,
                           author=row.author, state=row.state, delivery=row.delivery,
                           error_code=row.error_code)
