"""Handover tables (migration 0002_handover), on the shared declarative Base.

Text columns hold only redacted or agent-written text; the audit log holds
who did what and when, never message contents.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text,
)

from bot.db.models import Base


class Agent(Base):
    """A KCC employee who may log in to the console."""

    __tablename__ = "agents"
    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    name = Column(String(128), nullable=False)                # "Jan de Vries"; first word is shown
    role = Column(String(16), nullable=False, default="agent")  # agent, supervisor, admin
    password_hash = Column(String(256), nullable=False)        # scrypt, see handover.auth
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    disabled_at = Column(DateTime(timezone=True))
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True))


class AgentSession(Base):
    """A login; only the SHA-256 of the token is stored, so a DB copy grants nothing."""

    __tablename__ = "agent_sessions"
    id = Column(Integer, primary_key=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    last_seen_at = Column(DateTime(timezone=True), nullable=False)


class HandoverState(Base):
    """Where one conversation is in the handover state machine (no row = bot).

    Every transition is ``UPDATE ... WHERE state = :seen AND version = :seen``
    followed by a rowcount check, so of two processes acting on the same
    snapshot exactly one wins, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "handover_states"
    conversation_id = Column(Integer, ForeignKey("conversations.id"), primary_key=True)
    state = Column(String(16), nullable=False, default="bot")
    version = Column(Integer, nullable=False, default=0)
    reason = Column(String(32))                 # low_confidence, privacy, ask_human, agent_pickup
    agent_id = Column(Integer, ForeignKey("agents.id"))
    queued_at = Column(DateTime(timezone=True))     # first entry in the queue of this handover
    assigned_at = Column(DateTime(timezone=True))   # first agent of this handover
    updated_at = Column(DateTime(timezone=True), nullable=False)
    last_inbound_id = Column(Integer)               # newest citizen message while not with the bot
    last_citizen_at = Column(DateTime(timezone=True))
    last_agent_reply_at = Column(DateTime(timezone=True))
    wait_updates_sent = Column(Integer, nullable=False, default=0)
    last_wait_update_at = Column(DateTime(timezone=True))

    __table_args__ = (Index("ix_handover_state_queue", "state", "queued_at"),)


class AuditEntry(Base):
    """Who did what, when: every agent action and every state transition."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False)
    actor = Column(String(64), nullable=False)        # agent:<id>, bot, system, cli
    agent_id = Column(Integer, ForeignKey("agents.id"))
    action = Column(String(32), nullable=False)
    conversation_id = Column(Integer, ForeignKey("conversations.id"))
    detail = Column(Text)                             # small JSON object, no message text

    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_conversation", "conversation_id"))


class CannedResponse(Base):
    """A ready-made answer an agent can insert and edit before sending."""

    __tablename__ = "canned_responses"
    id = Column(Integer, primary_key=True)
    title = Column(String(80), nullable=False)
    body = Column(Text, nullable=False)
    created_by = Column(Integer, ForeignKey("agents.id"))
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class ConversationNote(Base):
    """An internal note on a conversation; never sent to the citizen."""

    __tablename__ = "conversation_notes"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_notes_conversation", "conversation_id"),)


class HandlingTime(Base):
    """One finished handover: how long the citizen waited and the agent worked."""

    __tablename__ = "handling_times"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    reason = Column(String(32))
    queued_at = Column(DateTime(timezone=True))
    assigned_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True), nullable=False)
    wait_s = Column(Integer)                    # queued -> first agent; None for a pickup
    handle_s = Column(Integer)                  # first agent -> closed; None if never assigned

    __table_args__ = (Index("ix_handling_closed", "closed_at"),)
