"""The audit log: who did what, when.

Written in the same transaction as the action, so an action without its
audit entry cannot be committed. Details are small JSON objects; message
texts never go here (the transcript already holds the redacted text).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from handover.clock import as_utc
from handover.models import AuditEntry


def actor_for(agent_id: int | None) -> str:
    return f"agent:{agent_id}" if agent_id is not None else "system"


def record(session, action: str, now: datetime, *, actor: str, agent_id: int | None = None,
           conversation_id: int | None = None, **detail) -> None:
    """Add one entry; the caller commits it together with the action."""
    session.add(AuditEntry(
        at=now, actor=actor, agent_id=agent_id, action=action, conversation_id=conversation_id,
        detail=json.dumps(detail, default=str, sort_keys=True) if detail else None,
    ))


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    agent_id: int | None
    action: str
    conversation_id: int | None
    detail: dict


def recent(session, *, limit: int = 200, conversation_id: int | None = None,
           before_id: int | None = None) -> list[AuditView]:
    """Newest first; ``before_id`` pages further back."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if conversation_id is not None:
        query = query.where(AuditEntry.conversation_id == conversation_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return [
        AuditView(row.id, as_utc(row.at), row.actor, row.agent_id, row.action,
                  row.conversation_id, json.loads(row.detail) if row.detail else {})
        for row in session.execute(query).scalars()
    ]


def recorded_since(session, action: str, since: datetime, *, agent_id: int | None,
                   conversation_id: int | None) -> bool:
    """Whether this agent already has such an entry since ``since`` (to log views once, not per refresh)."""
    return session.execute(
        select(AuditEntry.id).where(AuditEntry.action == action, AuditEntry.at >= since,
                                    AuditEntry.agent_id == agent_id,
                                    AuditEntry.conversation_id == conversation_id).limit(1)
    ).first() is not None
