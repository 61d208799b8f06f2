"""The outbox sender (connectors.sender) against httpx.MockTransport, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from helpers.db import db_url, pg_database_url, sessions  # noqa: F401  (fixtures)
from bot.db import conversations as repo
from bot.db.models import Conversation, OutboxMessage
from bot.outbox import enqueue, enqueue_read, enqueue_text, on_commit, utcnow
from connectors.graph import GraphClient, RateLimited, ServerError
from connectors.sender import (
    Job, OutboxSender, SenderConfig, backoff_delay, build_payload, classify,
)
from connectors.storage import Store
from simulator.graph import error_body, validate_send

FAST = SenderConfig(poll_interval_s=0.02, retry_base_s=0.01, retry_max_s=0.05, max_attempts=4,
                    read_max_attempts=2)


class FakeGraph:
    """Records sends; ``script`` answers (status, code) per call, then 200."""

    def __init__(self, script=()):
        self.script = list(script)
        self.sent: list[dict] = []
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        payload = json.loads(request.content)
        validate_send(payload)      # Meta's limits, as the fake Graph API checks them
        if self.script:
            status, code = self.script.pop(0)
            if status == "timeout":
                raise httpx.ReadTimeout("slow")
            return httpx.Response(status, json=error_body(code))
        self.sent.append(payload)
        if payload.get("status") == "read":
            return httpx.Response(200, json={"success": True})
        return httpx.Response(200, json={"messages": [{"id": f"wamid.OUT{len(self.sent)}"}]})

    def texts(self, to=None):
        return [p["text"]["body"] for p in self.sent if p.get("type") == "text" and to in (None, p["to"])]


def conversation(sessions, wa_id="31600000001", last_inbound=timedelta(minutes=1)) -> int:
    cid = repo.get_or_create_conversation(sessions, wa_id)
    with sessions.begin() as s:
        s.get(Conversation, cid).last_inbound_at = utcnow() - last_inbound if last_inbound else None
    return cid


def add_texts(sessions, cid, *texts):
    with sessions.begin() as s:
        return [enqueue_text(s, cid, t).id for t in texts]


def rows(sessions):
    with sessions() as s:
        return {r.id: r for r in s.execute(select(OutboxMessage)).scalars()}


async def drain(db_url, graph, config=FAST, timeout=10.0):
    store = Store(db_url)
    client = GraphClient("https://graph.example/v24.0", "1234567890", "token", transport=httpx.MockTransport(graph))
    sender = OutboxSender(store, client, config)
    try:
        await _until_quiet(sender, timeout)
    finally:
        await client.aclose()
        store.close()


async def _until_quiet(sender, timeout):
    # Like the sender's loop: dispatch, wait for sends, repeat until nothing is pending.
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        await sender.drain(timeout_s=1)
        pending = await sender.store.tx(lambda s: s.execute(
            select(OutboxMessage.id).where(OutboxMessage.state == "pending")).first())
        if pending is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("outbox did not empty")


# ----------------------------------------------------------------- pure parts

def test_backoff_grows_with_jitter_and_cap():
    assert backoff_delay(1, 0.5, 60, rand=lambda: 1.0) == 0.5
    assert backoff_delay(3, 0.5, 60, rand=lambda: 1.0) == 2.0
    assert backoff_delay(3, 0.5, 60, rand=lambda: 0.0) == 1.0
    assert backoff_delay(20, 0.5, 60, rand=lambda: 1.0) == 60


def test_payload_adds_recipient_except_for_read():
    job = Job(1, 1, "31600000001", "text", {"type": "text", "text": {"body": "x"}}, 0, None)
    assert build_payload(job)["to"] == "31600000001"
    assert build_payload(job)["messaging_product"] == "whatsapp"
    read = Job(1, 1, "31600000001", "read", {"status": "read", "message_id": "wamid.A"}, 0, None)
    assert "to" not in build_payload(read) and validate_send(build_payload(read)) == "read"


def test_classify_retry_then_give_up():
    job = Job(1, 1, "316", "text", {}, 0, None)
    assert classify(job, ServerError(131000, "x", 500), FAST).state == "retry"
    last = Job(1, 1, "316", "text", {}, FAST.max_attempts - 1, None)
    assert classify(last, ServerError(131000, "x", 500), FAST).state == "failed"
    slow = classify(job, RateLimited(130429, "x", 429, retry_after=0.04), FAST)
    assert slow.delay_s >= 0.04


# ------------------------------------------------------------------ with a DB

def test_sends_in_order_and_records_wamid(db_url, sessions):
    cid = conversation(sessions)
    ids = add_texts(sessions, cid, "een", "twee", "drie")
    graph = FakeGraph()
    asyncio.run(drain(db_url, graph))
    assert graph.texts() == ["een", "twee", "drie"]
    sent = rows(sessions)
    assert [sent[i].state for i in ids] == ["sent"] * 3
    assert [sent[i].wamid for i in ids] == ["wamid.OUT1", "wamid.OUT2", "wamid.OUT3"]
    assert graph.sent[0] == {"messaging_product": "whatsapp", "recipient_type": "individual",
                             "to": "31600000001", "type": "text", "text": {"body": "een"}}


def test_5xx_is_retried_until_sent_once(db_url, sessions):
    cid = conversation(sessions)
    [row_id] = add_texts(sessions, cid, "antwoord")
    graph = FakeGraph([(500, 131000), (503, 131016), ("timeout", None)])
    asyncio.run(drain(db_url, graph))
    assert graph.texts() == ["antwoord"] and graph.calls == 4
    row = rows(sessions)[row_id]
    assert (row.state, row.attempts, row.error_code) == ("sent", 4, None)


def test_rate_limit_is_retried(db_url, sessions):
    cid = conversation(sessions)
    add_texts(sessions, cid, "antwoord")
    graph = FakeGraph([(429, 130429), (400, 131056)])
    asyncio.run(drain(db_url, graph))
    assert graph.texts() == ["antwoord"]


@pytest.mark.parametrize("code,title", [(131047, "Re-engagement message"), (131026, "Message undeliverable"),
                                        (131051, "Unsupported message type"), (100, "Invalid parameter")])
def test_permanent_error_recorded_not_retried(db_url, sessions, code, title):
    cid = conversation(sessions)
    first, second = add_texts(sessions, cid, "een", "twee")
    graph = FakeGraph([(400, code)])
    asyncio.run(drain(db_url, graph))
    row = rows(sessions)[first]
    assert (row.state, row.attempts, row.error_code, row.error_title) == ("failed", 1, code, title)
    assert graph.texts() == ["twee"]          # the next message is not held up for ever
    assert rows(sessions)[second].state == "sent"


def test_gives_up_after_max_attempts(db_url, sessions):
    cid = conversation(sessions)
    [row_id] = add_texts(sessions, cid, "antwoord")
    graph = FakeGraph([(500, 131000)] * 10)
    asyncio.run(drain(db_url, graph))
    row = rows(sessions)[row_id]
    assert (row.state, row.attempts, row.error_code) == ("failed", FAST.max_attempts, 131000)


def test_retrying_message_holds_back_its_conversation_only(db_url, sessions):
    a = conversation(sessions, "31600000001")
    b = conversation(sessions, "31600000002")
    add_texts(sessions, a, "a1", "a2")
    add_texts(sessions, b, "b1", "b2")
    order = []

    class Recording(FakeGraph):
        def __call__(self, request):
            payload = json.loads(request.content)
            if payload["text"]["body"] == "a1" and self.calls < 3:
                self.calls += 1
                return httpx.Response(500, json=error_body(131000))
            response = super().__call__(request)
            order.append(payload["text"]["body"])
            return response

    asyncio.run(drain(db_url, Recording()))
    assert order.index("a1") < order.index("a2")
    assert order.index("b1") < order.index("b2") < order.index("a1")   # b did not wait for a


def test_outside_window_fails_locally_with_131047(db_url, sessions):
    cid = conversation(sessions, last_inbound=timedelta(hours=25))
    [row_id] = add_texts(sessions, cid, "te laat")
    graph = FakeGraph()
    asyncio.run(drain(db_url, graph))
    row = rows(sessions)[row_id]
    assert (row.state, row.error_code, row.attempts) == ("failed", 131047, 1)
    assert graph.calls == 0


def test_read_receipt_with_typing_and_few_retries(db_url, sessions):
    cid = conversation(sessions)
    with sessions.begin() as s:
        read = enqueue_read(s, cid, "wamid.IN1").id
        text = enqueue_text(s, cid, "antwoord").id
    graph = FakeGraph([(500, 131000)] * 5)
    asyncio.run(drain(db_url, graph))
    result = rows(sessions)
    assert (result[read].state, result[read].attempts) == ("failed", FAST.read_max_attempts)
    assert result[text].state == "sent" and result[text].attempts == 4   # 3 failures left for it


def test_status_that_arrived_before_the_send_was_recorded(db_url, sessions):
    cid = conversation(sessions)
    [row_id] = add_texts(sessions, cid, "antwoord")
    repo.store_status(sessions, "wamid.OUT1", "delivered", "31600000001")
    asyncio.run(drain(db_url, FakeGraph()))
    assert rows(sessions)[row_id].delivery == "delivered"


def test_enqueue_in_process_wakes_the_sender(db_url, sessions):
    cid = conversation(sessions)
    graph = FakeGraph()

    async def run():
        store = Store(db_url)
        client = GraphClient("https://graph.example/v24.0", "1", "t", transport=httpx.MockTransport(graph))
        sender = OutboxSender(store, client, SenderConfig(poll_interval_s=30))   # polling alone would be too slow
        unlisten = on_commit(sender.wake)
        sender.start()
        try:
            await asyncio.sleep(0.1)
            await store.tx(lambda s: enqueue_text(s, cid, "meteen"))
            for _ in range(200):
                if graph.sent:
                    break
                await asyncio.sleep(0.01)
        finally:
            unlisten()
            await sender.stop()
            await client.aclose()
            store.close()

    asyncio.run(run())
    assert graph.texts() == ["meteen"]


def test_other_process_rows_are_found_by_polling(db_url, sessions):
    cid = conversation(sessions)
    graph = FakeGraph()

    async def run():
        store = Store(db_url)
        client = GraphClient("https://graph.example/v24.0", "1", "t", transport=httpx.MockTransport(graph))
        sender = OutboxSender(store, client, SenderConfig(poll_interval_s=0.05))
        sender.start()
        try:
            await asyncio.sleep(0.1)
            with sessions.begin() as s:         # as the handover service would, without waking anyone
                enqueue(s, cid, "text", {"type": "text", "text": {"body": "van een medewerker"}}, author="agent:1")
            for _ in range(200):
                if graph.sent:
                    break
                await asyncio.sleep(0.01)
        finally:
            await sender.stop()
            await client.aclose()
            store.close()

    asyncio.run(run())
    assert graph.texts() == ["van een medewerker"]


def test_many_conversations_keep_their_own_order(db_url, sessions):
    ids = {f"3160000{n:04d}": conversation(sessions, f"3160000{n:04d}") for n in range(10)}
    for wa_id, cid in ids.items():
        add_texts(sessions, cid, *[f"{wa_id}-{i}" for i in range(5)])
    graph = FakeGraph([(500, 131000)] * 7)
    asyncio.run(drain(db_url, graph))
    for wa_id in ids:
        assert graph.texts(wa_id) == [f"{wa_id}-{i}" for i in range(5)]
