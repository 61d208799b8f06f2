"""The channel without Sanic and Rasa (connectors.runtime + pipeline + dispatch + sender).

A fake bot stands in for Rasa and httpx.MockTransport for the Graph API, so
every path (privacy gate, disclaimer, handover, retries of the bot, crash
recovery) is checked quickly on SQLite and PostgreSQL. The same behaviour
over HTTP against the real Rasa server is in test_channel_e2e.py.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from helpers import whatsapp as wa
from helpers.db import db_url, pg_database_url, sessions  # noqa: F401  (fixtures)
from bot.db.models import Conversation, ConversationEvent, InboundMessage, OutboxMessage
from bot.outbox import utcnow
from bot.settings import load_settings
from connectors import routing
from connectors.runtime import WhatsAppRuntime
from simulator.graph import validate_send

SECRET, VERIFY = "test-app-secret", "test-verify-token"
WA = "31600000001"
DISCLAIMER_START = "Welkom bij de WhatsApp-service"


def settings_for(url: str, disclaimer: str | None = None, **whatsapp):
    settings = load_settings(environ={
        "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY,
        "WHATSAPP_ACCESS_TOKEN": "token", "WHATSAPP_PHONE_NUMBER_ID": wa.PHONE_NUMBER_ID,
        "WHATSAPP_API_URL": "https://graph.example/v24.0", "BALIE_DATABASE_URL": url})
    fast = dict(retry_base_s=0.01, retry_max_s=0.05, poll_interval_s=0.05, sweep_interval_s=60)
    privacy = settings.privacy if disclaimer is None else dataclasses.replace(settings.privacy, disclaimer=disclaimer)
    return dataclasses.replace(settings, privacy=privacy,
                               whatsapp=dataclasses.replace(settings.whatsapp, **{**fast, **whatsapp}))


class FakeBot:
    """Answers like the real bot would, and remembers what it was asked."""

    def __init__(self):
        self.asked: list[str] = []
        self.fail_times = 0
        self.delay_s = 0.0

    async def __call__(self, ctx):
        self.asked.append(ctx.bot_text)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("action server down")
        text = ctx.bot_text
        if text == "medewerker":
            return [{"text": "Ik zet u door naar een medewerker."},
                    {"custom": {"handover": {"reason": "ask_human"}}}]
        if text == "kies":
            return [{"text": "Waar gaat uw vraag over?", "buttons": [
                {"title": "Paspoort", "payload": '/choose_faq{"faq_id":"paspoort-aanvragen"}'},
                {"title": "Rijbewijs", "payload": '/choose_faq{"faq_id":"rijbewijs"}'}]}]
        return [{"text": f"Antwoord op: {text}"}]


class Graph:
    def __init__(self):
        self.sent: list[dict] = []
        self.fail: list[int] = []

    def __call__(self, request):
        payload = json.loads(request.content)
        validate_send(payload)
        if self.fail and payload.get("status") != "read":
            code = self.fail.pop(0)
            from simulator.graph import error_body, KNOWN_ERRORS
            return httpx.Response(KNOWN_ERRORS[code][0], json=error_body(code))
        self.sent.append(payload)
        if payload.get("status") == "read":
            return httpx.Response(200, json={"success": True})
        return httpx.Response(200, json={"messages": [{"id": f"wamid.OUT{len(self.sent)}"}]})

    def replies(self, to=None):
        out = []
        for p in self.sent:
            if p.get("status") == "read" or (to and p["to"] != to):
                continue
            out.append(p["text"]["body"] if p["type"] == "text" else p["interactive"]["body"]["text"])
        return out

    def reads(self):
        return [p for p in self.sent if p.get("status") == "read"]


class Harness:
    def __init__(self, url, bot=None, **whatsapp):
        self.url = url
        self.bot = bot or FakeBot()
        self.graph = Graph()
        self.settings = settings_for(url, **whatsapp)
        self.ready = True
        self.runtime = None

    async def __aenter__(self):
        self.runtime = WhatsAppRuntime(self.settings, transport=httpx.MockTransport(self.graph))
        await self.runtime.start(self.bot, lambda: self.ready)
        return self

    async def __aexit__(self, *exc):
        await self.runtime.stop()

    async def post(self, payload, secret=SECRET, signature=None):
        body = payload if isinstance(payload, bytes) else wa.encode(payload)
        header = signature if signature is not None else (wa.sign(body, secret) if secret else None)
        return await self.runtime.receive(body, header)

    async def settle(self, timeout=10.0):
        """Wait until every message is processed and the outbox is empty."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            await self.runtime.dispatcher.idle()
            busy = await self.runtime.store.tx(lambda s: s.execute(select(OutboxMessage.id).where(
                OutboxMessage.state == "pending")).first() or s.execute(select(InboundMessage.id).where(
                InboundMessage.state == "pending")).first())
            if busy is None and not self.runtime.sender._in_flight:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("channel did not settle")


def fresh(payload):
    """A recorded payload with today's timestamps (the window is 24 hours)."""
    now = int(utcnow().timestamp())
    for entry in payload["entry"]:
        for change in entry["changes"]:
            for i, message in enumerate(change["value"].get("messages", [])):
                message["timestamp"] = str(now + i)
    return payload


def run(coro):
    return asyncio.run(coro)


def replies_without_disclaimer(graph, to=None):
    return [r for r in graph.replies(to) if not r.startswith(DISCLAIMER_START)]


# ------------------------------------------------------------------- HTTP rules

def test_verification_handshake(tmp_path):
    runtime = WhatsAppRuntime(settings_for(f"sqlite:///{tmp_path}/x.db"))
    ok = runtime.verify({"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"})
    assert (ok.status, ok.body) == (200, "42")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"},
                   {}):
        assert runtime.verify(params).status == 403


def test_missing_settings_fail_fast(tmp_path):
    settings = settings_for(f"sqlite:///{tmp_path}/x.db")
    broken = dataclasses.replace(settings, whatsapp=dataclasses.replace(settings.whatsapp, app_secret=""))
    with pytest.raises(Exception, match="WHATSAPP_APP_SECRET"):
        WhatsAppRuntime(broken)


@pytest.mark.parametrize("kind,expected", [("missing", 401), ("wrong", 403), ("stale", 403), ("bad_json", 400),
                                           ("bad_shape", 400), ("too_large", 413), ("not_utf8", 400)])
def test_refused_webhooks_store_nothing(tmp_path, kind, expected):
    url = f"sqlite:///{tmp_path}/x.db"

    async def go():
        async with Harness(url) as h:
            payload = wa.text(WA, "Hallo")
            body = wa.encode(payload)
            if kind == "missing":
                reply = await h.post(body, secret=None)
            elif kind == "wrong":
                reply = await h.post(body, signature=wa.sign(body, "not-the-secret"))
            elif kind == "stale":   # a real signature, but of an earlier body
                reply = await h.post(wa.encode(wa.text(WA, "Hallo!")), signature=wa.sign(body, SECRET))
            elif kind == "bad_json":
                reply = await h.post(b"{not json")
            elif kind == "bad_shape":
                reply = await h.post({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": 1}]}]})
            elif kind == "not_utf8":
                reply = await h.post(b"\xff\xfe{}")
            else:
                reply = await h.post(b" " * (1024 * 1024 + 1))
            await h.settle()
            count = await h.runtime.store.tx(lambda s: len(s.execute(select(InboundMessage)).all()))
            return reply, count, h.graph.sent

    reply, count, sent = run(go())
    assert reply.status == expected and count == 0 and sent == []


# ---------------------------------------------------------------- the happy path

def test_text_gets_read_receipt_disclaimer_and_answer(db_url):
    async def go():
        async with Harness(db_url) as h:
            payload = wa.text(WA, "Wanneer wordt het afval opgehaald?")
            assert (await h.post(payload)).status == 200
            await h.settle()
            return h

    h = run(go())
    [read] = h.graph.reads()
    assert read["message_id"] == wa.wamids(wa.text(WA, "x", wamid="w"))[0] or read["typing_indicator"] == {"type": "text"}
    replies = h.graph.replies(WA)
    assert replies[0].startswith(DISCLAIMER_START)
    assert replies[1:] == ["Antwoord op: Wanneer wordt het afval opgehaald?"]
    assert h.graph.sent[0].get("status") == "read"        # read receipt goes first


def test_disclaimer_only_once_and_again_after_silence(db_url, sessions):
    async def go():
        async with Harness(db_url) as h:
            await h.post(wa.text(WA, "een"))
            await h.settle()
            await h.post(wa.text(WA, "twee"))
            await h.settle()
            # 31 days of silence: move the history back
            old = utcnow() - timedelta(days=31)
            await h.runtime.store.tx(lambda s: (s.execute(update(InboundMessage).values(received_at=old)),
                                                s.execute(update(Conversation).values(disclaimer_sent_at=old))))
            await h.post(wa.text(WA, "drie"))
            await h.settle()
            return h.graph.replies(WA)

    replies = run(go())
    print("REPLIES", [r[:20] for r in replies])
    assert [r.startswith(DISCLAIMER_START) for r in replies] == [True, False, False, True, False]
    with sessions() as s:
        assert s.execute(select(Conversation.disclaimer_sent_at)).scalar() is not None


def test_button_reply_sends_payload_to_bot(db_url):
    async def go():
        async with Harness(db_url) as h:
            await h.post(wa.text(WA, "kies"))
            await h.settle()
            payload = '/choose_faq{"faq_id":"paspoort-aanvragen"}'
            await h.post(wa.button_reply(WA, payload, "Paspoort"))
            await h.post(wa.list_reply(WA, '/choose_faq{"faq_id":"rijbewijs"}', "Rijbewijs"))
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == ["kies", '/choose_faq{"faq_id":"paspoort-aanvragen"}', '/choose_faq{"faq_id":"rijbewijs"}']
    interactive = [p for p in h.graph.sent if p.get("type") == "interactive"]
    assert interactive[0]["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in interactive[0]["interactive"]["action"]["buttons"]][0].startswith("/choose_faq")


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker", "location",
                                  "contacts", "reaction", "unsupported"])
def test_non_text_gets_polite_reply_and_never_reaches_bot(tmp_path, kind):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db") as h:
            assert (await h.post(wa.media(WA, kind))).status == 200
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == []
    [reply] = replies_without_disclaimer(h.graph, WA)
    assert "alleen tekst" in reply and " u " in f" {reply} "


def test_system_message_is_ignored(tmp_path):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db") as h:
            assert (await h.post(fresh(wa.fixture("system")))).status == 200
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == [] and h.graph.replies() == []
    assert [r.get("typing_indicator") for r in h.graph.reads()] == [None]   # no "typing..." without an answer


def test_batch_of_three_entries_two_messages_each(db_url):
    async def go():
        async with Harness(db_url, disclaimer="") as h:
            assert (await h.post(fresh(wa.fixture("batch")))).status == 200
            await h.settle()
            return h

    h = run(go())
    assert len(replies_without_disclaimer(h.graph)) == 6
    for e in range(3):
        assert replies_without_disclaimer(h.graph, f"3160000010{e}") == [
            f"Antwoord op: Vraag 1 van inwoner {e}", f"Antwoord op: Vraag 2 van inwoner {e}"]


def test_same_webhook_three_times_concurrently_one_reply(db_url):
    async def go():
        async with Harness(db_url) as h:
            payload = wa.text(WA, "Hallo")
            replies = await asyncio.gather(*(h.post(payload) for _ in range(3)))
            await h.settle()
            await h.post(payload)       # and once more, later (Meta retries for days)
            await h.settle()
            return h, replies

    h, replies = run(go())
    assert [r.status for r in replies] == [200, 200, 200]
    assert replies_without_disclaimer(h.graph) == ["Antwoord op: Hallo"]
    assert len(h.graph.reads()) == 1 and h.bot.asked == ["Hallo"]


def test_fifty_messages_answered_in_order(db_url):
    async def go():
        async with Harness(db_url) as h:
            h.bot.delay_s = 0.001
            for i in range(50):
                await h.post(wa.text(WA, f"vraag {i}"))
            await h.settle(timeout=60)
            return h

    h = run(go())
    assert replies_without_disclaimer(h.graph, WA) == [f"Antwoord op: vraag {i}" for i in range(50)]


def test_conversations_are_handled_concurrently(tmp_path):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db", disclaimer="") as h:
            h.bot.delay_s = 0.3
            start = asyncio.get_running_loop().time()
            for n in range(10):
                await h.post(wa.text(f"316000002{n:02d}", "Hallo"))
            await h.settle()
            return asyncio.get_running_loop().time() - start

    assert run(go()) < 2.0      # ten bots of 0.3 s side by side, not 3 s in a row


# ----------------------------------------------------------------- privacy gate

def test_privacy_hit_is_redacted_not_sent_to_bot_and_handed_over(db_url, sessions):
    async def go():
        async with Harness(db_url) as h:
            await h.post(wa.text(WA, "Mijn BSN is 111222333, wanneer is mijn paspoort klaar?"))
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == []
    replies = replies_without_disclaimer(h.graph, WA)
    assert "burgerservicenummer" in replies[0]
    with sessions() as s:
        row = s.execute(select(InboundMessage)).scalar_one()
        assert "111222333" not in (row.text or "") and row.privacy_kinds == "bsn"
        assert row.routed_to == "privacy"
        everything = " ".join(r.body for r in s.execute(select(OutboxMessage)).scalars())
        assert "111222333" not in everything
    assert routing.handover_available()
    with sessions() as s:
        from handover.models import HandoverState
        assert s.execute(select(HandoverState.state, HandoverState.reason)).one() == ("queued", "privacy")


def test_privacy_text_never_logged(db_url, caplog):
    async def go():
        async with Harness(db_url) as h:
            await h.post(wa.text(WA, "Mijn IBAN is NL91ABNA0417164300 en mail a.b@example.nl"))
            await h.post(wa.text(WA, "gewone vraag zonder gegevens"))
            await h.settle()

    caplog.set_level("DEBUG")
    run(go())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "NL91ABNA0417164300" not in logged and "gewone vraag" not in logged
    assert SECRET not in logged and VERIFY not in logged


def test_failing_privacy_scan_fails_closed(tmp_path, sessions=None):
    def broken(text):
        raise RuntimeError("detector crashed")

    async def go():
        h = Harness(f"sqlite:///{tmp_path}/x.db")
        h.runtime = WhatsAppRuntime(h.settings, transport=httpx.MockTransport(h.graph), scan=broken,
                                    kind_labels={})
        await h.runtime.start(h.bot, lambda: True)
        try:
            await h.post(wa.text(WA, "iets"))
            await h.settle()
            texts = await h.runtime.store.tx(lambda s: s.execute(select(InboundMessage.text)).scalars().all())
        finally:
            await h.runtime.stop()
        return h, texts

    h, texts = run(go())
    assert texts == [None] and h.bot.asked == []
    assert "mogelijk persoonlijke gegevens" in replies_without_disclaimer(h.graph)[0]


# ------------------------------------------------------------------------ handover

def test_bot_handover_signal_queues_and_later_messages_skip_bot(db_url, sessions):
    async def go():
        async with Harness(db_url) as h:
            await h.post(wa.text(WA, "medewerker"))
            await h.settle()
            await h.post(wa.text(WA, "Hallo? Is daar iemand?"))
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == ["medewerker"]
    replies = replies_without_disclaimer(h.graph, WA)
    assert replies[0] == "Ik zet u door naar een medewerker."
    assert "medewerker" in replies[1]            # the handover service's queue message
    with sessions() as s:
        from handover.models import HandoverState
        state = s.execute(select(HandoverState)).scalar_one()
        assert state.state == "queued" and state.last_inbound_id is not None
        routes = s.execute(select(InboundMessage.routed_to).order_by(InboundMessage.id)).scalars().all()
        assert routes == ["bot", "agent"]
        typing = [json.loads(r.body).get("typing_indicator") for r in s.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "read").order_by(OutboxMessage.id)).scalars()]
        assert typing == [{"type": "text"}, None]    # no "typing..." while waiting for a person


def test_without_handover_service_signal_is_stored(tmp_path, monkeypatch, sessions=None):
    monkeypatch.setattr(routing, "_core", None)

    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db") as h:
            await h.post(wa.text(WA, "medewerker"))
            await h.settle()
            events = await h.runtime.store.tx(lambda s: s.execute(
                select(ConversationEvent.kind, ConversationEvent.detail)).all())
            return h, events

    h, events = run(go())
    assert events == [("handover_requested", "ask_human")]
    assert replies_without_disclaimer(h.graph) == ["Ik zet u door naar een medewerker."]


# ------------------------------------------------------------------ failures

def test_graph_errors_retried_then_delivered_once(db_url):
    async def go():
        async with Harness(db_url, disclaimer="") as h:
            h.graph.fail = [131000, 131000, 130429]
            await h.post(wa.text(WA, "Hallo"))
            await h.settle()
            return h

    h = run(go())
    assert replies_without_disclaimer(h.graph) == ["Antwoord op: Hallo"]


def test_outside_window_error_recorded_not_retried(db_url, sessions):
    async def go():
        async with Harness(db_url, disclaimer="") as h:
            h.graph.fail = [131047]
            await h.post(wa.text(WA, "Hallo"))
            await h.settle()
            return h

    h = run(go())
    assert h.graph.replies() == []
    with sessions() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.kind == "text")).scalar_one()
        assert (row.state, row.error_code, row.error_title, row.attempts) == (
            "failed", 131047, "Re-engagement message", 1)


def test_bot_failure_is_retried_then_apologised(tmp_path, sessions=None):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db", disclaimer="") as h:
            h.runtime.processor.retry_delay_s = 0.01
            h.bot.fail_times = 1
            await h.post(wa.text(WA, "een"))
            await h.settle()
            h.bot.fail_times = 5
            await h.post(wa.text(WA, "twee"))
            await h.settle()
            return h

    h = run(go())
    replies = h.graph.replies()
    assert replies[0] == "Antwoord op: een"
    assert replies[1].startswith("Sorry") and len(replies) == 2


def test_pending_messages_are_processed_after_a_restart(db_url, sessions):
    """A crash after the ack: the message is stored, the bot never ran."""
    async def crash_after_ack():
        async with Harness(db_url) as h:
            h.ready = False           # the bot never gets to it before the "crash"
            await h.post(wa.text(WA, "Hallo"))
            await asyncio.sleep(0.1)
            for task in list(h.runtime.dispatcher._workers.values()):
                task.cancel()

    async def restart():
        async with Harness(db_url) as h:
            await h.settle()
            return h

    run(crash_after_ack())
    with sessions() as s:
        assert s.execute(select(InboundMessage.state)).scalar() == "pending"
    h = run(restart())
    assert replies_without_disclaimer(h.graph) == ["Antwoord op: Hallo"]


def test_waits_for_the_bot_to_be_ready(tmp_path):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db", disclaimer="") as h:
            h.ready = False
            await h.post(wa.text(WA, "Hallo"))
            await asyncio.sleep(0.3)
            assert h.bot.asked == []
            h.ready = True
            await h.settle()
            return h

    assert run(go()).graph.replies() == ["Antwoord op: Hallo"]


def test_statuses_are_stored(db_url, sessions):
    async def go():
        async with Harness(db_url, disclaimer="") as h:
            await h.post(wa.text(WA, "Hallo"))
            await h.settle()
            reply = await h.post(wa.status("wamid.OUT2", "delivered", WA))
            await h.post(wa.status("wamid.OUT2", "read", WA))
            return reply

    assert run(go()).status == 200
    with sessions() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.wamid == "wamid.OUT2")).scalar_one()
        assert row.delivery == "read"


def test_message_for_another_number_is_ignored(tmp_path):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db") as h:
            assert (await h.post(wa.text(WA, "Hallo", phone_number_id="999"))).status == 200
            await h.settle()
            return h

    h = run(go())
    assert h.bot.asked == [] and h.graph.sent == []


def test_bot_message_outside_a_reply_goes_through_the_outbox(tmp_path):
    async def go():
        async with Harness(f"sqlite:///{tmp_path}/x.db", disclaimer="") as h:
            await h.post(wa.text(WA, "Hallo"))
            await h.settle()
            await h.runtime.send_bot_message(WA, {"text": "Herinnering: uw afspraak is morgen."})
            await h.runtime.send_bot_message("31699999999", {"text": "aan niemand"})
            await h.settle()
            return h

    assert run(go()).graph.replies() == ["Antwoord op: Hallo", "Herinnering: uw afspraak is morgen."]
