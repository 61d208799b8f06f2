"""Turning the bot's messages into WhatsApp Cloud API message bodies.

Pure functions. Rasa hands the channel dicts with ``text``, ``buttons``
(``{title, payload}``), ``image`` and ``custom``; WhatsApp wants text of at
most 4,096 characters, up to 3 reply buttons or a list of up to 10 rows, each
with its own length limits. A tapped button or row comes back with its id,
which is the bot's payload, so the payload must fit the id limit.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable

log = logging.getLogger(__name__)

TEXT_MAX = 4096
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
MAX_BUTTONS = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
MAX_ROWS = 10
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20

HANDOVER_REASONS = frozenset({"low_confidence", "ask_human", "privacy"})


@dataclass(frozen=True)
class Texts:
    """Words the channel itself adds; B1 Dutch, overridable in balie.yml ``texts:``."""

    choose: str = "Maak een keuze:"                 # body when the bot sent buttons without text
    list_button: str = "Kies een onderwerp"         # the button that opens a list (max 20)


@dataclass(frozen=True)
class Outgoing:
    """One message for the outbox: ``kind`` (text, buttons, list, image) and its body."""

    kind: str
    body: dict


@dataclass(frozen=True)
class HandoverSignal:
    """The bot asks for a person (custom JSON ``{"handover": {"reason": ...}}``)."""

    reason: str


# ---------------------------------------------------------------------- text

# Where a long text may be cut, best first: paragraph, line, sentence, word.
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?…](?:[\"')\]]*)\s+"),
           re.compile(r"\s+"))


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters, at sentence boundaries.

    Prefers a paragraph break, then a line break, then the end of a sentence,
    then a space; cuts hard only inside one very long word.
    """
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit + 100]     # whitespace just past the limit is still a good cut
    for pattern in _BREAKS:
        cuts = [m.end() for m in pattern.finditer(window)
                if m.start() > 0 and len(text[:m.end()].rstrip()) <= limit]
        if cuts:
            return max(cuts)
    return limit


def text_messages(text: str) -> list[Outgoing]:
    return [Outgoing("text", {"type": "text", "text": {"body": part}}) for part in split_text(text)]


def shorten(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit - 1].rstrip() + "…"


# ------------------------------------------------------------------- buttons

def render_buttons(text: str | None, buttons: list[dict], texts: Texts = Texts()) -> list[Outgoing]:
    """Reply buttons for up to 3 choices, a list for 4 to 10, numbered text beyond.

    Falls back to a list when shortened button titles would clash, and to
    numbered text when a payload is too long to be an id (a tapped id must
    give the bot back its exact payload).
    """
    options = [(str(b.get("title") or b.get("payload") or ""), str(b.get("payload") or b.get("title") or ""))
               for b in buttons if b.get("title") or b.get("payload")]
    text = (text or "").strip()
    if not options:
        return text_messages(text) if text else []
    if len(options) <= MAX_BUTTONS and _buttons_fit(text, options):
        return [_button_message(text or texts.choose, options)]
    if len(options) <= MAX_ROWS and all(len(payload) <= ROW_ID_MAX for _, payload in options):
        lead, body = _lead_and_body(text or texts.choose, LIST_BODY_MAX)
        return lead + [_list_message(body, options, texts)]
    log.warning("buttons rendered as text: %d options, longest payload %d chars",
                len(options), max(len(payload) for _, payload in options))
    numbered = "\n".join(f"{n}. {title}" for n, (title, _) in enumerate(options, start=1))
    return text_messages(f"{text}\n\n{numbered}".strip())


def _buttons_fit(text: str, options: list[tuple[str, str]]) -> bool:
    titles = {shorten(title, BUTTON_TITLE_MAX) for title, _ in options}
    payloads = {payload for _, payload in options}
    return (len(text) <= BUTTON_BODY_MAX and len(titles) == len(options)
            and len(payloads) == len(options)
            and all(len(payload) <= BUTTON_ID_MAX for payload in payloads))


def _button_message(text: str, options: list[tuple[str, str]]) -> Outgoing:
    buttons = [{"type": "reply", "reply": {"id": payload, "title": shorten(title, BUTTON_TITLE_MAX)}}
               for title, payload in options]
    return Outgoing("buttons", {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": text}, "action": {"buttons": buttons}}})


def _list_message(text: str, options: list[tuple[str, str]], texts: Texts) -> Outgoing:
    rows, seen = [], set()
    for title, payload in options:
        if payload in seen:
            continue      # ids must be unique; a repeated payload is the same choice
        seen.add(payload)
        row = {"id": payload, "title": shorten(title, ROW_TITLE_MAX)}
        if row["title"] != title:
            row["description"] = shorten(title, ROW_DESCRIPTION_MAX)
        rows.append(row)
    return Outgoing("list", {"type": "interactive", "interactive": {
        "type": "list", "body": {"text": text},
        "action": {"button": shorten(texts.list_button, LIST_BUTTON_MAX),
                   "sections": [{"rows": rows}]}}})


def _lead_and_body(text: str, body_max: int) -> tuple[list[Outgoing], str]:
    """Text too long for an interactive body goes first, as plain messages."""
    parts = split_text(text, body_max)
    return text_messages("\n\n".join(parts[:-1])) if len(parts) > 1 else [], parts[-1]


# --------------------------------------------------------------- bot messages

def render_bot_message(message: dict[str, Any], texts: Texts = Texts()) -> list[Outgoing | HandoverSignal]:
    """One message the bot uttered, as outbox messages and handover signals, in order."""
    out: list[Outgoing | HandoverSignal] = []
    buttons = message.get("buttons") or message.get("quick_replies")
    text = message.get("text")
    if buttons:
        out += render_buttons(text, list(buttons), texts)
    elif text and str(text).strip():
        out += text_messages(str(text))
    image = message.get("image")
    if isinstance(image, str) and image.startswith("https://"):
        out.append(Outgoing("image", {"type": "image", "image": {"link": image}}))
    custom = message.get("custom")
    if isinstance(custom, dict):
        out += _custom(custom)
    return out


def render_bot_messages(messages: Iterable[dict[str, Any]], texts: Texts = Texts()) -> list[Outgoing | HandoverSignal]:
    return [item for message in messages for item in render_bot_message(message, texts)]


def _custom(custom: dict) -> list[Outgoing | HandoverSignal]:
    handover = custom.get("handover")
    if isinstance(handover, dict):
        reason = str(handover.get("reason") or "ask_human")
        if reason not in HANDOVER_REASONS:
            log.warning("handover signal with unknown reason %r", reason[:32])
        return [HandoverSignal(reason[:32])]
    if isinstance(custom.get("whatsapp"), dict):   # a ready-made Graph API body
        body = custom["whatsapp"]
        return [Outgoing(str(body.get("type", "text")), body)]
    log.warning("custom message ignored (keys: %s)", ", ".join(sorted(map(str, custom))[:5]))
    return []
