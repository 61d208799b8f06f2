"""Request and response models of the agent API (they make /openapi.json).

Requests forbid unknown fields and bound every string, so bad input is a
422 with the reason, never a 500.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

ID = Field(ge=1, le=2 ** 31 - 1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- requests ---------------------------------------------------------------

class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class VersionIn(Strict):
    """Optional: the version the console showed; a stale screen then loses (409)."""
    version: Optional[int] = Field(default=None, ge=0, le=2 ** 31 - 1)


class TextIn(Strict):
    text: str = Field(min_length=1, max_length=4096)


class TransferIn(Strict):
    agent_id: int = ID


class CannedIn(Strict):
    title: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=4096)


class AgentIn(Strict):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=128)
    role: Literal["agent", "supervisor", "admin"] = "agent"


class AgentPatch(Strict):
    active: Optional[bool] = None
    role: Optional[Literal["agent", "supervisor", "admin"]] = None


# --- responses --------------------------------------------------------------

class ErrorOut(BaseModel):
    error: str
    message: str


class AgentOut(Out):
    id: int
    username: str
    name: str
    role: str
    active: bool = True


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    agent: AgentOut


class ChatHeaderOut(Out):
    conversation_id: int
    name: str
    phone: str
    state: str
    version: int
    reason: Optional[str]
    agent_id: Optional[int]
    agent_name: Optional[str]
    place: Optional[int]


class QueueItemOut(ChatHeaderOut):
    waiting_s: Optional[int]
    last_message: str
    last_message_at: Optional[datetime]
    window_left_s: int
    needs_reply: bool


class BotChatOut(Out):
    conversation_id: int
    name: str
    phone: str
    last_message: str
    last_message_at: Optional[datetime]
    window_left_s: int


class MessageOut(Out):
    id: str
    direction: str
    author: str
    author_name: str
    text: str
    at: datetime
    status: Optional[str]
    privacy_kinds: list[str]


class NoteOut(Out):
    id: int
    agent_name: str
    text: str
    at: datetime


class ConversationOut(ChatHeaderOut):
    queued_at: Optional[datetime]
    assigned_at: Optional[datetime]
    window_left_s: int
    actions: list[str]
    messages: list[MessageOut]
    notes: list[NoteOut]


class StateOut(Out):
    conversation_id: int
    state: str
    version: int
    agent_id: Optional[int]


class OutboxOut(BaseModel):
    outbox_id: int


class NoteCreatedOut(BaseModel):
    note_id: int


class CannedOut(Out):
    id: int
    title: str
    body: str
    updated_at: datetime


class NewAgentOut(BaseModel):
    agent: AgentOut
    password: str


class PasswordOut(BaseModel):
    password: str


class AuditOut(Out):
    id: int
    at: datetime
    actor: str
    agent_id: Optional[int]
    action: str
    conversation_id: Optional[int]
    detail: dict
