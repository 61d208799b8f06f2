"""The semantic FAQ index: dense vectors in faiss, plus a character n-gram channel.

Three channels score every entry (weights in balie.yml, tuned with
``balie faq eval --split tune``; measured in the closing notes of issue #2):

- ``document``: the message ("query: ...") against the whole entry as one
  passage ("passage: question, alternatives, answer"). e5 was trained for
  this asymmetric search; it carries most of the signal because citizens
  describe situations that the answer text names.
- ``question``: the message against the question and each alternative
  ("query: " on both sides), best row per entry.
- ``lexical``: character 3-5-gram TF-IDF over the same document, which
  forgives typos that the encoder's tokenizer splits badly.

Vectors are cached on disk per text, kind and encoder, so a changed file only
re-encodes the texts that changed, and an unchanged folder loads without
encoding at all.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.faq.content import FaqEntry, load_folder
from bot.faq.encoders import Encoder
from bot.faq.normalize import normalize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """How much each channel adds to the fused score."""
    document: float = 1.0
    question: float = 0.0
    lexical: float = 0.0

    @classmethod
    def from_settings(cls, faq) -> "Weights":
        return cls(faq.document_weight, faq.question_weight, faq.lexical_weight)


@dataclass(frozen=True)
class Hit:
    entry: FaqEntry
    score: float       # fused score used for decisions
    document: float    # cosine of message and the entry as a passage
    question: float    # best cosine of message and question/alternatives
    lexical: float     # character n-gram cosine with the entry


def document_text(entry: FaqEntry) -> str:
    return " ".join([entry.question, *entry.alternatives, entry.answer])


def question_rows(entry: FaqEntry) -> list[str]:
    return [entry.question, *entry.alternatives]


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
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._vectors}.items())
        if missing:
            encoded = self.encoder.encode([text for _, text in missing], kind=kind)
            self._vectors.update(zip([key for key, _ in missing], encoded))
            self._write()
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

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


def _flat_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    index = faiss.IndexFlatIP(dim)   # exact inner product = cosine on unit vectors
    index.add(vectors)
    return index


class FaqIndex:
    """Search over FAQ entries; build with ``from_dir`` or ``build``."""

    def __init__(self, entries: list[FaqEntry], encoder: Encoder, weights: Weights,
                 documents: faiss.Index, questions: faiss.Index, question_owner: np.ndarray,
                 lexical: TfidfVectorizer, lexical_matrix) -> None:
        self.entries = entries
        self.encoder = encoder
        self.weights = weights
        self._documents = documents
        self._questions = questions
        self._question_owner = question_owner
        self._lexical = lexical
        self._lexical_matrix = lexical_matrix

    @classmethod
    def from_dir(cls, folder: Path, encoder: Encoder, cache_dir: Path | None = None,
                 weights: Weights = Weights()) -> "FaqIndex":
        return cls.build(load_folder(folder), encoder, VectorCache(cache_dir, encoder), weights)

    @classmethod
    def build(cls, entries: list[FaqEntry], encoder: Encoder, cache: VectorCache | None = None,
              weights: Weights = Weights()) -> "FaqIndex":
        cache = cache or VectorCache(None, encoder)
        documents = [normalize(document_text(entry)) for entry in entries]
        rows, owners = [], []
        for number, entry in enumerate(entries):
            texts = [normalize(text) for text in question_rows(entry)]
            rows += texts
            owners += [number] * len(texts)
        lexical = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        lexical_matrix = lexical.fit_transform(documents or [""])
        return cls(entries, encoder, weights,
                   _flat_index(cache.vectors(documents, "passage"), encoder.dim),
                   _flat_index(cache.vectors(rows, "query"), encoder.dim),
                   np.array(owners, dtype=np.int64), lexical, lexical_matrix)

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """The k best entries for a citizen's message, best first."""
        if not self.entries:
            return []
        query = normalize(text) or text.lower()
        vector = self.encoder.encode([query], kind="query")
        document = self._best(self._documents, vector, np.arange(len(self.entries)))
        question = self._best(self._questions, vector, self._question_owner)
        lexical = (self._lexical_matrix @ self._lexical.transform([query]).T).toarray().ravel()
        w = self.weights
        fused = w.document * document + w.question * question + w.lexical * lexical
        best = np.argsort(-fused)[:k]
        return [Hit(self.entries[i], float(fused[i]), float(document[i]), float(question[i]),
                    float(lexical[i])) for i in best]

    def _best(self, index: faiss.Index, vector: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Best similarity per entry among the rows faiss returns."""
        # Rows beyond the best 1024 cannot belong to an entry worth answering.
        similarities, rows = index.search(vector, min(index.ntotal, 1024))
        found = rows[0] >= 0
        scores = np.zeros(len(self.entries), dtype=np.float64)
        np.maximum.at(scores, owner[rows[0][found]], similarities[0][found])
        return scores
