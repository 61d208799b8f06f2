"""Text splitting and button/list rendering (connectors.render).

Every rendered body is also checked with the fake Graph API's validator
(simulator.graph.validate_send), which applies Meta's limits.
"""
from __future__ import annotations

import pytest

from connectors.render import (
    HandoverSignal, Outgoing, Texts, render_bot_message, render_bot_messages, render_buttons,
    shorten, split_text,
)
from simulator.graph import validate_send


def _valid(outgoing: Outgoing) -> str:
    return validate_send({"messaging_product": "whatsapp", "to": "31600000001", **outgoing.body})


def _buttons(n: int, title: str = "Onderwerp", payload_len: int = 0):
    return [{"title": f"{title} {i}", "payload": f'/choose_faq{{"faq_id":"faq-{i}"}}' + "x" * payload_len}
            for i in range(1, n + 1)]


# ------------------------------------------------------------------- text

def test_short_text_is_one_part():
    assert split_text("  Hallo, hoe kan ik u helpen?  ") == ["Hallo, hoe kan ik u helpen?"]


def test_empty_text_has_no_parts():
    assert split_text("   ") == []


def test_split_at_sentence_boundaries():
    sentence = "Dit is een zin over het ophalen van afval in de gemeente. "
    text = sentence * 200      # about 11,600 characters
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text.strip()


def test_split_prefers_paragraphs():
    first = "Eerste alinea. " * 100
    text = first.strip() + "\n\n" + "Tweede alinea. " * 200
    parts = split_text(text, limit=4096)
    assert parts[0] == first.strip()


@pytest.mark.parametrize("limit", [12, 50, 100])
def test_split_never_exceeds_limit_and_keeps_words(limit):
    text = "Wanneer? Morgen! Of overmorgen. Dat hangt af van de wijk waar u woont, zegt de gemeente. " * 5
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()


def test_split_hard_cut_inside_very_long_word():
    parts = split_text("a" * 10000)
    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_shorten():
    assert shorten("Paspoort aanvragen", 20) == "Paspoort aanvragen"
    assert shorten("Paspoort aanvragen voor kinderen", 20) == "Paspoort aanvragen…"
    assert len(shorten("x" * 50, 20)) == 20


# ---------------------------------------------------------------- buttons

@pytest.mark.parametrize("n", [1, 2, 3])
def test_up_to_three_buttons_are_reply_buttons(n):
    [out] = render_buttons("Waar gaat uw vraag over?", _buttons(n))
    assert out.kind == "buttons" and _valid(out) == "interactive"
    buttons = out.body["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == [b["payload"] for b in _buttons(n)]
    assert out.body["interactive"]["body"]["text"] == "Waar gaat uw vraag over?"


@pytest.mark.parametrize("n", [4, 7, 10])
def test_four_to_ten_buttons_are_a_list(n):
    [out] = render_buttons("Kies een onderwerp", _buttons(n))
    assert out.kind == "list" and _valid(out) == "interactive"
    rows = out.body["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [b["payload"] for b in _buttons(n)]


def test_long_titles_are_shortened_with_full_title_in_description():
    buttons = [{"title": f"Een heel lange titel voor onderwerp nummer {i}", "payload": f"/p{i}"} for i in range(5)]
    [out] = render_buttons("Kies", buttons)
    row = out.body["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) <= 24 and row["description"].startswith("Een heel lange titel")
    assert _valid(out)


def test_clashing_short_titles_become_a_list():
    buttons = [{"title": "Paspoort aanvragen voor kinderen", "payload": "/a"},
               {"title": "Paspoort aanvragen voor volwassenen", "payload": "/b"}]
    [out] = render_buttons("Welke bedoelt u?", buttons)
    assert out.kind == "list" and _valid(out)


def test_button_text_over_1024_becomes_a_list():
    [out] = render_buttons("x " * 700, _buttons(2))
    assert out.kind == "list" and _valid(out)


def test_buttons_without_text_get_a_prompt():
    [out] = render_buttons("", _buttons(2), Texts(choose="Maak een keuze:"))
    assert out.body["interactive"]["body"]["text"] == "Maak een keuze:"


def test_more_than_ten_options_become_numbered_text():
    out = render_buttons("Kies", _buttons(11))
    assert [o.kind for o in out] == ["text"]
    assert "11. Onderwerp 11" in out[0].body["text"]["body"]


def test_payload_too_long_for_an_id_becomes_text():
    out = render_buttons("Kies", _buttons(2, payload_len=300))
    assert [o.kind for o in out] == ["text"] and _valid(out[0]) == "text"


def test_very_long_text_with_list_leads_with_text_parts():
    out = render_buttons("Dit is een zin. " * 600, _buttons(5))
    assert [o.kind for o in out] == ["text", "text", "list"]
    assert all(_valid(o) for o in out)


# ------------------------------------------------------------ bot messages

def test_bot_messages_in_order_with_handover_signal():
    rendered = render_bot_messages([
        {"text": "Ik zet u door naar een medewerker."},
        {"custom": {"handover": {"reason": "ask_human"}}},
        {"text": "Waar gaat het over?", "buttons": _buttons(2)},
    ])
    assert [type(r).__name__ for r in rendered] == ["Outgoing", "HandoverSignal", "Outgoing"]
    assert rendered[1] == HandoverSignal("ask_human")
    assert rendered[2].kind == "buttons"


def test_rasa_fields_without_content_are_ignored():
    assert render_bot_message({"text": None, "timestamp": 1.0, "attachment": None}) == []


def test_unknown_custom_is_dropped_and_image_is_sent():
    out = render_bot_message({"custom": {"foo": 1}, "image": "https://example.nl/a.png"})
    assert [o.kind for o in out] == ["image"] and _valid(out[0]) == "image"


def test_text_of_bot_is_not_split_on_blank_lines():
    [out] = render_bot_message({"text": "Eerste alinea.\n\nTweede alinea."})
    assert out.body["text"]["body"] == "Eerste alinea.\n\nTweede alinea."
