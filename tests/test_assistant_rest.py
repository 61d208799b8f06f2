"""The assistant over Rasa's REST channel: answers, clarifying buttons, handover
signal, and FAQ edits that go live without retraining."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bot.faq.decision import PAYLOAD_PATTERN


def ask(stack, text: str, sender: str | None = None) -> list[dict]:
    sender = sender or f"rest-{uuid.uuid4().hex[:8]}"
    response = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return response.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def handover_reasons(messages: list[dict]) -> list[str]:
    return [m["custom"]["handover"]["reason"] for m in messages if "handover" in m.get("custom", {})]


@pytest.fixture()
def faq_dir(stack) -> Path:
    return Path(stack.env["BALIE_FAQ_DIR"])


def wait_until(predicate, timeout_s: float = 10.0) -> float:
    """Seconds until predicate() held; fails after timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"condition not met within {timeout_s} s")


def test_small_talk(stack):
    assert "digitale assistent" in texts(ask(stack, "hallo"))
    assert "geen mens" in texts(ask(stack, "ben jij een robot?"))


@pytest.mark.parametrize("text", ["👍", "🙏", "duidelijk"])
def test_a_thumbs_up_is_thanks_not_a_question_for_an_agent(stack, text):
    messages = ask(stack, text)
    assert "Graag gedaan" in texts(messages)
    assert handover_reasons(messages) == []


def test_not_understanding_the_answer_brings_a_person(stack):
    assert handover_reasons(ask(stack, "onduidelijk")) == ["ask_human"]


def test_the_action_server_answers_a_wrong_request_with_a_client_error(stack):
    actions = f"http://127.0.0.1:{stack.ports.actions}"
    assert httpx.get(f"{actions}/no-such-path").status_code == 404
    response = httpx.post(f"{actions}/webhook", content=b"{not json")
    assert response.status_code == 400 and "json" in response.json()["error"]
    assert httpx.get(f"{actions}/health").json() == {"status": "ok"}


def test_a_clear_question_gets_its_answer(stack):
    reply = texts(ask(stack, "Wat zijn de openingstijden van de milieustraat?"))
    assert "milieustraat" in reply.lower()
    assert "https://www.voorbeeldstad.nl/" in reply


def test_asking_for_a_person_signals_handover(stack):
    messages = ask(stack, "kan ik een medewerker spreken")
    assert handover_reasons(messages) == ["ask_human"]
    assert "medewerker" in texts(messages)


def test_out_of_scope_text_signals_low_confidence_handover(stack):
    messages = ask(stack, "wie heeft het WK voetbal van 1974 gewonnen")
    assert handover_reasons(messages) == ["low_confidence"]
    assert "medewerker" in texts(messages)


def test_personal_data_is_not_answered_but_handed_over(stack):
    messages = ask(stack, "mijn bsn is 111222333, wanneer is mijn paspoort klaar?")
    assert handover_reasons(messages) == ["privacy"]
    assert "burgerservicenummer" in texts(messages)
    assert "111222333" not in json.dumps(messages)


TWINS = """\
- id: test-kikker-winter
  question: Wat eet een kikker in de winter in de stadsvijver?
  answer: In de winter eet een kikker bijna niets. Hij houdt een winterslaap.
- id: test-kikker-zomer
  question: Wat eet een kikker in de zomer in de stadsvijver?
  answer: In de zomer eet een kikker vliegen en muggen.
"""


def test_edits_are_live_without_retraining_and_close_entries_get_buttons(stack, faq_dir):
    extra = faq_dir / "zz-test-kikkers.yml"
    extra.write_text(TWINS, encoding="utf-8")
    try:
        question = "wat eet een kikker in de stadsvijver"
        seconds = wait_until(lambda: "kikker" in texts(ask(stack, question)).lower())
        assert seconds <= 10
        messages = ask(stack, question)
        buttons = [b for m in messages for b in m.get("buttons", [])]
        payloads = {PAYLOAD_PATTERN.match(b["payload"]).group(1) for b in buttons}
        assert {"test-kikker-winter", "test-kikker-zomer"} <= payloads
        assert 2 <= len(buttons) <= 3
        assert all(len(b["title"]) <= 20 for b in buttons)
        chosen = next(b for b in buttons if "winter" in b["payload"])
        assert "winterslaap" in texts(ask(stack, chosen["payload"]))
    finally:
        extra.unlink()


def test_a_broken_file_keeps_the_last_good_index(stack, faq_dir):
    broken = faq_dir / "zz-test-broken.yml"
    broken.write_text("- id: kapot\n  question: [niet afgesloten\n", encoding="utf-8")
    try:
        log = stack.log_path("actions")
        wait_until(lambda: "zz-test-broken.yml" in log.read_text(encoding="utf-8", errors="replace"))
        reply = texts(ask(stack, "Wat zijn de openingstijden van de milieustraat?"))
        assert "milieustraat" in reply.lower()
    finally:
        broken.unlink()
