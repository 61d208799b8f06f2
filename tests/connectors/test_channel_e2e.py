"""The WhatsApp channel end to end: real Rasa server, real action server, fake Graph API.

Webhooks are signed and POSTed over HTTP exactly as Meta does
(tests/helpers/whatsapp.py); replies are read back from the simulator's fake
Graph API (``stack.graph``). Intent payloads (``/greet``, ``/thanks``, ...)
make the bot's answers predictable without depending on FAQ content.

The kill -9 test restarts the Rasa server and therefore runs last.
"""
from __future__ import annotations

import itertools
import random
import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, select

from bot.db.models import Conversation, InboundMessage, OutboxMessage
from helpers import whatsapp as wa

DISCLAIMER_MARK = "geen* persoonlijke gegevens"
UNSUPPORTED_MARK = "alleen tekst"
GREET = "Goedendag!"
THANKS = "Graag gedaan!"
GOODBYE = "Tot ziens!"
BOT = "Ik ben een digitale assistent"

_numbers = itertools.count(random.randint(0, 10**5) * 100)


def new_wa_id() -> str:
    return f"3168{next(_numbers):07d}"


def texts(stack, wa_id: str) -> list[str]:
    return [m.get("text") or "" for m in stack.graph.messages(wa_id=wa_id)]


def answers(stack, wa_id: str) -> list[str]:
    """What the citizen read, minus the one-time disclaimer; known answers by their opening."""
    return [_short(t) for t in texts(stack, wa_id) if DISCLAIMER_MARK not in t]


def _short(text: str) -> str:
    return next((known for known in (GREET, THANKS, GOODBYE, BOT) if text.startswith(known)), text)


def wait_for_answers(stack, wa_id: str, count: int, timeout: float = 30.0, settle: float = 1.0) -> list[str]:
    """Wait for ``count`` answers, then a little longer to catch any extra (duplicate) one."""
    deadline = time.monotonic() + timeout
    while len(answers(stack, wa_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} answer(s) to {wa_id}, got {answers(stack, wa_id)}")
        time.sleep(0.05)
    time.sleep(settle)
    return answers(stack, wa_id)


def post(stack, payload, **kw) -> httpx.Response:
    return wa.post(stack.rasa_url, payload, stack.app_secret, **kw)


@pytest.fixture(scope="module")
def db(stack):
    engine = create_engine(stack.db_url, future=True)
    yield engine
    engine.dispose()


def inbound_rows(db, wamid: str) -> list[InboundMessage]:
    with db.connect() as connection:
        return connection.execute(select(InboundMessage).where(InboundMessage.wamid == wamid)).all()


def outbox_rows(db, wa_id: str, kind: str | None = None):
    query = (select(OutboxMessage).join(Conversation, Conversation.id == OutboxMessage.conversation_id)
             .where(Conversation.wa_id == wa_id).order_by(OutboxMessage.id))
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    with db.connect() as connection:
        return connection.execute(query).all()


# ------------------------------------------------------------ verification

def test_verification_handshake(stack):
    ok = wa.verify(stack.rasa_url, stack.verify_token, challenge="1158201444")
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wa.verify(stack.rasa_url, "wrong-token").status_code == 403
    assert wa.verify(stack.rasa_url, stack.verify_token, mode="unsubscribe").status_code == 403
    assert httpx.get(stack.rasa_url + wa.WEBHOOK_PATH, timeout=10).status_code == 403
    assert stack.graph.verify()["ok"]


# --------------------------------------------------------- refused requests

@pytest.mark.parametrize("case,status", [("missing", 401), ("forged", 403), ("stale", 403), ("other_secret", 403)])
def test_bad_signatures_are_refused_and_nothing_is_stored(stack, db, case, status):
    wa_id, wamid = new_wa_id(), wa.new_wamid()
    body = wa.encode(wa.text(wa_id, "/greet", wamid=wamid))
    signature = {
        "missing": None,
        "forged": "sha256=" + "0" * 64,
        "stale": wa.sign(wa.encode(wa.text(wa_id, "/greet", wamid="wamid.EARLIER")), stack.app_secret),
        "other_secret": wa.sign(body, "not-" + stack.app_secret),
    }[case]
    response = wa.post(stack.rasa_url, body, None, signature=signature)
    assert response.status_code == status
    time.sleep(1.0)
    assert inbound_rows(db, wamid) == [] and texts(stack, wa_id) == []


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400),
    (b'{"object":"whatsapp_business_account","entry":[{"changes":[{"value":[]}]}]}', 400),
    (b'{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"id":1}]}}]}]}', 400),
    (b"[]", 400),
    (b'{"x":"' + b"a" * (1024 * 1024) + b'"}', 413),
])
def test_bad_bodies_are_refused_without_a_500(stack, body, status):
    assert post(stack, body).status_code == status


def test_oversized_chunked_body_is_refused(stack):
    def chunks():
        for _ in range(20):
            yield b" " * 65536

    url = stack.rasa_url + wa.WEBHOOK_PATH
    response = httpx.post(url, content=chunks(), headers={"X-Hub-Signature-256": "sha256=00"}, timeout=30)
    assert response.status_code == 413


# ----------------------------------------------------------- message types

def test_text_gets_read_receipt_disclaimer_then_answer(stack):
    wa_id = new_wa_id()
    result = stack.graph.send_text(wa_id, "/greet")
    assert result["webhook"]["status"] == 200
    assert wait_for_answers(stack, wa_id, 1) == [GREET]
    first, second = texts(stack, wa_id)
    assert DISCLAIMER_MARK in first and second.startswith(GREET)
    [read] = stack.graph.reads(wa_id=wa_id)
    assert read["message_id"] == result["wamid"] and read["typing"]


def test_button_and_list_replies_send_their_payload_to_the_bot(stack):
    wa_id = new_wa_id()
    assert post(stack, wa.button_reply(wa_id, "/thanks", "Bedankt")).status_code == 200
    assert wait_for_answers(stack, wa_id, 1, settle=0) == [THANKS]
    assert post(stack, wa.list_reply(wa_id, "/goodbye", "Tot ziens")).status_code == 200
    assert wait_for_answers(stack, wa_id, 2) == [THANKS, GOODBYE]


def _interactive_answer(stack, wa_id: str, question: str, timeout: float = 20.0):
    stack.graph.send_text(wa_id, question)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in stack.graph.messages(wa_id=wa_id) if m["type"] == "interactive"]
        if found:
            return found[-1]["payload"]["interactive"]
        if len(answers(stack, wa_id)) >= 1:
            return None
        time.sleep(0.1)
    return None


def test_clarifying_buttons_render_as_reply_buttons_and_work(stack):
    # Questions that match several FAQ entries; the bot asks which one is meant.
    got = []
    for question in ("Hoe vraag ik een paspoort aan?", "paspoort", "afval"):
        wa_id = new_wa_id()
        interactive = _interactive_answer(stack, wa_id, question)
        if interactive:
            break
        got.append(answers(stack, wa_id)[:1])
    else:
        pytest.skip(f"the bot answered every ambiguous question directly ({got}); no buttons to click")
    action = interactive["action"]
    options = [b["reply"] for b in action["buttons"]] if "buttons" in action else action["sections"][0]["rows"]
    assert 1 <= len(options) <= 10 and all(o["id"].startswith("/choose_faq") for o in options)
    before = len(answers(stack, wa_id))
    stack.graph.click(wa_id, options[0]["id"], options[0]["title"],
                      kind="button" if interactive["type"] == "button" else "list")
    after = wait_for_answers(stack, wa_id, before + 1)
    assert len(after) > before and UNSUPPORTED_MARK not in after[-1]


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker", "location",
                                  "contacts", "reaction", "unsupported"])
def test_non_text_messages_get_the_polite_reply(stack, kind):
    wa_id = new_wa_id()
    assert post(stack, wa.media(wa_id, kind)).status_code == 200
    [reply] = wait_for_answers(stack, wa_id, 1)
    assert UNSUPPORTED_MARK in reply


def test_status_webhooks_are_stored_on_the_outbox_row(stack, db):
    wa_id = new_wa_id()
    stack.graph.send_text(wa_id, "/greet")
    wait_for_answers(stack, wa_id, 1, settle=0.3)
    wamid = stack.graph.messages(wa_id=wa_id)[-1]["wamid"]
    for state in ("read", "sent", "delivered"):       # out of order, as Meta may send them
        assert stack.graph.send_status(wamid, state)["webhook"]["status"] == 200
    row = [r for r in outbox_rows(db, wa_id) if r.wamid == wamid][0]
    assert row.delivery == "read"


# ------------------------------------------------------ batches and retries

def test_batch_of_three_entries_with_two_messages_each_gets_six_answers(stack):
    wa_ids = [new_wa_id() for _ in range(3)]
    payload = wa.batch(*[wa.inbound(w, wa.message(w, "text", {"body": "/greet"}),
                                    wa.message(w, "text", {"body": "/thanks"})) for w in wa_ids])
    assert len(payload["entry"]) == 3
    assert post(stack, payload).status_code == 200
    for wa_id in wa_ids:
        assert wait_for_answers(stack, wa_id, 2, settle=0) == [GREET, THANKS]
    time.sleep(1)
    assert sum(len(answers(stack, w)) for w in wa_ids) == 6


def test_same_webhook_three_times_concurrently_gets_one_answer(stack, db):
    wa_id, wamid = new_wa_id(), wa.new_wamid()
    body = wa.encode(wa.text(wa_id, "/greet", wamid=wamid))
    statuses, barrier = [], threading.Barrier(3)

    def deliver():
        barrier.wait()
        statuses.append(wa.post(stack.rasa_url, body, stack.app_secret).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    assert wait_for_answers(stack, wa_id, 1, settle=2) == [GREET]
    assert len(inbound_rows(db, wamid)) == 1
    assert post(stack, body).status_code == 200          # redelivered later: still one answer
    assert wait_for_answers(stack, wa_id, 1) == [GREET]


def test_graph_api_500_for_first_tries_then_answer_arrives_once(stack):
    wa_id = new_wa_id()
    stack.graph.fail_next(3, status=500, wa_id=wa_id)
    stack.graph.send_text(wa_id, "/greet")
    assert wait_for_answers(stack, wa_id, 1, timeout=60, settle=2) == [GREET]
    assert len(texts(stack, wa_id)) == 2          # disclaimer and answer, each once
    sends = [a for a in stack.graph.attempts(wa_id=wa_id) if a["kind"] != "read"]
    assert [a["status"] for a in sends] == [500, 500, 500, 200, 200]


def test_rate_limit_is_retried(stack):
    wa_id = new_wa_id()
    stack.graph.fail_next(2, code=130429, wa_id=wa_id, retry_after=1)
    stack.graph.send_text(wa_id, "/greet")
    assert wait_for_answers(stack, wa_id, 1, timeout=60) == [GREET]


def test_outside_window_error_is_recorded_and_not_retried(stack, db):
    wa_id = new_wa_id()
    stack.graph.send_text(wa_id, "/greet")
    wait_for_answers(stack, wa_id, 1, settle=0.3)
    stack.graph.fail_next(1, code=131047, wa_id=wa_id)
    stack.graph.send_text(wa_id, "/thanks")
    time.sleep(4)                                  # longer than several retry rounds
    assert answers(stack, wa_id) == [GREET]
    failed = [r for r in outbox_rows(db, wa_id) if r.state == "failed"]
    assert [(r.error_code, r.error_title, r.attempts) for r in failed] == [(131047, "Re-engagement message", 1)]
    assert [a["code"] for a in stack.graph.attempts(wa_id=wa_id) if a["status"] != 200] == [131047]


# ---------------------------------------------------------------- ordering

def test_fifty_messages_to_one_conversation_are_answered_in_order(stack):
    wa_id = new_wa_id()
    cycle = [("/greet", GREET), ("/thanks", THANKS), ("/goodbye", GOODBYE), ("/bot_challenge", BOT)]
    expected = []
    with httpx.Client(timeout=30) as client:
        for i in range(50):
            text, answer = cycle[i % len(cycle)]
            response = wa.post(stack.rasa_url, wa.text(wa_id, text), stack.app_secret, client=client)
            assert response.status_code == 200
            expected.append(answer)
    got = wait_for_answers(stack, wa_id, 50, timeout=180, settle=2)
    assert got == expected


def test_conversations_are_answered_side_by_side(stack):
    wa_ids = [new_wa_id() for _ in range(10)]
    started = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for wa_id in wa_ids:
            assert wa.post(stack.rasa_url, wa.text(wa_id, "/greet"), stack.app_secret, client=client).status_code == 200
    for wa_id in wa_ids:
        assert wait_for_answers(stack, wa_id, 1, settle=0) == [GREET]
    assert time.monotonic() - started < 30


def test_rasa_api_can_speak_through_the_whatsapp_output_channel(stack):
    wa_id = new_wa_id()
    stack.graph.send_text(wa_id, "/greet")
    wait_for_answers(stack, wa_id, 1, settle=0)
    response = httpx.post(f"{stack.rasa_url}/conversations/{wa_id}/trigger_intent",
                          params={"output_channel": "whatsapp"}, json={"name": "thanks"}, timeout=30)
    assert response.status_code == 200
    assert wait_for_answers(stack, wa_id, 2) == [GREET, THANKS]


# ---------------------------------------------------------- crash recovery

def test_kill_9_right_after_the_ack_is_answered_after_restart(stack, db):
    wa_id, wamid = new_wa_id(), wa.new_wamid()
    response = post(stack, wa.text(wa_id, "/greet", wamid=wamid))
    assert response.status_code == 200
    stack.restart_rasa(kill=True)
    assert wait_for_answers(stack, wa_id, 1, timeout=120, settle=2) == [GREET]
    [row] = inbound_rows(db, wamid)
    assert row.state == "done"
    # and the restarted server still works normally
    other = new_wa_id()
    stack.graph.send_text(other, "/thanks")
    assert wait_for_answers(stack, other, 1) == [THANKS]
