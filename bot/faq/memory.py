"""What citizens of other municipalities asked, and what answered them.

The labelled messages of the training municipalities (bot/faq/models/README.md)
are kept beside the adapter as query vectors, each with the entry that
answered it in its own municipality (that entry as one passage vector) or
"handed over". A new message's nearest remembered messages then help twice:

- **Is it in scope?** The log-odds that the 20 nearest were answerable is
  added to the scope probe's logit (bot/faq/index.py ``_in_scope``). A
  linear probe draws one boundary through the whole vector space; near a
  given message, other municipalities' labels say more. "Handed over" is
  relative to one FAQ, so each message also keeps how well its own FAQ
  matched it (best relevance), and a vote that this explains counts less
  (``in_scope_log_odds``).
- **Which entry?** The closeness-weighted mean of the 3 nearest answerable
  messages' entries is a passage the message "means"; this FAQ's entries
  are compared with it in the ranking (the ``memory`` channel). "mijn roze
  pasje is na 10 jaar bijna ongeldig" ranked *afvalpas kwijt* first (a
  pass); citizens elsewhere who wrote of their "roze pasje" were answered
  with a driving-licence entry, and that entry's text is close to this
  FAQ's *rijbewijs verlengen*, which now comes first.

Neighbours are weighted by ``exp((similarity - best) / temperature)``.
Measured (whole sets unless said; demo and zeevliet were never in the
memory or the adapter's training data):

=============================================  ===========  ===========
                                               demo         zeevliet
=============================================  ===========  ===========
scope AUC, probe alone                         0.905        0.920
scope AUC, probe + memory                      0.921        0.959
... memory of fourteen, relevance-aware vote   0.940        0.966
... memory of twenty                           0.945        0.976
... short run on twenty blended in             0.947        0.976
... and one on twenty-four (session 12)        0.950        0.980
... and one on twenty-eight (session 13)       0.951        0.977
  (probe refitted alongside: alone             0.928        0.926)
... message also encoded as typed (session 14) 0.957        0.978
top-1 tune / held-out half, without memory     0.871/0.870  0.887/0.819
top-1 tune / held-out half, memory channel     0.912/0.894  0.901/0.852
... memory of fourteen                         0.906/0.888  0.901/0.852
... memory of twenty                           0.906/0.888  0.901/0.846
... short run on twenty blended in             0.906/0.894  0.908/0.846
... and one on twenty-four (session 12)        0.912/0.901  0.901/0.866
... and one on twenty-eight (session 13)       0.918/0.894  0.908/0.879
... message also encoded as typed (session 14) 0.912/0.907  0.908/0.906
=============================================  ===========  ===========

The memory holds the messages of twenty-eight municipalities: the eight of
the encoder's long training run, twelve more that first joined only the
memory (since session 11 they also train a short run blended into the
encoder), four that joined with a third run in session 12 and four with a
fourth in session 13
(bot/faq/models/README.md). When they joined, three of them at a
time raised the others (top-1 on eleven of twelve, the twelfth level), so a
municipality's own labelled messages can join without retraining the
encoder (``make memory``). The relevance-aware vote raised the scope AUC
on the tune and held-out halves (0.954 → 0.959, 0.935 → 0.945) and on 10
of the 14 remembered municipalities left out in turn; fresh sets 0.956 →
0.955.

With each training municipality left out of the memory in turn, the scope
AUC rose on all eight (0.922 → 0.946 on average, probe refitted on the other
seven) and top-1 on six of eight (level on wadderoog, grootstede 0.912 →
0.899). Neighbours, temperatures and the channel weight were chosen on the
two tune halves; of 36 settings around them (3-10 neighbours, temperature
0.03-0.1, weight 0.1-0.3), 28 raised top-1 on both held-out halves and none
lowered one by more than a message. Entries kept as their question centroid
or answer passage instead of the whole entry did about as well.

On the training municipalities themselves every message finds itself in
the memory (top-1 and accuracy 0.99-1.00): that measures nothing. Messages
must be free of personal data before they join the memory (the labelled
sets are checked by tests/bot/test_eval_sets.py): a text's vector gives
away much of the text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VECTORS_KEY, ANSWER_KEY, ENTRIES_KEY = "memory.vectors", "memory.answer", "memory.entries"
RELEVANCE_KEY = "memory.relevance"
HANDED_OVER = -1          # ``answer`` of a message a person had to answer
SCOPE_NEIGHBOURS, SCOPE_TEMPERATURE = 20, 0.02
RELEVANCE_SPREAD = 0.06   # how far a neighbour's own match may differ before its vote fades
ANSWER_NEIGHBOURS, ANSWER_TEMPERATURE = 3, 0.05
SMOOTHING = 0.02          # keeps the log-odds finite when every neighbour agrees


@dataclass(frozen=True)
class MessageMemory:
    vectors: np.ndarray   # (n, dim) unit query vectors of labelled messages
    answer: np.ndarray    # (n,) row in ``entries`` that answered each, or HANDED_OVER
    entries: np.ndarray   # (m, dim) unit passage vectors of the answering entries
    relevance: np.ndarray | None = None   # (n,) best relevance in its own municipality's FAQ

    @property
    def answerable(self) -> np.ndarray:
        return self.answer != HANDED_OVER

    def in_scope_log_odds(self, queries: np.ndarray, relevance: np.ndarray | None = None) -> np.ndarray:
        """(n,): > 0 where the nearest remembered messages were mostly answerable.

        ``relevance`` (n,): the best relevance the FAQ at hand gives each
        query. "Handed over" means *that* municipality had no answer: a
        neighbour that was handed over while its own FAQ matched it worse
        than this FAQ matches the query most likely lacked the topic, and an
        answerable one that its FAQ matched better may have had a topic this
        FAQ lacks. Such votes fade with the difference (Gaussian, spread
        RELEVANCE_SPREAD)."""
        nearest, weight = self._neighbours(queries, SCOPE_NEIGHBOURS, SCOPE_TEMPERATURE)
        answerable = self.answerable[nearest]
        if relevance is not None and self.relevance is not None:
            lead = np.asarray(relevance, np.float32).reshape(-1, 1) - self.relevance[nearest]
            unlike = np.where(answerable, np.maximum(-lead, 0), np.maximum(lead, 0)) / RELEVANCE_SPREAD
            weight = weight * np.exp(-unlike ** 2 / 2)
            weight = weight / weight.sum(axis=1, keepdims=True)
        share = (weight * answerable).sum(axis=1)
        return np.log((share + SMOOTHING) / (1 + SMOOTHING - share))

    def answer_direction(self, queries: np.ndarray) -> np.ndarray:
        """(n, dim) unit passage vectors: what the nearest answerable messages
        were answered with, weighted by closeness (zeros if none is answerable)."""
        answerable = self.answerable
        if not answerable.any():
            return np.zeros((len(queries), self.vectors.shape[1]), dtype=np.float32)
        nearest, weight = self._neighbours(queries, ANSWER_NEIGHBOURS, ANSWER_TEMPERATURE, answerable)
        mean = np.einsum("nk,nkd->nd", weight, self.entries[self.answer[nearest]])
        return (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)

    def _neighbours(self, queries: np.ndarray, k: int, temperature: float,
                    among: np.ndarray | None = None):
        """Indices (n, k) of the k most similar remembered messages (only
        those marked in ``among``, if given), and their weights (rows sum to 1)."""
        similarity = np.asarray(queries, dtype=np.float32) @ self.vectors.T
        if among is not None:
            similarity[:, ~among] = -np.inf
            k = min(k, int(among.sum()))
        k = min(k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        close = np.take_along_axis(similarity, nearest, axis=1)
        weight = np.exp((close - close.max(axis=1, keepdims=True)) / temperature)
        return nearest, weight / weight.sum(axis=1, keepdims=True)

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {VECTORS_KEY: self.vectors.astype(np.float16), ANSWER_KEY: self.answer.astype(np.int32),
                  ENTRIES_KEY: self.entries.astype(np.float16)}
        if self.relevance is not None:
            arrays[RELEVANCE_KEY] = self.relevance.astype(np.float32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays, dim: int) -> "MessageMemory | None":
        if VECTORS_KEY not in arrays:
            return None
        if ANSWER_KEY not in arrays or ENTRIES_KEY not in arrays:
            raise ValueError("message memory needs its answers and entries")
        vectors = np.asarray(arrays[VECTORS_KEY], dtype=np.float32)
        answer = np.asarray(arrays[ANSWER_KEY], dtype=np.int32).reshape(-1)
        entries = np.asarray(arrays[ENTRIES_KEY], dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != dim or entries.ndim != 2 or entries.shape[1] != dim \
                or len(answer) != len(vectors) or not len(vectors):
            raise ValueError(f"message memory does not fit a {dim}-dimensional encoder")
        if answer.max(initial=HANDED_OVER) >= len(entries) or answer.min(initial=HANDED_OVER) < HANDED_OVER:
            raise ValueError("message memory names an entry it does not hold")
        relevance = None
        if RELEVANCE_KEY in arrays:   # a memory from before it kept them votes unconditioned
            relevance = np.asarray(arrays[RELEVANCE_KEY], dtype=np.float32).reshape(-1)
            if len(relevance) != len(vectors):
                raise ValueError("message memory needs one relevance per message")
        return cls(vectors, answer, entries, relevance)

