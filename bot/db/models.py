"""Core tables shared by the WhatsApp channel, the outbox and the handover service.

Text columns hold only what passed the privacy gate (bot.privacy): never a raw
citizen message. Written without ``Mapped[]`` annotations so the same module
runs on SQLAlchemy 1.4 (the Rasa server) and 2.x (everything else).

Timestamps are stored in UTC. SQLite gives them back without a time zone;
``bot.db.conversations.as_utc`` puts it back.
"""
from __future__ import annotations

from sqlalchemy import (
    Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Conversation(Base):
    """One WhatsApp user talking to the municipality's number."""

    __tablename__ = "conversations"
    id = Column(Integer, primary_key=True)
    wa_id = Column(String(32), nullable=False, unique=True)
    profile_name = Column(String(256))
    created_at = Column(DateTime(timezone=True), nullable=False)
    last_inbound_at = Column(DateTime(timezone=True))      # opens the 24-hour window
    disclaimer_sent_at = Column(DateTime(timezone=True))


class InboundMessage(Base):
    """A message a citizen sent, stored (redacted) before the webhook is acknowledged."""

    __tablename__ = "inbound_messages"
    id = Column(Integer, primary_key=True)
    wamid = Column(String(256), nullable=False, unique=True)   # dedupe, race-free
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False)
    kind = Column(String(32), nullable=False)        # text, button, list, image, ...
    text = Column(Text)                              # redacted text or reply title
    reply_id = Column(String(256))                   # id of a clicked button/list row
    privacy_kinds = Column(String(256))              # comma-separated kinds the gate removed
    sent_at = Column(DateTime(timezone=True))        # WhatsApp's timestamp
    received_at = Column(DateTime(timezone=True), nullable=False)
    state = Column(String(16), nullable=False, default="pending")  # pending, done, failed
    routed_to = Column(String(16))                   # bot, agent, privacy, unsupported, ignored, error
    attempts = Column(Integer, nullable=False, default=0)   # failed processing attempts
    processed_at = Column(DateTime(timezone=True))
    error = Column(String(512))                      # exception type only, never text

    __table_args__ = (
        Index("ix_inbound_state", "state", "id"),
        Index("ix_inbound_conversation", "conversation_id", "state"),
    )


class OutboxMessage(Base):
    """A message to send through the Graph API; the sender retries until final.

    ``inbound_id``/``seq`` tie a reply to the citizen message that caused it;
    the unique pair makes writing the replies of one inbound message idempotent.
    """

    __tablename__ = "outbox"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False)
    kind = Column(String(32), nullable=False)        # text, buttons, list, image, read, template
    body = Column(Text, nullable=False)              # JSON payload for the Graph API, no recipient
    author = Column(String(64), nullable=False, default="bot")  # bot, system, agent:<id>
    state = Column(String(16), nullable=False, default="pending")  # pending, sent, failed
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    sent_at = Column(DateTime(timezone=True))
    wamid = Column(String(256))                      # id Meta gave the sent message
    error_code = Column(Integer)
    error_title = Column(String(512))
    inbound_id = Column(Integer, ForeignKey("inbound_messages.id"))
    seq = Column(Integer)                            # position among the replies to inbound_id
    delivery = Column(String(16))                    # newest status webhook: sent, delivered, read, failed

    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_conversation", "conversation_id", "state", "id"),
        Index("ix_outbox_wamid", "wamid"),
        UniqueConstraint("inbound_id", "seq", name="uq_outbox_inbound_seq"),
    )


class MessageStatus(Base):
    """A delivery status Meta reported for a message we sent (any order)."""

    __tablename__ = "message_statuses"
    id = Column(Integer, primary_key=True)
    wamid = Column(String(256), nullable=False)
    status = Column(String(16), nullable=False)      # sent, delivered, read, failed
    recipient_id = Column(String(32))
    occurred_at = Column(DateTime(timezone=True))
    received_at = Column(DateTime(timezone=True), nullable=False)
    error_code = Column(Integer)
    error_title = Column(String(512))

    __table_args__ = (UniqueConstraint("wamid", "status", name="uq_status_wamid_status"),)


class ConversationEvent(Base):
    """Something that happened in a conversation besides messages (no message text).

    Used for signals with no other home, e.g. a handover the bot asked for
    while the handover service is not installed.
    """

    __tablename__ = "conversation_events"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id"), nullable=False)
    kind = Column(String(32), nullable=False)        # handover_requested, ...
    detail = Column(String(256))                     # e.g. the reason; never citizen text
    inbound_id = Column(Integer, ForeignKey("inbound_messages.id"))
    created_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_event_conversation", "conversation_id", "id"),)
