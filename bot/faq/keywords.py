"""Keyword channel: BM25 over lemmatised words of each entry.

The dense channels judge meaning; this one counts evidence. Its raw BM25 sum
grows with every distinctive word a message shares with an entry (after the
lexicon has mapped chat words to official ones), which is what tells "a
question about this FAQ" from "a question about something else": on the
evaluation sets the best BM25 score separates answerable from out-of-scope
messages better than any single cosine.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy.sparse import csr_matrix

from bot.faq.normalize import stems

K1 = 1.2      # term-frequency saturation (the usual BM25 defaults)
B = 0.75      # document-length normalisation


def lemma(word: str) -> str:
    """One canonical form per word, so "containers" matches "container"."""
    forms = stems(word)
    return min(forms, key=len) if forms else word


def lemmas(text: str) -> list[str]:
    return [lemma(word) for word in text.split()]


class KeywordIndex:
    """BM25 scores of a message against every entry text, as one sparse product."""

    def __init__(self, documents: list[str]) -> None:
        counts = [Counter(lemmas(text)) for text in documents]
        self.vocabulary = {word: n for n, word in enumerate(sorted({w for c in counts for w in c}))}
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        frequency = Counter(word for c in counts for word in c)
        total = len(documents)
        self.idf = np.zeros(len(self.vocabulary))
        for word, n in self.vocabulary.items():
            self.idf[n] = math.log(1 + (total - frequency[word] + 0.5) / (frequency[word] + 0.5))
        rows, cols, values = [], [], []
        for row, c in enumerate(counts):
            norm = K1 * (1 - B + B * lengths[row] / average)
            for word, tf in c.items():
                rows.append(row)
                cols.append(self.vocabulary[word])
                values.append(tf * (K1 + 1) / (tf + norm))
        # entries x words, term weights already saturated: a query is a 0/1 idf vector
        self._weights = csr_matrix((values, (rows, cols)),
                                   shape=(total, len(self.vocabulary))).T.tocsr()

    def scores(self, text: str) -> np.ndarray:
        """BM25 of the message against each entry (0 where nothing is shared)."""
        columns = {self.vocabulary[w] for w in lemmas(text) if w in self.vocabulary}
        if not columns:
            return np.zeros(self._weights.shape[1])
        picked = sorted(columns)
        return np.asarray(self._weights[picked].T @ self.idf[picked]).ravel()
