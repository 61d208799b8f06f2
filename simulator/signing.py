"""Meta-shaped WhatsApp webhook payloads and their ``X-Hub-Signature-256``.

Pure functions, no I/O. The builders return plain dicts in exactly the shape
the WhatsApp Cloud API posts to a webhook; :func:`encode` serialises one the
way the simulator sends it, and :func:`sign` signs those exact bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

DEFAULT_WABA_ID = "100000000000001"
DEFAULT_PHONE_NUMBER_ID = "1234567890"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550001234"
DEFAULT_PROFILE_NAME = "Test Inwoner"

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    """Return the ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify(body: bytes, header: str | None, app_secret: str) -> bool:
    """Check a signature header against ``body`` (used by tests and fake receivers)."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, app_secret), header)


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise a webhook payload compactly; these are the bytes that get signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_wamid() -> str:
    """A fresh message id in the look of Meta's (``wamid.`` + base64)."""
    return "wamid." + base64.b64encode(b"HBgL" + secrets.token_bytes(24)).decode("ascii")


def _timestamp(timestamp: int | None) -> str:
    return str(int(time.time()) if timestamp is None else int(timestamp))


def _envelope(value: dict[str, Any], waba_id: str) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def _metadata(phone_number_id: str, display_phone_number: str) -> dict[str, str]:
    return {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}


def _inbound(
    wa_id: str,
    message: dict[str, Any],
    *,
    profile_name: str,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
) -> dict[str, Any]:
    return _envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(phone_number_id, display_phone_number),
            "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
            "messages": [message],
        },
        waba_id,
    )


def build_text_webhook(
    wa_id: str,
    text: str,
    wamid: str | None = None,
    profile_name: str = DEFAULT_PROFILE_NAME,
    *,
    timestamp: int | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A citizen's text message."""
    message = {
        "from": wa_id,
        "id": wamid or new_wamid(),
        "timestamp": _timestamp(timestamp),
        "text": {"body": text},
        "type": "text",
    }
    return _inbound(
        wa_id,
        message,
        profile_name=profile_name,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
    )


def _interactive_reply(
    wa_id: str,
    kind: str,
    reply: dict[str, str],
    wamid: str | None,
    context_id: str | None,
    profile_name: str,
    timestamp: int | None,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if context_id:
        # Meta puts the business number and the id of the message whose button was tapped here.
        message["context"] = {"from": display_phone_number, "id": context_id}
    message.update(
        {
            "from": wa_id,
            "id": wamid or new_wamid(),
            "timestamp": _timestamp(timestamp),
            "type": "interactive",
            "interactive": {"type": kind, kind: reply},
        }
    )
    return _inbound(
        wa_id,
        message,
        profile_name=profile_name,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
    )


def build_button_reply_webhook(
    wa_id: str,
    reply_id: str,
    title: str,
    wamid: str | None = None,
    *,
    context_id: str | None = None,
    profile_name: str = DEFAULT_PROFILE_NAME,
    timestamp: int | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A tap on a reply button of an interactive ``button`` message."""
    return _interactive_reply(
        wa_id,
        "button_reply",
        {"id": reply_id, "title": title},
        wamid,
        context_id,
        profile_name,
        timestamp,
        phone_number_id,
        display_phone_number,
        waba_id,
    )


def build_list_reply_webhook(
    wa_id: str,
    reply_id: str,
    title: str,
    wamid: str | None = None,
    *,
    description: str | None = None,
    context_id: str | None = None,
    profile_name: str = DEFAULT_PROFILE_NAME,
    timestamp: int | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A choice of a row in an interactive ``list`` message."""
    reply = {"id": reply_id, "title": title}
    if description:
        reply["description"] = description
    return _interactive_reply(
        wa_id,
        "list_reply",
        reply,
        wamid,
        context_id,
        profile_name,
        timestamp,
        phone_number_id,
        display_phone_number,
        waba_id,
    )


def build_status_webhook(
    wa_id: str,
    message_id: str,
    status: str,
    *,
    error_code: int | None = None,
    error_title: str | None = None,
    error_details: str | None = None,
    timestamp: int | None = None,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A delivery status (``sent``, ``delivered``, ``read`` or ``failed``) of a sent message."""
    if status not in ("sent", "delivered", "read", "failed"):
        raise ValueError(f"unknown status {status!r}")
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": _timestamp(timestamp),
        "recipient_id": wa_id,
    }
    if status == "failed":
        code = error_code if error_code is not None else 131000
        title = error_title or "Something went wrong"
        entry["errors"] = [
            {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": error_details or title},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    else:
        entry["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        if status == "sent":
            entry["conversation"]["expiration_timestamp"] = str(int(time.time()) + 24 * 3600)
        entry["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
    return _envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(phone_number_id, display_phone_number),
            "statuses": [entry],
        },
        waba_id,
    )
