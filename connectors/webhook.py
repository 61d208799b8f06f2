"""Pure functions for Meta's WhatsApp webhooks: signature check and parsing.

No I/O, no framework: the Rasa channel (``connectors.whatsapp``) only wires
these to HTTP. ``parse_update`` reads the whole POST (every entry, change,
message, status and contact) into frozen dataclasses, or raises
``MalformedUpdate`` before anything is stored, so a bad body is refused as a
whole and never half-processed.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"

# Message kinds Balie reads: text, and the replies to its own buttons and lists.
READABLE_KINDS = frozenset({"text", "button", "list"})
# Kinds that need no answer at all (service notices, a removed reaction, ...).
IGNORED_KINDS = frozenset({"system", "request_welcome", "ephemeral", "revoke", "deleted",
                           "reaction_removed"})
# Everything else (image, audio, video, document, sticker, location, contacts,
# reaction, unsupported, order, ...) gets the polite "I can only read text" reply.


class MalformedUpdate(ValueError):
    """The webhook body is not JSON of the shape Meta documents; the reason names no content."""


@dataclass(frozen=True)
class Contact:
    wa_id: str
    profile_name: str | None


@dataclass(frozen=True)
class Message:
    """One citizen message. ``text`` is the raw text: pass it through the privacy gate first."""

    wamid: str
    wa_id: str
    kind: str                        # text, button, list, image, audio, ..., unsupported
    sent_at: datetime
    phone_number_id: str | None = None
    text: str | None = None          # text body, or the title of a tapped button/row
    reply_id: str | None = None      # id of a tapped button/row (the bot's payload)
    context_id: str | None = None    # wamid of the message the citizen replied to
    error_code: int | None = None    # Meta's code on an ``unsupported`` message

    @property
    def readable(self) -> bool:
        return self.kind in READABLE_KINDS

    @property
    def ignored(self) -> bool:
        return self.kind in IGNORED_KINDS


@dataclass(frozen=True)
class Status:
    """A delivery status for a message Balie sent; they arrive in any order."""

    wamid: str
    status: str                      # sent, delivered, read, failed
    recipient_id: str | None
    occurred_at: datetime | None
    error_code: int | None = None
    error_title: str | None = None
    phone_number_id: str | None = None


@dataclass(frozen=True)
class Update:
    messages: tuple[Message, ...] = ()
    statuses: tuple[Status, ...] = ()
    contacts: tuple[Contact, ...] = ()

    def profile_name(self, wa_id: str) -> str | None:
        for contact in self.contacts:
            if contact.wa_id == wa_id and contact.profile_name:
                return contact.profile_name
        return None


# ------------------------------------------------------------------ signature

def sign(raw_body: bytes, secret: str) -> str:
    """The header value Meta sends: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    """True if ``header`` signs exactly ``raw_body`` with ``secret`` (constant time)."""
    if not header or not secret:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"),
                               given.lower().encode("utf-8", "replace"))


# -------------------------------------------------------------------- parsing

def parse_update(payload: Any) -> Update:
    """Every message, status and contact in a webhook body, in the order they appear."""
    _expect(isinstance(payload, dict), "body is not an object")
    _expect(payload.get("object") == "whatsapp_business_account", "object is not whatsapp_business_account")
    messages: list[Message] = []
    statuses: list[Status] = []
    contacts: list[Contact] = []
    for entry in _list(payload, "entry", required=True):
        _expect(isinstance(entry, dict), "entry is not an object")
        for change in _list(entry, "changes"):
            _expect(isinstance(change, dict), "change is not an object")
            if change.get("field", "messages") != "messages":
                continue      # other subscriptions (templates, account) are not ours
            value = change.get("value")
            _expect(isinstance(value, dict), "change.value is not an object")
            number_id = _phone_number_id(value)
            contacts += [_contact(item) for item in _list(value, "contacts")]
            messages += [_message(item, number_id) for item in _list(value, "messages")]
            statuses += [_status(item, number_id) for item in _list(value, "statuses")]
    return Update(tuple(messages), tuple(statuses), tuple(contacts))


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise MalformedUpdate(reason)


def _list(obj: dict, key: str, required: bool = False) -> list:
    value = obj.get(key)
    if value is None and not required:
        return []
    _expect(isinstance(value, list), f"{key} is not a list")
    return value


def _str(obj: dict, key: str, required: bool = True, max_len: int | None = None) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    _expect(isinstance(value, str) and (value != "" or not required), f"{key} is not a string")
    _expect(max_len is None or len(value) <= max_len, f"{key} is too long")
    return value


def _timestamp(obj: dict, required: bool = True) -> datetime | None:
    value = obj.get("timestamp")
    if value is None and not required:
        return None
    try:
        seconds = int(value)
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedUpdate("timestamp is not a unix time") from exc


def _phone_number_id(value: dict) -> str | None:
    metadata = value.get("metadata")
    if metadata is None:
        return None
    _expect(isinstance(metadata, dict), "metadata is not an object")
    return _str(metadata, "phone_number_id", required=False)


def _contact(item: Any) -> Contact:
    _expect(isinstance(item, dict), "contact is not an object")
    profile = item.get("profile") or {}
    _expect(isinstance(profile, dict), "contact.profile is not an object")
    name = _str(profile, "name", required=False)
    return Contact(wa_id=_str(item, "wa_id", max_len=32), profile_name=name[:256] if name else None)


def _message(item: Any, number_id: str | None) -> Message:
    _expect(isinstance(item, dict), "message is not an object")
    kind = _str(item, "type")
    context = item.get("context") if isinstance(item.get("context"), dict) else {}
    context_id = context.get("id") if isinstance(context.get("id"), str) else None
    base = dict(wamid=_str(item, "id", max_len=256), wa_id=_str(item, "from", max_len=32),
                sent_at=_timestamp(item), phone_number_id=number_id, context_id=context_id)
    if kind == "text":
        return Message(kind="text", text=_str(_object(item, "text"), "body", required=False) or "", **base)
    if kind == "interactive":
        return _interactive(_object(item, "interactive"), base)
    if kind == "button":   # quick-reply button of a template message
        button = _object(item, "button")
        return Message(kind="button", text=_str(button, "text", required=False),
                       reply_id=_str(button, "payload", max_len=256), **base)
    if kind == "reaction" and not (item.get("reaction") or {}).get("emoji"):
        return Message(kind="reaction_removed", **base)
    kind = kind if len(kind) <= 32 else "unsupported"
    return Message(kind=kind, error_code=_first_error_code(item), **base)


def _object(item: dict, key: str) -> dict:
    value = item.get(key)
    _expect(isinstance(value, dict), f"{key} is not an object")
    return value


def _interactive(interactive: dict, base: dict) -> Message:
    subtype = interactive.get("type")
    if subtype in ("button_reply", "list_reply"):
        reply = _object(interactive, subtype)
        return Message(kind="button" if subtype == "button_reply" else "list",
                       text=_str(reply, "title", required=False),
                       reply_id=_str(reply, "id", max_len=256), **base)
    return Message(kind="unsupported", **base)   # flows (nfm_reply) and the like


def _first_error_code(item: dict) -> int | None:
    errors = item.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        return code if isinstance(code, int) else None
    return None


def _status(item: Any, number_id: str | None) -> Status:
    _expect(isinstance(item, dict), "status is not an object")
    errors = item.get("errors")
    code = title = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code") if isinstance(errors[0].get("code"), int) else None
        title = errors[0].get("title") if isinstance(errors[0].get("title"), str) else None
    recipient = _str(item, "recipient_id", required=False)
    return Status(wamid=_str(item, "id", max_len=256), status=_str(item, "status", max_len=16),
                  recipient_id=recipient[:32] if recipient else None,
                  occurred_at=_timestamp(item, required=False),
                  error_code=code, error_title=title, phone_number_id=number_id)
