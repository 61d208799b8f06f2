"""The WhatsApp channel without the web framework: verify, receive, process, send.

``connectors.whatsapp`` maps Sanic requests onto :meth:`WhatsAppRuntime.verify`
and :meth:`WhatsAppRuntime.receive` and starts/stops the runtime with the
server. Receiving does only what must happen before the 200: check the
signature, parse the whole body, run the privacy gate, store each message
once (dedupe on the wamid) with its read receipt. Everything else (Rasa,
handover, replies) runs afterwards in per-conversation workers, so Meta gets
its answer fast and a slow bot never causes a redelivery.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import httpx
from sqlalchemy import select

from bot import outbox
from bot.db import conversations as repo
from bot.db.conversations import NewInbound
from bot.db.migrate import upgrade_to_head
from bot.db.models import Conversation
from bot.errors import ConfigError
from bot.settings import Settings
from connectors import routing
from connectors.dispatch import Dispatcher
from connectors.graph import GraphClient
from connectors.pipeline import AskBot, InboundProcessor, PipelineTexts
from connectors.render import HandoverSignal, Texts, render_bot_message
from connectors.sender import OutboxSender, SenderConfig, SenderThread
from connectors.storage import Store
from connectors.webhook import (
    IGNORED_KINDS, MalformedUpdate, Message, Update, parse_update, verify_signature,
)

log = logging.getLogger(__name__)

UNKNOWN_KIND_LABEL = "mogelijk persoonlijke gegevens"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, framework-free."""

    status: int
    body: str = ""


OK = Reply(200, "OK")


def _default_scan():
    from bot.privacy import KIND_LABELS_NL, scan   # the privacy gate (bot/privacy.py)
    return scan, KIND_LABELS_NL


def pipeline_texts(settings: Settings, kind_labels: Mapping[str, str]) -> PipelineTexts:
    texts = settings.texts or {}
    defaults = PipelineTexts()
    render_defaults = Texts()
    return PipelineTexts(
        disclaimer=settings.privacy.disclaimer,
        disclaimer_repeat_days=settings.privacy.disclaimer_repeat_days,
        privacy_reply=settings.privacy.reply or defaults.privacy_reply,
        kind_labels={**kind_labels, "unknown": UNKNOWN_KIND_LABEL},
        unsupported=texts.get("whatsapp_unsupported") or defaults.unsupported,
        error=texts.get("whatsapp_error") or defaults.error,
        render=Texts(choose=texts.get("whatsapp_choose") or render_defaults.choose,
                     list_button=texts.get("whatsapp_list_button") or render_defaults.list_button),
    )


def sender_config(settings: Settings) -> SenderConfig:
    wa = settings.whatsapp
    return SenderConfig(poll_interval_s=wa.poll_interval_s, retry_base_s=wa.retry_base_s,
                        retry_max_s=wa.retry_max_s, max_attempts=wa.max_attempts,
                        read_max_attempts=wa.read_max_attempts, concurrency=wa.send_concurrency)


def check_settings(settings: Settings) -> None:
    """Fail at start-up, naming the variable, rather than refuse every webhook later."""
    wa = settings.whatsapp
    missing = [name for name, value in (
        ("WHATSAPP_APP_SECRET", wa.app_secret), ("WHATSAPP_VERIFY_TOKEN", wa.verify_token),
        ("WHATSAPP_ACCESS_TOKEN", wa.access_token), ("WHATSAPP_PHONE_NUMBER_ID", wa.phone_number_id),
    ) if not str(value)]
    if missing:
        raise ConfigError(f"WhatsApp channel: set {', '.join(missing)}")


class WhatsAppRuntime:
    """Everything the channel owns in the Rasa process, built at start-up."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
                 scan: Callable | None = None, kind_labels: Mapping[str, str] | None = None,
                 migrate: bool = True) -> None:
        check_settings(settings)
        self.settings = settings
        self._transport = transport
        self._scan, self._kind_labels = (scan, kind_labels or {}) if scan else _default_scan()
        self._migrate = migrate
        self.store: Store | None = None
        self.sender_thread: SenderThread | None = None
        self.dispatcher: Dispatcher | None = None
        self.processor: InboundProcessor | None = None
        self._sweeper: asyncio.Task | None = None
        self._unlisten: Callable[[], None] | None = None
        self._ingesting: set[asyncio.Task] = set()

    # ----------------------------------------------------------- life cycle

    async def start(self, ask_bot: AskBot, bot_ready: Callable[[], bool] = lambda: True) -> None:
        url = self.settings.database.url
        if self._migrate:
            await asyncio.to_thread(upgrade_to_head, url)
        self.store = Store(url)
        wa = self.settings.whatsapp
        self.sender_thread = SenderThread(self.store, self._graph_client, sender_config(self.settings))
        self.processor = InboundProcessor(self.store, ask_bot, pipeline_texts(self.settings, self._kind_labels),
                                          bot_ready=bot_ready, max_attempts=wa.process_max_attempts)
        self.dispatcher = Dispatcher(self._pending_ids, self.processor.process)
        self.sender_thread.start()
        self._unlisten = outbox.on_commit(self.sender_thread.wake)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="balie-inbound-sweep")
        log.info("WhatsApp channel started (handover service %s)",
                 "on" if routing.handover_available() else "absent")

    async def stop(self) -> None:
        if self._unlisten:
            self._unlisten()
        if self._sweeper:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        if self._ingesting:
            await asyncio.wait(set(self._ingesting), timeout=10)
        if self.dispatcher:
            await self.dispatcher.stop()
        if self.sender_thread:
            await self.sender_thread.stop()
        if self.store:
            await asyncio.to_thread(self.store.close)

    @property
    def sender(self) -> OutboxSender | None:
        return self.sender_thread.sender if self.sender_thread else None

    def _graph_client(self) -> GraphClient:
        wa = self.settings.whatsapp
        return GraphClient(wa.api_url, wa.phone_number_id, str(wa.access_token),
                           timeout_s=wa.send_timeout_s, transport=self._transport)

    async def _sweep_forever(self) -> None:
        """Submit conversations with pending messages: at start (crash recovery) and now and then."""
        while True:
            try:
                await self.recover()
            except Exception as exc:
                log.error("inbound sweep failed (%s)", type(exc).__name__)
            await asyncio.sleep(self.settings.whatsapp.sweep_interval_s)

    async def recover(self) -> int:
        conversation_ids = await self.store.tx(repo.conversations_with_pending)
        idle = [cid for cid in conversation_ids if not self.dispatcher.busy(cid)]
        for conversation_id in idle:
            self.dispatcher.submit(conversation_id)
        if idle:
            log.info("resuming %d conversation(s) with pending messages", len(idle))
        return len(idle)

    async def send_bot_message(self, wa_id: str, message: dict) -> None:
        """Queue a message the bot sends outside a reply (Rasa's output channel for the API)."""
        items = render_bot_message(message, self.processor.texts.render)
        await self.store.tx(_enqueue_bot_message, wa_id, items, outbox.utcnow())

    async def _pending_ids(self, conversation_id: int) -> list[int]:
        return await self.store.tx(repo.pending_inbound_ids, conversation_id)

    # ----------------------------------------------------------------- HTTP

    def verify(self, params: Mapping[str, str]) -> Reply:
        """Meta's subscription handshake: echo the challenge for the right token."""
        token = str(self.settings.whatsapp.verify_token)
        given = params.get("hub.verify_token") or ""
        if (params.get("hub.mode") == "subscribe" and token
                and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))):
            return Reply(200, params.get("hub.challenge") or "")
        log.warning("webhook verification refused")
        return Reply(403, "Forbidden")

    def too_large(self, content_length: int | None) -> bool:
        return content_length is not None and content_length > self.settings.whatsapp.max_body_bytes

    async def receive(self, raw_body: bytes, signature: str | None) -> Reply:
        """Check, parse and store one webhook POST; the 200 means "stored, leave it to us"."""
        if len(raw_body) > self.settings.whatsapp.max_body_bytes:
            return Reply(413, "Payload Too Large")
        if not signature:
            log.warning("webhook without signature refused")
            return Reply(401, "Unauthorized")
        if not verify_signature(raw_body, signature, str(self.settings.whatsapp.app_secret)):
            log.warning("webhook with wrong signature refused")
            return Reply(403, "Forbidden")
        try:
            update = parse_update(json.loads(raw_body))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            log.warning("webhook refused: %s", exc if isinstance(exc, MalformedUpdate) else "not JSON")
            return Reply(400, "Bad Request")
        if self.store is None:
            return Reply(503, "Starting")
        # A separate task: if Meta hangs up, storing and scheduling still finish.
        task = asyncio.ensure_future(self._ingest(update))
        self._ingesting.add(task)
        task.add_done_callback(self._ingesting.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # database away: Meta retries, dedupe keeps it single
            log.error("webhook not stored (%s)", type(exc).__name__)
            return Reply(503, "Service Unavailable")

    async def _ingest(self, update: Update) -> Reply:
        ours = self.settings.whatsapp.phone_number_id
        messages = [m for m in update.messages if m.phone_number_id in (None, ours)]
        if len(messages) < len(update.messages):
            log.warning("%d message(s) for another phone number ignored", len(update.messages) - len(messages))
        prepared = [self._prepare(message, update) for message in messages]
        new_conversations: list[int] = []
        for item in prepared:
            # "typing..." only when an answer will follow (not for service notices)
            typing = False if item.kind in IGNORED_KINDS else _typing_rule
            stored = await self.store.call(repo.store_inbound, item, typing=typing)
            log.info("inbound %s (%s)%s%s", item.wamid, item.kind,
                     " privacy=" + ",".join(item.privacy_kinds) if item.privacy_kinds else "",
                     " duplicate" if stored.duplicate else "")
            if not stored.duplicate and stored.conversation_id not in new_conversations:
                new_conversations.append(stored.conversation_id)
        await self._store_statuses(update)
        for conversation_id in new_conversations:
            self.dispatcher.submit(conversation_id)
        return OK

    def _prepare(self, message: Message, update: Update) -> NewInbound:
        """The storable form: text through the privacy gate, only the redacted text kept."""
        text, kinds = message.text, ()
        if message.kind == "text":
            text, kinds = self._gate(message.text or "")
        return NewInbound(wamid=message.wamid, wa_id=message.wa_id, kind=message.kind, text=text,
                          reply_id=message.reply_id, privacy_kinds=kinds, sent_at=message.sent_at,
                          profile_name=update.profile_name(message.wa_id))

    def _gate(self, text: str) -> tuple[str | None, Sequence[str]]:
        try:
            result = self._scan(text)
        except Exception as exc:   # fail closed: keep nothing of a text we could not check
            log.error("privacy scan failed (%s); text dropped", type(exc).__name__)
            return None, ("unknown",)
        return result.redacted, tuple(result.kinds)

    async def _store_statuses(self, update: Update) -> None:
        ours = self.settings.whatsapp.phone_number_id
        for status in update.statuses:
            if status.phone_number_id not in (None, ours):
                continue
            new = await self.store.call(
                repo.store_status, status.wamid, status.status, status.recipient_id,
                status.occurred_at, status.error_code, status.error_title)
            if status.status == "failed":
                log.warning("status %s failed: %s", status.wamid, status.error_code)
            elif new:
                log.debug("status %s %s", status.wamid, status.status)


def _enqueue_bot_message(session, wa_id: str, items: list, now) -> None:
    """A message Rasa sends on its own (reminder, trigger_intent): straight into the outbox."""
    conversation_id = session.execute(
        select(Conversation.id).where(Conversation.wa_id == wa_id)).scalar()
    if conversation_id is None:
        log.warning("bot message for an unknown conversation dropped")
        return
    for item in items:
        if isinstance(item, HandoverSignal):
            routing.request_handover(session, conversation_id, item.reason, now)
        else:
            outbox.enqueue(session, conversation_id, item.kind, item.body, author="bot", now=now)


def _typing_rule(session, conversation_id: int) -> bool:
    # "typing..." only when the bot will answer; an agent may take minutes.
    return routing.current_state(session, conversation_id) == routing.BOT
