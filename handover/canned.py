"""Canned responses: ready-made answers an agent inserts and edits before sending.

Every agent reads them; supervisors and admins maintain them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from handover import audit
from handover.auth import AgentRef
from handover.errors import BadRequest, Forbidden, NotFound
from handover.models import CannedResponse

MAX_TITLE, MAX_BODY = 80, 4096


@dataclass(frozen=True)
class Canned:
    id: int
    title: str
    body: str
    updated_at: datetime


def _view(row: CannedResponse) -> Canned:
    return Canned(row.id, row.title, row.body, row.updated_at)


def list_all(session) -> list[Canned]:
    rows = session.execute(select(CannedResponse).order_by(CannedResponse.title)).scalars()
    return [_view(row) for row in rows]


def _require_editor(agent: AgentRef) -> None:
    if not agent.at_least("supervisor"):
        raise Forbidden("only supervisors edit canned responses",
                        public="Alleen een teamleider of beheerder past standaardteksten aan.")


def _validate(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise BadRequest("title and body are required", public="Vul een titel en een tekst in.")
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise BadRequest("too long", public="De titel of tekst is te lang.")
    return title, body


def _get(session, canned_id: int) -> CannedResponse:
    row = session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFound(f"canned response {canned_id}")
    return row


def create(session, agent: AgentRef, title: str, body: str, now: datetime) -> Canned:
    _require_editor(agent)
    title, body = _validate(title, body)
    row = CannedResponse(title=title, body=body, created_by=agent.id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "canned_create", now, actor=agent.actor, agent_id=agent.id, canned_id=row.id)
    return _view(row)


def update(session, agent: AgentRef, canned_id: int, title: str, body: str, now: datetime) -> Canned:
    _require_editor(agent)
    title, body = _validate(title, body)
    row = _get(session, canned_id)
    row.title, row.body, row.updated_at = title, body, now
    audit.record(session, "canned_update", now, actor=agent.actor, agent_id=agent.id, canned_id=row.id)
    return _view(row)


def delete(session, agent: AgentRef, canned_id: int, now: datetime) -> None:
    _require_editor(agent)
    session.delete(_get(session, canned_id))
    session.flush()
    audit.record(session, "canned_delete", now, actor=agent.actor, agent_id=agent.id,
                 canned_id=canned_id)
