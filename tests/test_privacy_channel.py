"""The privacy gate and the disclaimer, through the real WhatsApp channel.

The storage test sends 50 conversations with personal data through the
channel, then searches every byte Balie wrote (SQLite database and WAL, the
Rasa tracker store, every service log) for each raw value.
"""
from __future__ import annotations

import itertools
import random
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DISCLAIMER_MARK = "geen* persoonlijke gegevens"
PRIVACY_MARK = "niet bedoeld voor persoonlijke gegevens"

wa_ids = (f"3169{number:07d}" for number in itertools.count(random.randint(0, 10**6)))


def bodies(messages: list[dict]) -> list[str]:
    return [message.get("text") or "" for message in messages]


def converse(stack, text: str, replies: int, wa_id: str | None = None) -> tuple[str, list[str]]:
    wa_id = wa_id or next(wa_ids)
    since = stack.graph.seq()
    stack.graph.send_text(wa_id, text)
    return wa_id, bodies(stack.graph.wait_for(wa_id, replies, timeout=30, since=since))


def test_first_message_gets_the_disclaimer_before_the_answer_and_only_once(stack):
    wa_id, first = converse(stack, "hoe laat is de milieustraat open", replies=2)
    assert DISCLAIMER_MARK in first[0]
    assert "https://www.voorbeeldstad.nl/privacy" in first[0]
    assert "milieustraat" in first[1].lower()
    _, second = converse(stack, "en waar is het gemeentehuis", replies=1, wa_id=wa_id)
    assert not any(DISCLAIMER_MARK in text for text in second)


def test_personal_data_gets_the_privacy_reply_by_type_not_value(stack):
    wa_id, replies = converse(stack, "mijn iban is NL91ABNA0417164300, wanneer komt de bijstand?",
                              replies=2)
    privacy = next(text for text in replies if PRIVACY_MARK in text)
    assert "rekeningnummer" in privacy
    assert all("NL91ABNA0417164300" not in text for text in replies)
    # The question is not answered by the bot: no FAQ answer link about bijstand.
    assert not any("Meer informatie:" in text for text in replies)


def _cases_with_personal_data(count: int) -> list[dict]:
    cases = yaml.safe_load((ROOT / "tests" / "privacy" / "cases.yml").read_text(encoding="utf-8"))
    with_pii = [case for case in cases if case["pii"]]
    return random.Random(7).sample(with_pii, count)


def _written_files(stack) -> list[Path]:
    files = [path for path in stack.run_dir.iterdir()
             if path.is_file() and (path.suffix == ".log" or ".db" in path.name)]
    assert any(path.name.startswith("balie.db") for path in files)
    assert any(path.name.startswith("tracker.db") for path in files)
    return [path for path in files if path.name != "simulator.log"]   # the citizen's phone


def test_no_raw_personal_data_reaches_storage_or_logs(stack):
    cases = _cases_with_personal_data(50)
    for case in cases:
        _, replies = converse(stack, case["text"], replies=2)
        assert any(PRIVACY_MARK in text for text in replies)
    raw_values = {pii["value"] for case in cases for pii in case["pii"]}
    hits = []
    for path in _written_files(stack):
        data = path.read_bytes()
        hits += [(path.name, value) for value in raw_values if value.encode("utf-8") in data]
    assert hits == [], f"raw personal data found in storage or logs: {len(hits)} hit(s)"
    # Not vacuous: the redacted messages themselves were stored.
    database = b"".join(p.read_bytes() for p in stack.run_dir.glob("balie.db*"))
    assert b"[BSN]" in database and b"[IBAN]" in database
