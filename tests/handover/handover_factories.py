"""Factories and constants for the handover tests (fixtures are in conftest.py)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from bot.db.models import Conversation, InboundMessage
from handover.auth import AgentRef
from handover.config import HandoverConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]
# A Wednesday morning in Amsterdam (winter time: UTC+1): the office is open.
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"    # of every agent make_agent creates
ALWAYS_OPEN = {day: "00:00-24:00" for day in
               ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
_numbers = itertools.count(1)


def handover_raw() -> dict:
    """The ``handover:`` section of the repository's balie.yml."""
    return dict(yaml.safe_load((ROOT / "balie.yml").read_text(encoding="utf-8"))["handover"])


def make_config(**overrides) -> HandoverConfig:
    raw = handover_raw()
    raw.update(overrides)
    return parse_config(raw)


def make_conversation(session, *, at: datetime = T0, name: str = "Inwoner",
                      text: str | None = "Ik wil iemand spreken") -> Conversation:
    """A conversation whose citizen wrote at ``at`` (the 24-hour window runs from there)."""
    number = next(_numbers)
    conversation = Conversation(wa_id=f"3161{number:07d}", profile_name=name, created_at=at,
                                last_inbound_at=at)
    session.add(conversation)
    session.flush()
    if text is not None:
        add_inbound(session, conversation.id, text, at)
    return conversation


def add_inbound(session, conversation_id: int, text: str, at: datetime, **fields) -> InboundMessage:
    message = InboundMessage(wamid=f"wamid.{next(_numbers)}", conversation_id=conversation_id,
                             kind="text", text=text, received_at=at, state="done", **fields)
    session.add(message)
    session.flush()
    return message


def make_agent(session, name: str = "Jan de Vries", role: str = "agent",
               username: str | None = None, at: datetime = T0) -> AgentRef:
    from handover import agents

    info, _password = agents.add(session, username or f"agent{next(_numbers)}", name, role, at,
                                 actor="test", password=PASSWORD)
    return AgentRef(info.id, info.username, info.name, info.role)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
