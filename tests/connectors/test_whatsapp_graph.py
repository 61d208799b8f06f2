"""Meta's error responses as classes, and the Graph API client (connectors.graph)."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.errors import WhatsAppApiError
from connectors import graph
from simulator.graph import error_body


def _response(status: int, body=None, headers=None) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b"<html>Bad gateway</html>"
    return httpx.Response(status, content=content, headers=headers or {},
                          request=httpx.Request("POST", "https://graph.example/v24.0/1/messages"))


@pytest.mark.parametrize("status,code,cls,retryable", [
    (400, 131047, graph.OutsideServiceWindow, False),
    (400, 131026, graph.Undeliverable, False),
    (400, 131051, graph.UnsupportedMessageType, False),
    (400, 100, graph.InvalidParameter, False),
    (400, 131009, graph.InvalidParameter, False),
    (429, 130429, graph.RateLimited, True),
    (400, 130429, graph.RateLimited, True),      # the code wins over the status
    (429, 131056, graph.RateLimited, True),
    (400, 4, graph.RateLimited, True),
    (500, 131000, graph.ServerError, True),
    (503, 131016, graph.ServerError, True),
    (401, 190, graph.AuthError, True),
    (400, 999999, graph.PermanentError, False),  # unknown 4xx code: do not hammer
    (502, 999999, graph.ServerError, True),      # unknown 5xx code: Meta's problem
])
def test_from_response_picks_class_by_code(status, code, cls, retryable):
    error = graph.GraphApiError.from_response(_response(status, error_body(code)))
    assert type(error) is cls and isinstance(error, WhatsAppApiError)
    assert error.retryable is retryable
    assert (error.code, error.status) == (code, status)
    assert error.title


@pytest.mark.parametrize("status,cls", [(500, graph.ServerError), (502, graph.ServerError),
                                        (429, graph.RateLimited), (404, graph.PermanentError)])
def test_from_response_without_json_uses_status(status, cls):
    error = graph.GraphApiError.from_response(_response(status))
    assert type(error) is cls and error.code == status


def test_retry_after_header_is_read():
    error = graph.GraphApiError.from_response(_response(429, error_body(130429), {"Retry-After": "7"}))
    assert error.retry_after == 7.0


def _client(handler) -> graph.GraphClient:
    return graph.GraphClient("https://graph.example/v24.0/", "1234567890", "token-xyz",
                             transport=httpx.MockTransport(handler))


def test_send_posts_to_messages_with_bearer_and_returns_wamid():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), auth=request.headers["authorization"], body=json.loads(request.content))
        return httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]})

    async def run():
        client = _client(handler)
        try:
            return await client.send({"messaging_product": "whatsapp", "to": "31600000001", "type": "text",
                                      "text": {"body": "Hallo"}})
        finally:
            await client.aclose()

    assert asyncio.run(run()) == "wamid.X"
    assert seen["url"] == "https://graph.example/v24.0/1234567890/messages"
    assert seen["auth"] == "Bearer token-xyz"


def test_read_receipt_success_has_no_wamid():
    async def run():
        client = _client(lambda request: httpx.Response(200, json={"success": True}))
        try:
            return await client.send({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A"})
        finally:
            await client.aclose()

    assert asyncio.run(run()) is None


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_no_answer_is_a_network_error(exc):
    def handler(request):
        raise exc

    async def run():
        client = _client(handler)
        try:
            await client.send({})
        finally:
            await client.aclose()

    with pytest.raises(graph.NetworkError) as info:
        asyncio.run(run())
    assert info.value.retryable


def test_error_status_raises_even_if_body_looks_fine():
    async def run():
        client = _client(lambda request: httpx.Response(500, json={"messages": [{"id": "wamid.NO"}]}))
        try:
            await client.send({})
        finally:
            await client.aclose()

    with pytest.raises(graph.ServerError):
        asyncio.run(run())
