"""The Graph API's side of sending: Meta's error bodies and request validation.

Pure functions, no I/O. :func:`validate_send` checks a ``POST .../messages``
body the way the Cloud API does where that is cheap, and raises
:class:`GraphError` carrying the HTTP status and Meta's error JSON.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

# code -> (HTTP status the fake answers with by default, title, details)
KNOWN_ERRORS: dict[int, tuple[int, str, str]] = {
    0: (401, "AuthException", "We were unable to authenticate the app user."),
    4: (429, "Application request limit reached", "The app has reached its API call rate limit."),
    100: (400, "Invalid parameter", "A parameter has an invalid value."),
    190: (401, "Invalid OAuth access token - Cannot parse access token", "The access token is invalid."),
    2500: (401, "An active access token must be used", "Missing access token."),
    80007: (429, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: (429, "Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131005: (403, "Access denied", "Permission is either not granted or has been removed."),
    131008: (400, "Required parameter is missing", "The request is missing a required parameter."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (503, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (400, "Message undeliverable", "Unable to deliver message. The recipient may not be on WhatsApp."),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    131048: (429, "Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number."),
    131051: (400, "Unsupported message type", "Unsupported message type."),
    131056: (429, "(Business Account, Consumer Account) pair rate limit hit", "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."),
    133010: (400, "Phone number not registered", "The phone number is not registered on the WhatsApp Business Platform."),
}

# HTTP status -> the code a failure gets when the test names only a status
DEFAULT_CODE_FOR_STATUS = {400: 100, 401: 190, 403: 131005, 429: 130429, 500: 131000, 503: 131016}

TEXT_BODY_MAX = 4096
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_TEXT_MAX = 60
FOOTER_TEXT_MAX = 60
MAX_BUTTONS = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24

_VERSION = re.compile(r"^v\d+(\.\d+)?$")


def fbtrace_id() -> str:
    return secrets.token_urlsafe(18)


def error_body(code: int, message: str | None = None, details: str | None = None, subcode: int | None = None) -> dict[str, Any]:
    """Meta's error JSON: ``{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}``."""
    _, title, default_details = KNOWN_ERRORS.get(code, (500, "Unknown error", "Unknown error."))
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def status_and_code(status: int | None, code: int | None) -> tuple[int, int]:
    """Fill in whichever of HTTP status and Meta code a failure script left out."""
    if status is None and code is None:
        return 500, 131000
    if code is None:
        return status, DEFAULT_CODE_FOR_STATUS.get(status, 131000)
    if status is None:
        return KNOWN_ERRORS.get(code, (500,))[0], code
    return status, code


@dataclass
class GraphError(Exception):
    """A request the fake Graph API rejects, with Meta's status and error JSON."""

    status: int
    body: dict[str, Any]

    @classmethod
    def of(cls, code: int, details: str | None = None, status: int | None = None, message: str | None = None) -> "GraphError":
        status = status or KNOWN_ERRORS.get(code, (400,))[0]
        return cls(status, error_body(code, message=message, details=details))

    @classmethod
    def invalid(cls, details: str) -> "GraphError":
        return cls.of(100, details=details, status=400, message="(#100) Invalid parameter")


def check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise GraphError.of(100, status=400, message=f"Unknown path components: /{version}", details="Unsupported Graph API version.")


def normalise_number(value: str) -> str:
    """``+31 6-1234 5678`` -> ``31612345678``, as Meta does for ``to``."""
    return re.sub(r"\D", "", value)


def _text(obj: Any, what: str, maximum: int, *, required: bool = True) -> str | None:
    if obj is None or obj == "":
        if required:
            raise GraphError.invalid(f"{what} is required.")
        return None
    if not isinstance(obj, str):
        raise GraphError.invalid(f"{what} must be a string.")
    if len(obj) > maximum:
        raise GraphError.invalid(f"{what} length invalid. Min length: 1, Max length: {maximum}.")
    return obj


def _check_header_footer(interactive: dict[str, Any]) -> None:
    header = interactive.get("header")
    if header is not None:
        if not isinstance(header, dict) or header.get("type") not in ("text", "image", "video", "document"):
            raise GraphError.invalid("Interactive header type invalid.")
        if header.get("type") == "text":
            _text(header.get("text"), "Header text", HEADER_TEXT_MAX)
    footer = interactive.get("footer")
    if footer is not None:
        if not isinstance(footer, dict):
            raise GraphError.invalid("Interactive footer must be an object.")
        _text(footer.get("text"), "Footer text", FOOTER_TEXT_MAX)


def _check_buttons(interactive: dict[str, Any]) -> None:
    body = interactive.get("body") or {}
    _text(body.get("text"), "Body text", BUTTON_BODY_MAX)
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise GraphError.invalid("Buttons are required for an interactive button message.")
    if len(buttons) > MAX_BUTTONS:
        raise GraphError.invalid(f"Too many buttons. Min buttons: 1, Max buttons: {MAX_BUTTONS}.")
    ids, titles = set(), set()
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(button.get("reply"), dict):
            raise GraphError.invalid("Button type must be reply, with a reply object.")
        reply = button["reply"]
        reply_id = _text(reply.get("id"), "Button id", BUTTON_ID_MAX)
        title = _text(reply.get("title"), "Button title", BUTTON_TITLE_MAX)
        if reply_id in ids or title in titles:
            raise GraphError.invalid("Button title and id must be unique.")
        ids.add(reply_id)
        titles.add(title)


def _check_list(interactive: dict[str, Any]) -> None:
    body = interactive.get("body") or {}
    _text(body.get("text"), "Body text", LIST_BODY_MAX)
    action = interactive.get("action") or {}
    _text(action.get("button"), "Button label", LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not sections:
        raise GraphError.invalid("Sections are required for an interactive list message.")
    if len(sections) > MAX_SECTIONS:
        raise GraphError.invalid(f"Too many sections. Max sections: {MAX_SECTIONS}.")
    row_ids: set[str] = set()
    total = 0
    for section in sections:
        if not isinstance(section, dict):
            raise GraphError.invalid("Section must be an object.")
        _text(section.get("title"), "Section title", SECTION_TITLE_MAX, required=len(sections) > 1)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise GraphError.invalid("Each section needs at least one row.")
        for row in rows:
            if not isinstance(row, dict):
                raise GraphError.invalid("Row must be an object.")
            row_id = _text(row.get("id"), "Row id", ROW_ID_MAX)
            _text(row.get("title"), "Row title", ROW_TITLE_MAX)
            _text(row.get("description"), "Row description", ROW_DESCRIPTION_MAX, required=False)
            if row_id in row_ids:
                raise GraphError.invalid("Row ids must be unique.")
            row_ids.add(row_id)
            total += 1
    if total > MAX_ROWS:
        raise GraphError.invalid(f"Too many rows. Max rows: {MAX_ROWS}.")


def validate_send(payload: Any) -> str:
    """Check a ``/messages`` body; return ``"read"`` for a read mark, else the message type."""
    if not isinstance(payload, dict):
        raise GraphError.invalid("Request body must be a JSON object.")
    if payload.get("messaging_product") != "whatsapp":
        raise GraphError.invalid("The parameter messaging_product is required and must be 'whatsapp'.")
    if "status" in payload:
        if payload["status"] != "read":
            raise GraphError.invalid("Only status 'read' is supported.")
        if not isinstance(payload.get("message_id"), str) or not payload["message_id"]:
            raise GraphError.invalid("The parameter message_id is required.")
        indicator = payload.get("typing_indicator")
        if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
            raise GraphError.invalid("typing_indicator type must be 'text'.")
        return "read"
    to = payload.get("to")
    if not isinstance(to, str) or not normalise_number(to):
        raise GraphError.invalid("The parameter to is required.")
    recipient_type = payload.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise GraphError.invalid("recipient_type must be 'individual'.")
    kind = payload.get("type", "text")
    if kind == "text":
        text = payload.get("text")
        if not isinstance(text, dict):
            raise GraphError.invalid("The parameter text['body'] is required.")
        _text(text.get("body"), "Message body", TEXT_BODY_MAX)
    elif kind == "interactive":
        interactive = payload.get("interactive")
        if not isinstance(interactive, dict):
            raise GraphError.invalid("The parameter interactive is required.")
        _check_header_footer(interactive)
        if interactive.get("type") == "button":
            _check_buttons(interactive)
        elif interactive.get("type") == "list":
            _check_list(interactive)
        elif interactive.get("type") not in ("cta_url", "product", "product_list", "flow", "location_request_message"):
            raise GraphError.invalid("Interactive type invalid.")
    elif kind == "template":
        template = payload.get("template")
        if not isinstance(template, dict) or not template.get("name") or not isinstance(template.get("language"), dict):
            raise GraphError.invalid("Template name and language are required.")
    elif kind not in ("image", "audio", "video", "document", "sticker", "location", "contacts", "reaction"):
        raise GraphError.of(131051, details=f"Unsupported message type: {kind}.")
    elif not isinstance(payload.get(kind), dict):
        raise GraphError.invalid(f"The parameter {kind} is required.")
    return kind


def success_body(to: str, wamid: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": normalise_number(to)}],
        "messages": [{"id": wamid}],
    }
