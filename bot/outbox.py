"""Putting messages for a citizen into the persisted outbox.

Anything that wants to say something to a citizen (the bot, the privacy
gate, the handover desk, an agent) calls one of these inside its own
transaction; the sender in ``connectors.sender`` delivers the rows in order
per conversation, with retries. Bodies are Graph API message objects without
the recipient (the sender adds ``messaging_product`` and ``to``).

Processes other than the Rasa server only insert rows; the sender polls the
table. Inside the Rasa server, :func:`on_commit` lets the sender be woken as
soon as a transaction that enqueued something commits, instead of at the next
poll.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage

_DIRTY = "balie_outbox_enqueued"
_listeners: list[Callable[[], None]] = []


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def enqueue(session, conversation_id: int, kind: str, body: dict, author: str = "bot",
            now: datetime | None = None, inbound_id: int | None = None,
            seq: int | None = None) -> OutboxMessage:
    """Add one outbound message; the caller commits.

    ``inbound_id``/``seq`` (optional) name the citizen message this answers
    and the position among its replies; the pair is unique, so writing the
    same replies twice fails instead of sending them twice.
    """
    now = now or utcnow()
    row = OutboxMessage(conversation_id=conversation_id, kind=kind, body=json.dumps(body),
                        author=author, state="pending", attempts=0,
                        next_attempt_at=now, created_at=now, inbound_id=inbound_id, seq=seq)
    session.add(row)
    session.flush()
    session.info[_DIRTY] = True
    return row


def enqueue_text(session, conversation_id: int, text: str, author: str = "bot",
                 now: datetime | None = None, inbound_id: int | None = None,
                 seq: int | None = None) -> OutboxMessage:
    return enqueue(session, conversation_id, "text", text_body(text), author=author,
                   now=now, inbound_id=inbound_id, seq=seq)


def enqueue_read(session, conversation_id: int, wamid: str, typing: bool = True,
                 now: datetime | None = None, inbound_id: int | None = None) -> OutboxMessage:
    """Mark a citizen's message as read; ``typing`` shows "typing..." until we answer."""
    body = {"status": "read", "message_id": wamid}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return enqueue(session, conversation_id, "read", body, author="system", now=now,
                   inbound_id=inbound_id, seq=0 if inbound_id is not None else None)


def text_body(text: str) -> dict:
    return {"type": "text", "text": {"body": text}}


def body_text(body: dict) -> str:
    """What a citizen reads in an outbox body, for transcripts (no JSON)."""
    kind = body.get("type")
    if kind == "text":
        return (body.get("text") or {}).get("body", "")
    if kind == "interactive":
        interactive = body.get("interactive") or {}
        text = (interactive.get("body") or {}).get("text", "")
        action = interactive.get("action") or {}
        titles = [b.get("reply", {}).get("title", "") for b in action.get("buttons", [])]
        for section in action.get("sections", []):
            titles += [row.get("title", "") for row in section.get("rows", [])]
        return "\n".join([text] + [f"[{title}]" for title in titles])
    if kind == "image":
        return (body.get("image") or {}).get("link", "")
    if kind == "template":
        return f"[template {(body.get('template') or {}).get('name', '')}]"
    return ""


def on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit in this process that enqueued a row.

    Returns a function that removes the listener. The callback may run in any
    thread, so it must be thread-safe (e.g. ``loop.call_soon_threadsafe``).
    """
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
    _listeners.append(callback)
    return lambda: _listeners.remove(callback) if callback in _listeners else None


def _after_commit(session) -> None:
    if session.info.pop(_DIRTY, False):
        for callback in list(_listeners):
            callback()


def _after_rollback(session) -> None:
    session.info.pop(_DIRTY, None)
