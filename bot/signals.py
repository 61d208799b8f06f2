"""The custom message by which the bot asks the channel for a human.

Actions send it with ``dispatcher.utter_message(json_message=handover_signal(reason))``;
the WhatsApp channel turns it into a handover, the REST channel passes it on.
"""
from __future__ import annotations

HANDOVER_REASONS = ("low_confidence", "privacy", "ask_human")


def handover_signal(reason: str) -> dict:
    if reason not in HANDOVER_REASONS:
        raise ValueError(f"unknown handover reason {reason!r}")
    return {"handover": {"reason": reason}}


def handover_reason(custom: object) -> str | None:
    """The reason of a handover signal, or None for any other custom message."""
    if isinstance(custom, dict) and isinstance(custom.get("handover"), dict):
        reason = custom["handover"].get("reason")
        return reason if reason in HANDOVER_REASONS else None
    return None
