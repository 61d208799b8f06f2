"""Build, sign and POST WhatsApp webhooks in tests and benchmarks.

Payload shapes follow Meta's documentation (the builders of
``simulator.signing`` for text and replies); ``post`` signs the exact bytes
it sends, or deliberately does not.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

DATA = Path(__file__).resolve().parent.parent / "data" / "whatsapp"
PHONE_NUMBER_ID = "1234567890"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"

MEDIA_BODIES: dict[str, dict[str, Any]] = {
    "image": {"mime_type": "image/jpeg", "sha256": "aGFzaA==", "id": "1000000000000001"},
    "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "aGFzaA==", "id": "1000000000000002", "voice": True},
    "video": {"mime_type": "video/mp4", "sha256": "aGFzaA==", "id": "1000000000000003"},
    "document": {"filename": "brief.pdf", "mime_type": "application/pdf", "sha256": "aGFzaA==", "id": "1000000000000004"},
    "sticker": {"mime_type": "image/webp", "sha256": "aGFzaA==", "id": "1000000000000005", "animated": False},
    "location": {"latitude": 52.0, "longitude": 5.0, "name": "Gemeentehuis"},
}


def fixture(name: str) -> dict[str, Any]:
    """A recorded, anonymised payload from tests/data/whatsapp/."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def new_wamid() -> str:
    return "wamid.TEST" + secrets.token_hex(16)


def envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001234", "phone_number_id": phone_number_id},
             **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "100000000000001", "changes": [{"value": value, "field": "messages"}]}]}


def message(wa_id: str, kind: str, content: dict[str, Any] | None = None, wamid: str | None = None,
            timestamp: int | None = None) -> dict[str, Any]:
    """One entry of ``messages[]``; ``content`` goes under the key named like the type."""
    item = {"from": wa_id, "id": wamid or new_wamid(), "timestamp": str(timestamp or int(time.time())),
            "type": kind}
    if content is not None:
        item[kind] = content
    return item


def inbound(wa_id: str, *messages: dict[str, Any], profile_name: str = "Test Inwoner",
            phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    return envelope({"contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
                     "messages": list(messages)}, phone_number_id)


def text(wa_id: str, body: str, wamid: str | None = None, **kw: Any) -> dict[str, Any]:
    return inbound(wa_id, message(wa_id, "text", {"body": body}, wamid), **kw)


def button_reply(wa_id: str, reply_id: str, title: str, wamid: str | None = None) -> dict[str, Any]:
    content = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return inbound(wa_id, message(wa_id, "interactive", content, wamid))


def list_reply(wa_id: str, reply_id: str, title: str, wamid: str | None = None) -> dict[str, Any]:
    content = {"type": "list_reply", "list_reply": {"id": reply_id, "title": title}}
    return inbound(wa_id, message(wa_id, "interactive", content, wamid))


def media(wa_id: str, kind: str, wamid: str | None = None) -> dict[str, Any]:
    """A non-text message: image, audio, video, document, sticker, location, contacts,
    reaction or unsupported."""
    if kind == "contacts":
        item = message(wa_id, "contacts", None, wamid)
        item["contacts"] = [{"name": {"formatted_name": "Voorbeeld Persoon"}}]
    elif kind == "reaction":
        item = message(wa_id, "reaction", {"message_id": "wamid.OUT", "emoji": "\U0001F44D"}, wamid)
    elif kind == "unsupported":
        item = message(wa_id, "unsupported", None, wamid)
        item["errors"] = [{"code": 131051, "title": "Message type unknown"}]
    else:
        item = message(wa_id, kind, MEDIA_BODIES[kind], wamid)
    return inbound(wa_id, item)


def status(wamid: str, state: str, recipient: str, error_code: int | None = None,
           error_title: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": state, "timestamp": str(int(time.time())),
                            "recipient_id": recipient}
    if error_code is not None:
        item["errors"] = [{"code": error_code, "title": error_title or "error"}]
    return envelope({"statuses": [item]})


def batch(*payloads: dict[str, Any]) -> dict[str, Any]:
    """One POST carrying the entries of several payloads."""
    merged = copy.deepcopy(payloads[0])
    for payload in payloads[1:]:
        merged["entry"] += copy.deepcopy(payload["entry"])
    return merged


def wamids(payload: dict[str, Any]) -> list[str]:
    return [m["id"] for e in payload["entry"] for c in e["changes"]
            for m in c["value"].get("messages", [])]


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers(body: bytes, secret: str | None, signature: str | None = None) -> dict[str, str]:
    """Content type plus ``X-Hub-Signature-256``: right (secret), given, or none (both None)."""
    result = {"Content-Type": "application/json"}
    if signature is not None:
        result["X-Hub-Signature-256"] = signature
    elif secret is not None:
        result["X-Hub-Signature-256"] = sign(body, secret)
    return result


def post(base_url: str, payload: dict[str, Any] | bytes, secret: str | None,
         signature: str | None = None, client: httpx.Client | None = None,
         timeout: float = 30.0) -> httpx.Response:
    """POST a webhook to a Rasa server at ``base_url``; signed with ``secret`` unless told."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    url = base_url.rstrip("/") + WEBHOOK_PATH
    hdrs = headers(body, secret, signature)
    if client is not None:
        return client.post(url, content=body, headers=hdrs, timeout=timeout)
    return httpx.post(url, content=body, headers=hdrs, timeout=timeout)


async def apost(client: httpx.AsyncClient, base_url: str, payload: dict[str, Any] | bytes,
                secret: str | None, signature: str | None = None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else encode(payload)
    return await client.post(base_url.rstrip("/") + WEBHOOK_PATH, content=body,
                             headers=headers(body, secret, signature))


def verify(base_url: str, token: str, challenge: str = "1158201444", mode: str = "subscribe") -> httpx.Response:
    params = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    return httpx.get(base_url.rstrip("/") + WEBHOOK_PATH, params=params, timeout=10)
