"""The channel's one door to the handover service (``handover.core``).

Every call the channel makes about handover goes through here, with the
caller's session, inside the caller's transaction. When the handover package
is not installed (a bot-only deployment), every conversation is "bot" and a
handover the bot asks for is stored as a ``conversation_events`` row, so it
is not lost.

TODO(handover.core): once every deployment ships the handover package, drop
the fallback and import ``handover.core`` directly.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
from datetime import datetime

from bot.db.conversations import record_event
from bot.errors import InvalidTransition

log = logging.getLogger(__name__)

BOT = "bot"


def _load_core():
    # find_spec, not try/except ImportError: a real import error inside
    # handover.core must surface, not silently turn handover off.
    try:
        spec = importlib.util.find_spec("handover.core")
    except ModuleNotFoundError:
        spec = None
    return importlib.import_module("handover.core") if spec is not None else None


_core = _load_core()
if _core is None:
    log.warning("handover.core not installed: every conversation stays with the bot")


def handover_available() -> bool:
    return _core is not None


def current_state(session, conversation_id: int) -> str:
    """'bot' when the bot answers; anything else means an agent's side handles it."""
    return _core.current_state(session, conversation_id) if _core else BOT


def request_handover(session, conversation_id: int, reason: str, now: datetime,
                     inbound_id: int | None = None) -> None:
    """Ask for a person; the handover service tells the citizen their place in the queue."""
    if _core is None:
        record_event(session, conversation_id, "handover_requested", reason, inbound_id, now)
        log.info("conversation %d: handover requested (%s), no handover service", conversation_id, reason)
        return
    if reason not in getattr(_core, "REASONS", (reason,)):
        log.warning("conversation %d: unknown handover reason, using low_confidence", conversation_id)
        reason = "low_confidence"
    try:
        _core.request_handover(session, conversation_id, reason, now)
    except InvalidTransition as exc:
        # Another process moved the conversation at the same moment: keep a trace.
        log.warning("conversation %d: handover not requested (%s)", conversation_id, type(exc).__name__)
        record_event(session, conversation_id, "handover_refused", reason, inbound_id, now)
        return
    log.info("conversation %d: handover requested (%s)", conversation_id, reason)


def note_citizen_message(session, conversation_id: int, inbound_id: int, now: datetime) -> None:
    """Tell the agent side a new citizen message arrived."""
    if _core is not None:
        _core.note_citizen_message(session, conversation_id, inbound_id, now)
