"""What happens to one stored citizen message, after the webhook was acknowledged.

One way through: privacy gate (applied when the message was stored) ->
handover state -> Rasa -> outbox. Each message ends in exactly one
transaction that writes all its replies to the outbox *and* marks the
message done; a crash before that commit means the message is processed
again after the restart, never that a reply is sent twice.

Rasa is reached through ``ask_bot`` (injected by ``connectors.whatsapp``), so
this module runs and is tested without Rasa installed.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Sequence

from bot.db import conversations as repo
from bot.db.models import Conversation
from bot.outbox import enqueue, utcnow
from connectors import routing
from connectors.render import HandoverSignal, Outgoing, Texts, render_bot_messages, text_messages
from connectors.storage import Store
from connectors.webhook import IGNORED_KINDS, READABLE_KINDS

log = logging.getLogger(__name__)

DEFAULT_UNSUPPORTED = ("Sorry, ik kan alleen tekst lezen. Foto's, spraakberichten, locaties en "
                       "andere bestanden kan ik niet openen. Wilt u uw vraag typen?")
DEFAULT_ERROR = ("Sorry, het lukt nu niet om uw bericht te beantwoorden. "
                 "Wilt u het later nog een keer proberen?")
DEFAULT_PRIVACY = ("WhatsApp is niet bedoeld voor persoonlijke gegevens. Wij hebben uit uw "
                   "bericht weggehaald: {kinds}. Een medewerker kijkt met u mee.")


@dataclass(frozen=True)
class PipelineTexts:
    """Citizen-facing words, from ``balie.yml`` (privacy:, texts:) with B1 defaults."""

    disclaimer: str = ""
    disclaimer_repeat_days: int = 30
    privacy_reply: str = DEFAULT_PRIVACY
    kind_labels: dict = field(default_factory=dict)     # privacy kind -> Dutch label
    unsupported: str = DEFAULT_UNSUPPORTED
    error: str = DEFAULT_ERROR
    render: Texts = Texts()

    def privacy_text(self, kinds: Sequence[str]) -> str:
        labels = [self.kind_labels.get(kind, kind) for kind in kinds]
        return self.privacy_reply.format(kinds=", ".join(labels))


@dataclass(frozen=True)
class Context:
    """A pending inbound message and what deciding its route needs (no raw text)."""

    inbound_id: int
    conversation_id: int
    wa_id: str
    wamid: str
    kind: str
    text: str | None            # redacted text, or a tapped button's title
    reply_id: str | None
    privacy_kinds: tuple[str, ...]
    state: str                  # handover state: "bot" or a human's side

    @property
    def bot_text(self) -> str:
        """What Rasa gets: a tapped button's payload (``/intent{...}``) or the text."""
        if self.kind in ("button", "list") and self.reply_id and self.reply_id.startswith("/"):
            return self.reply_id
        return self.text or ""


@dataclass(frozen=True)
class Plan:
    route: str                                  # bot, agent, privacy, unsupported, ignored, error
    messages: tuple[Outgoing, ...] = ()
    handover: str | None = None                 # reason, when a person should take over
    to_agent: bool = False                      # tell the agent side about the message
    state: str = "done"


AskBot = Callable[[Context], Awaitable[list[dict]]]


# ------------------------------------------------------------------- deciding

def load_context(session, inbound_id: int) -> Context | None:
    """The message and its conversation's handover state; None when already processed."""
    message = repo.get_inbound(session, inbound_id)
    if message is None or message.state != "pending":
        return None
    conversation = session.get(Conversation, message.conversation_id)
    kinds = tuple(k for k in (message.privacy_kinds or "").split(",") if k)
    return Context(message.id, conversation.id, conversation.wa_id, message.wamid, message.kind,
                   message.text, message.reply_id, kinds,
                   routing.current_state(session, conversation.id))


def plan_without_bot(ctx: Context, texts: PipelineTexts) -> Plan | None:
    """The route for messages Rasa must not see; None when the bot should answer."""
    with_agent = ctx.state != routing.BOT
    if ctx.kind in IGNORED_KINDS:
        return Plan("ignored")
    if ctx.kind not in READABLE_KINDS:
        return Plan("unsupported", tuple(text_messages(texts.unsupported)), to_agent=with_agent)
    if ctx.privacy_kinds:
        return Plan("privacy", tuple(text_messages(texts.privacy_text(ctx.privacy_kinds))),
                    handover=None if with_agent else "privacy", to_agent=with_agent)
    if with_agent:
        return Plan("agent", to_agent=True)
    if not ctx.bot_text.strip():
        return Plan("ignored")
    return None


def plan_from_bot(bot_messages: list[dict], texts: PipelineTexts) -> Plan:
    rendered = render_bot_messages(bot_messages, texts.render)
    outgoing = tuple(item for item in rendered if isinstance(item, Outgoing))
    signals = [item.reason for item in rendered if isinstance(item, HandoverSignal)]
    return Plan("bot", outgoing, handover=signals[0] if signals else None)


# ------------------------------------------------------------------- applying

def apply_plan(session, ctx: Context, plan: Plan, texts: PipelineTexts, now: datetime) -> bool:
    """Write the replies and mark the message processed, in the caller's transaction.

    Returns False (and writes nothing) when the message was already processed.
    """
    if plan.route == "bot" and routing.current_state(session, ctx.conversation_id) != routing.BOT:
        # A person took over while Rasa was thinking: the bot's answer is dropped.
        plan = Plan("agent", to_agent=True)
    if not repo.mark_processed(session, ctx.inbound_id, plan.route, now, state=plan.state):
        return False
    seq = 1      # 0 is the read receipt
    if (plan.messages or plan.handover) and _disclaimer_due(session, ctx, texts, now):
        enqueue(session, ctx.conversation_id, "text", text_messages(texts.disclaimer)[0].body,
                author="system", now=now, inbound_id=ctx.inbound_id, seq=seq)
        session.get(Conversation, ctx.conversation_id).disclaimer_sent_at = now
        seq += 1
    for message in plan.messages:
        author = "bot" if plan.route == "bot" else "system"
        enqueue(session, ctx.conversation_id, message.kind, message.body, author=author, now=now,
                inbound_id=ctx.inbound_id, seq=seq)
        seq += 1
    if plan.handover:
        routing.request_handover(session, ctx.conversation_id, plan.handover, now, ctx.inbound_id)
    if plan.to_agent:
        routing.note_citizen_message(session, ctx.conversation_id, ctx.inbound_id, now)
    return True


def _disclaimer_due(session, ctx: Context, texts: PipelineTexts, now: datetime) -> bool:
    """First answer ever, or the first after ``disclaimer_repeat_days`` of silence."""
    if not texts.disclaimer.strip():
        return False
    conversation = session.get(Conversation, ctx.conversation_id)
    if conversation.disclaimer_sent_at is None:
        return True
    previous = repo.previous_inbound_at(session, ctx.conversation_id, ctx.inbound_id)
    silence = timedelta(days=texts.disclaimer_repeat_days)
    return previous is None or now - previous >= silence


# ------------------------------------------------------------------ processor

class InboundProcessor:
    """Processes stored messages one by one (the dispatcher keeps per-chat order)."""

    def __init__(self, store: Store, ask_bot: AskBot, texts: PipelineTexts,
                 bot_ready: Callable[[], bool] = lambda: True, max_attempts: int = 3,
                 retry_delay_s: float = 1.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.ask_bot = ask_bot
        self.texts = texts
        self.bot_ready = bot_ready
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.clock = clock

    async def process(self, inbound_id: int) -> str | None:
        """Route one message; returns the route taken, None if there was nothing to do."""
        while True:
            ctx = await self.store.tx(load_context, inbound_id)
            if ctx is None:
                return None
            try:
                plan = await self._plan(ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # Rasa or the action server failed: retry, then apologise
                plan = await self._after_failure(ctx, exc)
                if plan is None:
                    await asyncio.sleep(self.retry_delay_s)
                    continue
            done = await self.store.tx(apply_plan, ctx, plan, self.texts, self.clock())
            log.info("inbound %s (%s) -> %s%s, %d message(s)", ctx.wamid, ctx.kind, plan.route,
                     f" handover={plan.handover}" if plan.handover else "", len(plan.messages))
            return plan.route if done else None

    async def _plan(self, ctx: Context) -> Plan:
        plan = plan_without_bot(ctx, self.texts)
        if plan is not None:
            return plan
        await self._wait_for_bot()
        return plan_from_bot(await self.ask_bot(ctx), self.texts)

    async def _wait_for_bot(self) -> None:
        # After a restart, pending messages are picked up before Rasa has
        # loaded its model; the agent would silently drop them.
        while not self.bot_ready():
            await asyncio.sleep(0.2)

    async def _after_failure(self, ctx: Context, exc: Exception) -> Plan | None:
        attempts = await self.store.tx(repo.record_attempt_failure, ctx.inbound_id, type(exc).__name__)
        log.warning("inbound %s: bot failed (%s), attempt %d of %d", ctx.wamid,
                    type(exc).__name__, attempts, self.max_attempts)
        if attempts < self.max_attempts:
            return None
        return Plan("error", tuple(text_messages(self.texts.error)), state="failed")
