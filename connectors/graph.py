"""The WhatsApp Cloud API (Graph API) for sending, and Meta's errors as classes.

    WhatsAppApiError (bot.errors)
    └── GraphApiError              any failed send; ``from_response`` picks the class
        ├── TransientError         worth retrying with backoff
        │   ├── RateLimited        429, 4, 80007, 130429, 131048, 131056
        │   ├── ServerError        5xx, 1, 2, 131000, 131016
        │   ├── AuthError          190, 0, 2500: retried, an operator may renew the token
        │   └── NetworkError       timeout or connection failure (no response)
        └── PermanentError         retrying cannot help; recorded on the outbox row
            ├── Undeliverable          131026
            ├── OutsideServiceWindow   131047 (more than 24 h since the citizen wrote)
            ├── UnsupportedMessageType 131051
            └── InvalidParameter       100, 131008, 131009

The outbox sender decides by type: ``retryable`` or not. Unknown codes on a
4xx answer are permanent, on a 5xx answer transient.
"""
from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from bot.errors import WhatsAppApiError

log = logging.getLogger(__name__)


class GraphApiError(WhatsAppApiError):
    """The Graph API refused a send (or could not be reached)."""

    codes: tuple[int, ...] = ()
    retryable = False

    def __init__(self, code: int | None, title: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.code = code
        self.title = title
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"WhatsApp API error {code} ({status}): {title}")

    @classmethod
    def from_response(cls, response: httpx.Response) -> "GraphApiError":
        """The error class for Meta's code in ``response`` (falling back on the status)."""
        error = _error_object(response)
        code = error.get("code") if isinstance(error.get("code"), int) else None
        title = _title(error) or response.reason_phrase or "error"
        error_class = _BY_CODE.get(code) if code is not None else None
        if error_class is None:
            error_class = _by_status(response.status_code)
        return error_class(code if code is not None else response.status_code, title,
                           status=response.status_code, retry_after=_retry_after(response))


class TransientError(GraphApiError):
    """A failure that may go away: retry with backoff."""

    retryable = True


class RateLimited(TransientError):
    """Too many messages for now (per app, account, number or recipient)."""

    codes = (4, 80007, 130429, 131048, 131056)


class ServerError(TransientError):
    """Meta had a problem of its own."""

    codes = (1, 2, 131000, 131016)


class AuthError(TransientError):
    """The access token is missing, invalid or expired; retried in case it is renewed."""

    codes = (0, 190, 2500)


class NetworkError(TransientError):
    """No answer: timeout or connection failure."""


class PermanentError(GraphApiError):
    """Retrying the same message cannot help."""


class Undeliverable(PermanentError):
    """The recipient cannot receive the message (not on WhatsApp, old app, ...)."""

    codes = (131026,)


class OutsideServiceWindow(PermanentError):
    """More than 24 hours since the citizen's last message: only templates may be sent."""

    codes = (131047,)


class UnsupportedMessageType(PermanentError):
    """WhatsApp does not support this message type."""

    codes = (131051,)


class InvalidParameter(PermanentError):
    """The message body was refused as invalid."""

    codes = (100, 131008, 131009)


_BY_CODE: dict[int, type[GraphApiError]] = {
    code: error_class
    for error_class in (RateLimited, ServerError, AuthError, Undeliverable, OutsideServiceWindow,
                        UnsupportedMessageType, InvalidParameter)
    for code in error_class.codes
}


def _by_status(status: int) -> type[GraphApiError]:
    if status == 429:
        return RateLimited
    if status in (401,):
        return AuthError
    if status >= 500:
        return ServerError
    return PermanentError


def _error_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _title(error: dict[str, Any]) -> str:
    """Meta's short title: ``error_user_title``/``title``, or the message without ``(#code) ``."""
    title = error.get("error_user_title") or error.get("title") or error.get("message") or ""
    return re.sub(r"^\(#\d+\)\s*", "", str(title))[:512]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


class GraphClient:
    """Sends message bodies to ``{api_url}/{phone_number_id}/messages``.

    Built in a start-up hook (never at import); ``transport`` lets tests plug
    in ``httpx.MockTransport``. Neither the token nor message text is logged.
    """

    def __init__(self, api_url: str, phone_number_id: str, access_token: str,
                 timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._client = httpx.AsyncClient(
            timeout=timeout_s, transport=transport,
            headers={"Authorization": f"Bearer {access_token}"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    async def send(self, payload: dict[str, Any]) -> str | None:
        """POST one message; returns Meta's wamid (None for a read receipt).

        Raises a ``GraphApiError`` subclass for any non-2xx answer or when no
        answer came.
        """
        try:
            response = await self._client.post(self._url, json=payload)
        except httpx.TimeoutException as exc:
            raise NetworkError(None, "timeout") from exc
        except httpx.TransportError as exc:
            raise NetworkError(None, type(exc).__name__) from exc
        if not response.is_success:
            raise GraphApiError.from_response(response)
        return _wamid(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def _wamid(response: httpx.Response) -> str | None:
    try:
        messages = response.json().get("messages")
        return str(messages[0]["id"])[:256]
    except (ValueError, AttributeError, LookupError, TypeError):
        return None
