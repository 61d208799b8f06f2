"""Rasa input channel for the WhatsApp Cloud API (``connectors.whatsapp.WhatsAppInput``).

Registered in credentials.yml without arguments; configuration comes from
the environment through ``bot.settings`` (see shared CONTRACTS.md §3):

    GET  /webhooks/whatsapp/webhook   Meta's verification handshake
    POST /webhooks/whatsapp/webhook   signed webhook deliveries

This module only wires Sanic and Rasa to ``connectors.runtime``, which does
the work and is tested without either.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import Settings, get_settings
from connectors.pipeline import Context
from connectors.runtime import Reply, WhatsAppRuntime
from connectors.webhook import SIGNATURE_HEADER

log = logging.getLogger(__name__)


class CollectingOutput(OutputChannel):
    """Collects what the bot says for one citizen message, in order, untouched.

    Rasa's own CollectingOutputChannel splits texts on blank lines; WhatsApp
    takes up to 4,096 characters per message, so splitting is left to
    ``connectors.render``.
    """

    def __init__(self) -> None:
        self.messages: List[Dict[Text, Any]] = []

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.messages.append(dict(message))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        self.messages.append({"text": text})


class OutboxOutput(OutputChannel):
    """What Rasa says on its own (reminders, ``trigger_intent`` with output_channel=whatsapp).

    Goes through the same outbox as every reply; only for citizens who wrote
    before (the 24-hour window still applies).
    """

    def __init__(self, runtime: WhatsAppRuntime) -> None:
        self.runtime = runtime

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.runtime.send_bot_message(recipient_id, dict(message))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.runtime.send_bot_message(recipient_id, {"text": text})


class WhatsAppInput(InputChannel):
    """WhatsApp Cloud API webhooks in, persisted outbox out."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WhatsAppInput":
        if credentials:
            log.warning("whatsapp: credentials.yml values are ignored; use the WHATSAPP_* variables")
        return cls(get_settings())

    def __init__(self, settings: Optional[Settings] = None, **runtime_options: Any) -> None:
        self.runtime = WhatsAppRuntime(settings or get_settings(), **runtime_options)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return OutboxOutput(self.runtime)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("whatsapp_webhook", __name__)
        runtime = self.runtime
        channel_name = self.name()

        @bp.listener("before_server_start")
        async def start(app, _loop) -> None:
            # Rasa's turns run partly synchronously on this loop (NLU, tracker
            # store). Letting only a few run at once keeps the loop free to
            # acknowledge webhooks quickly while the bot is busy.
            bot_turns = asyncio.Semaphore(runtime.settings.whatsapp.bot_concurrency)

            async def ask_bot(ctx: Context) -> list:
                collector = CollectingOutput()
                async with bot_turns:
                    await on_new_message(UserMessage(
                        text=ctx.bot_text, output_channel=collector, sender_id=ctx.wa_id,
                        input_channel=channel_name, message_id=ctx.wamid))
                return collector.messages

            def bot_ready() -> bool:
                agent = getattr(app.ctx, "agent", None)
                return agent is not None and agent.is_ready()

            await runtime.start(ask_bot, bot_ready)

        @bp.listener("before_server_stop")
        async def stop(_app, _loop) -> None:
            await runtime.stop()

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            params = {key: request.args.get(key) for key in
                      ("hub.mode", "hub.verify_token", "hub.challenge")}
            return _text(runtime.verify(params))

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if runtime.too_large(_content_length(request)):
                return _text(Reply(413, "Payload Too Large"))
            body = await _read_body(request, runtime.settings.whatsapp.max_body_bytes)
            if body is None:
                return _text(Reply(413, "Payload Too Large"))
            return _text(await runtime.receive(body, request.headers.get(SIGNATURE_HEADER)))

        return bp


def _text(reply: Reply) -> HTTPResponse:
    return response.text(reply.body, status=reply.status)


def _content_length(request: Request) -> Optional[int]:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return None


async def _read_body(request: Request, limit: int) -> Optional[bytes]:
    """The raw body, or None as soon as it grows past ``limit`` (chunked uploads too)."""
    chunks, size = [], 0
    async for chunk in request.stream:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
