"""Applies state-machine transitions to ``handover_states``, atomically.

A transition reads the row, asks ``state.next_state`` for the target, and
writes it with ``UPDATE ... WHERE state = :seen AND version = :seen``. The
rowcount tells whether this writer won: the loser gets StaleState, on SQLite
(writers serialise on the database lock and re-evaluate the WHERE) and on
PostgreSQL (the second UPDATE waits for the row lock, then re-checks the
WHERE against the committed row). No read-then-write window exists.

Every function takes the caller's session and never commits: the caller
commits the transition together with the messages and audit entries it
belongs to. Rows are read with Core selects, so no stale ORM object can
shadow a concurrent change.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from handover import audit
from handover.clock import as_utc
from handover.errors import StaleState
from handover.models import HandoverState
from handover.state import Event, State, next_state

TABLE = HandoverState.__table__

REASONS = ("low_confidence", "privacy", "ask_human")
PICKUP_REASON = "agent_pickup"


@dataclass(frozen=True)
class Handover:
    """A snapshot of one conversation's handover row."""

    conversation_id: int
    state: State
    version: int = 0
    reason: str | None = None
    agent_id: int | None = None
    queued_at: datetime | None = None
    assigned_at: datetime | None = None
    updated_at: datetime | None = None
    last_inbound_id: int | None = None
    last_citizen_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    wait_updates_sent: int = 0
    last_wait_update_at: datetime | None = None


_TIMES = ("queued_at", "assigned_at", "updated_at", "last_citizen_at",
          "last_agent_reply_at", "last_wait_update_at")


def _snapshot(row) -> Handover:
    values = dict(row._mapping)
    for name in _TIMES:
        values[name] = as_utc(values[name])
    values["state"] = State(values["state"])
    return Handover(**values)


def get(session, conversation_id: int) -> Handover:
    """The conversation's handover snapshot; a conversation without a row is with the bot."""
    row = session.execute(select(TABLE).where(TABLE.c.conversation_id == conversation_id)).first()
    return _snapshot(row) if row else Handover(conversation_id, State.BOT)


def current_state(session, conversation_id: int) -> str:
    """Just the state, with one indexed lookup (the channel asks for every message)."""
    value = session.execute(
        select(TABLE.c.state).where(TABLE.c.conversation_id == conversation_id)
    ).scalar()
    return value or State.BOT.value


def _ensure_row(session, conversation_id: int, now: datetime) -> None:
    """Insert the 'bot' row if missing; concurrent inserters do not fail."""
    values = dict(conversation_id=conversation_id, state=State.BOT.value, version=0,
                  updated_at=now, wait_updates_sent=0)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = sqlite if dialect == "sqlite" else postgresql
        statement = module.insert(TABLE).values(**values).on_conflict_do_nothing()
        session.execute(statement)
        return
    try:
        with session.begin_nested():
            session.execute(TABLE.insert().values(**values))
    except IntegrityError:
        pass   # another writer inserted it first: exactly what we wanted


def _changes(current: Handover, event: Event, now: datetime, agent_id: int | None,
             reason: str | None) -> dict:
    """Column values an event sets besides state and version."""
    if event is Event.REQUEST:
        return dict(reason=reason, agent_id=None, queued_at=now, assigned_at=None,
                    last_agent_reply_at=None, wait_updates_sent=0, last_wait_update_at=now)
    if event is Event.PICKUP:
        return dict(reason=PICKUP_REASON, agent_id=agent_id, queued_at=None, assigned_at=now,
                    last_agent_reply_at=None, wait_updates_sent=0, last_wait_update_at=None)
    if event is Event.CLAIM:
        return dict(agent_id=agent_id, assigned_at=current.assigned_at or now)
    if event is Event.TRANSFER:
        return dict(agent_id=agent_id)
    if event is Event.RELEASE:
        # queued_at is kept: a released citizen does not go to the back of the line
        return dict(agent_id=None, wait_updates_sent=0, last_wait_update_at=now)
    if event is Event.CLOSE:
        return {}
    return dict(reason=None, agent_id=None, queued_at=None, assigned_at=None,   # RETURN
                last_agent_reply_at=None, wait_updates_sent=0, last_wait_update_at=None)


def apply(session, conversation_id: int, event: Event, now: datetime, *, actor: str,
          agent_id: int | None = None, reason: str | None = None,
          expected_version: int | None = None) -> Handover:
    """Apply ``event``; returns the new snapshot or raises InvalidTransition / StaleState.

    ``expected_version`` lets a caller insist on the version it showed the
    user (a console acting on an old screen loses instead of surprising).
    """
    event = Event(event)
    current = get(session, conversation_id)
    target = next_state(current.state, event)
    if current.version == 0 and current.state is State.BOT:
        _ensure_row(session, conversation_id, now)
    if expected_version is not None and expected_version != current.version:
        raise StaleState(f"conversation {conversation_id} changed since version {expected_version}")
    changes = _changes(current, event, now, agent_id, reason)
    result = session.execute(
        update(TABLE)
        .where(TABLE.c.conversation_id == conversation_id,
               TABLE.c.state == current.state.value,
               TABLE.c.version == current.version)
        .values(state=target.value, version=current.version + 1, updated_at=now, **changes)
    )
    if result.rowcount != 1:
        raise StaleState(f"conversation {conversation_id} changed while applying {event.value}")
    audit.record(session, event.value, now, actor=actor, agent_id=_acting_agent(actor),
                 conversation_id=conversation_id, **{"from": current.state.value,
                                                     "to": target.value,
                                                     "agent": changes.get("agent_id", current.agent_id),
                                                     "reason": reason})
    return replace(current, state=target, version=current.version + 1, updated_at=now, **changes)


def _acting_agent(actor: str) -> int | None:
    kind, _, number = actor.partition(":")
    return int(number) if kind == "agent" and number.isdigit() else None


def touch(session, conversation_id: int, *, where_state: State, where_agent: int | None = None,
          **values) -> bool:
    """Set bookkeeping columns (not the state) if the row is still as expected.

    Used for "the assigned agent replied": the UPDATE takes the row lock, so a
    reply and a concurrent transfer are ordered, never interleaved.
    """
    statement = update(TABLE).where(TABLE.c.conversation_id == conversation_id,
                                    TABLE.c.state == where_state.value)
    if where_agent is not None:
        statement = statement.where(TABLE.c.agent_id == where_agent)
    return session.execute(statement.values(**values)).rowcount == 1


def queued(session) -> list[Handover]:
    """Queued conversations in queue order (first come, first served)."""
    rows = session.execute(
        select(TABLE).where(TABLE.c.state == State.QUEUED.value)
        .order_by(TABLE.c.queued_at, TABLE.c.conversation_id)
    )
    return [_snapshot(row) for row in rows]


def place_in_queue(session, conversation_id: int) -> int | None:
    """1 for the first in line; None when the conversation is not queued."""
    for place, handover in enumerate(queued(session), start=1):
        if handover.conversation_id == conversation_id:
            return place
    return None


def active(session, *, agent_id: int | None = None) -> list[Handover]:
    """Conversations not with the bot; with ``agent_id`` only those assigned to them."""
    query = select(TABLE).where(TABLE.c.state != State.BOT.value)
    if agent_id is not None:
        query = query.where(TABLE.c.agent_id == agent_id, TABLE.c.state == State.ASSIGNED.value)
    return [_snapshot(row) for row in session.execute(query)]
