"""Signature check and parsing of recorded webhook payloads (connectors.webhook)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connectors.webhook import (
    MalformedUpdate, parse_update, sign, verify_signature,
)
from helpers import whatsapp as wa

GOLDEN_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
GOLDEN_SECRET = "balie-golden-secret"
# openssl dgst -sha256 -hmac balie-golden-secret
GOLDEN_SIGNATURE = "sha256=8309d27a31b432a13f234d153b2c0bc0bb3fd010bae64cc89e4c3c029584a878"


def test_signature_golden():
    assert sign(GOLDEN_BODY, GOLDEN_SECRET) == GOLDEN_SIGNATURE
    assert verify_signature(GOLDEN_BODY, GOLDEN_SIGNATURE, GOLDEN_SECRET)


def test_signature_of_non_ascii_body_uses_raw_bytes():
    body = "Balie ✓".encode("utf-8")
    expected = "sha256=012905ae09d2ed2c6e7a39c4b0c17c4cb18e9d89d4f1b4a11bd5baeb001abf5a"
    assert verify_signature(body, expected, "s3cr3t")


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + GOLDEN_SIGNATURE[7:], GOLDEN_SIGNATURE[7:],
    GOLDEN_SIGNATURE[:-1] + "0", "sha256=zz", "sha256=\u00e9\u00e9",
    sign(GOLDEN_BODY, "another-secret"),
])
def test_signature_refused(header):
    assert not verify_signature(GOLDEN_BODY, header, GOLDEN_SECRET)


def test_signature_refused_for_changed_body_and_without_secret():
    assert not verify_signature(GOLDEN_BODY + b" ", GOLDEN_SIGNATURE, GOLDEN_SECRET)
    assert not verify_signature(GOLDEN_BODY, GOLDEN_SIGNATURE, "")


def test_signature_accepts_uppercase_hex():
    assert verify_signature(GOLDEN_BODY, "sha256=" + GOLDEN_SIGNATURE[7:].upper(), GOLDEN_SECRET)


# kind, text, reply_id for every recorded message type
CASES = [
    ("text", "text", "Hoe vraag ik een paspoort aan?", None),
    ("button_reply", "button", "Paspoort aanvragen", '/choose_faq{"faq_id":"paspoort-aanvragen"}'),
    ("list_reply", "list", "Afval ophalen", '/choose_faq{"faq_id":"afval-ophalen"}'),
    ("template_button", "button", "Ja", "/affirm"),
    ("image", "image", None, None),
    ("audio", "audio", None, None),
    ("video", "video", None, None),
    ("document", "document", None, None),
    ("sticker", "sticker", None, None),
    ("location", "location", None, None),
    ("contacts", "contacts", None, None),
    ("reaction", "reaction", None, None),
    ("reaction_removed", "reaction_removed", None, None),
    ("unsupported", "unsupported", None, None),
    ("system", "system", None, None),
]


@pytest.mark.parametrize("name,kind,text,reply_id", CASES)
def test_parse_recorded_message(name, kind, text, reply_id):
    update = parse_update(wa.fixture(name))
    assert len(update.messages) == 1 and not update.statuses
    message = update.messages[0]
    assert (message.kind, message.text, message.reply_id) == (kind, text, reply_id)
    assert message.wamid.startswith("wamid.")
    assert message.sent_at == datetime(2025, 11, 27, 19, 0, tzinfo=timezone.utc)
    assert message.phone_number_id == "1234567890"
    # a media caption is never carried: only text and reply titles are
    if kind not in ("text", "button", "list"):
        assert message.text is None


@pytest.mark.parametrize("name,readable,ignored", [
    ("text", True, False), ("button_reply", True, False), ("list_reply", True, False),
    ("image", False, False), ("reaction", False, False), ("unsupported", False, False),
    ("system", False, True), ("reaction_removed", False, True),
])
def test_readable_and_ignored(name, readable, ignored):
    message = parse_update(wa.fixture(name)).messages[0]
    assert (message.readable, message.ignored) == (readable, ignored)


def test_profile_name_from_contacts():
    update = parse_update(wa.fixture("text"))
    assert update.profile_name("31600000001") == "Test Inwoner"
    assert update.profile_name("31699999999") is None


def test_unsupported_keeps_meta_error_code():
    assert parse_update(wa.fixture("unsupported")).messages[0].error_code == 131051


def test_statuses_in_any_order_with_errors():
    update = parse_update(wa.fixture("statuses"))
    assert [s.status for s in update.statuses] == ["read", "sent", "delivered", "failed"]
    failed = update.statuses[-1]
    assert (failed.error_code, failed.error_title) == (131047, "Re-engagement message")
    assert update.statuses[0].recipient_id == "31600000001"


def test_batch_reads_every_entry_and_message_in_order():
    update = parse_update(wa.fixture("batch"))
    assert len(update.messages) == 6
    assert [m.wa_id for m in update.messages] == [f"3160000010{e}" for e in range(3) for _ in range(2)]
    assert len(update.contacts) == 3


def test_other_fields_are_skipped():
    payload = wa.fixture("text")
    payload["entry"][0]["changes"].append({"field": "message_template_status_update",
                                           "value": {"event": "APPROVED"}})
    assert len(parse_update(payload).messages) == 1


@pytest.mark.parametrize("mutate", [
    lambda p: [],
    lambda p: {**p, "object": "page"},
    lambda p: {**p, "entry": {}},
    lambda p: {**p, "entry": ["x"]},
    lambda p: _set(p, ["entry", 0, "changes"], "x"),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value"], []),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages"], {}),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages", 0, "id"], 5),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages", 0, "from"], None),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages", 0, "timestamp"], "gisteren"),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages", 0, "text"], "los"),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "messages", 0, "id"], "w" * 300),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "contacts"], [{"wa_id": 3}]),
    lambda p: _set(p, ["entry", 0, "changes", 0, "value", "statuses"], [{"id": "x"}]),
])
def test_malformed_shapes_raise(mutate):
    with pytest.raises(MalformedUpdate):
        parse_update(mutate(wa.fixture("text")))


def test_malformed_interactive_raises():
    payload = wa.fixture("button_reply")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["button_reply"]["id"]
    with pytest.raises(MalformedUpdate):
        parse_update(payload)


def test_error_message_names_no_content():
    payload = wa.fixture("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "Mijn BSN is 111222333"
    with pytest.raises(MalformedUpdate) as info:
        parse_update(payload)
    assert "111222333" not in str(info.value)


def _set(payload, path, value):
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.loads(json.dumps(payload))
