"""Is a message a municipal question this FAQ answers? A linear probe.

Similarity to the FAQ alone separates answerable from out-of-scope messages
poorly (AUC 0.78 on the dev set): "hoeveel kinderbijslag krijg ik" is close
to *minimaregelingen*, "kjhkjh" is close to everything a little. What such
messages share does not depend on one municipality's FAQ: other
authorities' business (Belastingdienst, UWV, DUO), chat, nonsense, private
services. So a logistic regression, trained on labelled messages of *other*
municipalities (answerable vs. handover), adds that knowledge to the
handover decision: its logit, times ``faq.scope_weight``, is added to every
entry's relevance (bot/faq/index.py). It is fitted by bot/faq/finetune.py and
stored in the adapter file (keys ``scope.weight``, ``scope.bias`` and
``scope.match_weight``), because it only fits the vectors of the encoder it
was trained with.

It reads the query vector (what kind of message is this?) and three match
signals from the FAQ at hand (``MATCH_SIGNALS``: how well does the best
entry fit, and how clearly?), each message's signals coming from its own
municipality's FAQ during training (the signals depend on the channel
weights in balie.yml: after changing those, refit the probe with ``python -m
bot.faq.finetune --scope-only``). The index adds the labels of the nearest
training messages (bot/faq/memory.py) to its logit. The vector alone learns
topics as well as kinds of question: short keyword messages on a topic that
near-misses often share ("woz bezwaar maken", "kerstboom waar laten?") were
judged out of scope even where the FAQ answers them; with the match signals
the same probe can tell "this municipality answers this" from "a question on
that topic".

Measured (AUC, answerable above handover, whole sets, both unseen):

==========================================  ======  ========
probe (trained on eight municipalities)     demo    zeevliet
==========================================  ======  ========
query vector only, C = 10                   0.81    0.91
query vector + match signals, C = 0.1       0.91    0.93
... refitted on the three-seed adapter      0.91    0.92
... plus the message memory                 0.92    0.96
... memory of fourteen, refitted           0.94    0.97
... memory of twenty, refitted             0.95    0.98
... short run on twenty blended in         0.95    0.98
... and one on twenty-four (session 12)    0.95    0.98
... and one on twenty-eight (session 13)   0.95    0.98
... message also encoded as typed (now)    0.96    0.98
the message memory alone                    0.86    0.89
==========================================  ======  ========

and the decision path's accuracy on the held-out halves went 0.849 → 0.854
(demo) and 0.830 → 0.852 (zeevliet), tune halves 0.806 → 0.859 and 0.835 →
0.852 (bot/faq/models/README.md).

The inputs are standardised before fitting (the vector's dimensions and the
signals live on different scales) and C is small: C = 1 and 10 fitted the
training towns closer and did worse on both. Adding the FAQ phrasings as
answerable examples made the vector-only probe worse. The index ignores a
negative logit when the message is word for word one of the FAQ's questions
or alternatives (before that, 5 of the demo's 362 and 11 of zeevliet's 213
were handed over when typed as they stand), or up to three keywords all
taken from one entry ("bijstand", "woz bezwaar maken"; bot/faq/index.py
``EditorWording``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WEIGHT_KEY, BIAS_KEY, MATCH_KEY = "scope.weight", "scope.bias", "scope.match_weight"
# What the probe weighs besides the message itself: how well the FAQ at hand
# matches it (bot/faq/index.py ``Match.signals``).
MATCH_SIGNALS = ("best relevance", "best score", "lead over the second score")


@dataclass(frozen=True)
class ScopeProbe:
    weight: np.ndarray   # (dim,) float32, on the query vector
    bias: float
    match_weight: np.ndarray = field(default_factory=lambda: np.zeros(len(MATCH_SIGNALS), np.float32))

    def logit(self, vectors: np.ndarray, signals: np.ndarray | None = None) -> np.ndarray:
        """> 0: more like an answerable municipal question than not.
        ``signals``: (n, 3) match signals; None reads as zeros."""
        logits = np.asarray(vectors, dtype=np.float32) @ self.weight + self.bias
        if signals is not None:
            logits = logits + np.asarray(signals, dtype=np.float32) @ self.match_weight
        return logits

    def arrays(self) -> dict[str, np.ndarray]:
        return {WEIGHT_KEY: self.weight.astype(np.float32), BIAS_KEY: np.array(self.bias, dtype=np.float32),
                MATCH_KEY: self.match_weight.astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays, dim: int) -> "ScopeProbe | None":
        """The probe stored beside an adapter, or None when it has none.
        (A probe from before the match signals weighs the message only.)"""
        if WEIGHT_KEY not in arrays:
            return None
        weight = np.asarray(arrays[WEIGHT_KEY], dtype=np.float32).reshape(-1)
        if weight.shape != (dim,) or BIAS_KEY not in arrays:
            raise ValueError(f"scope probe does not fit a {dim}-dimensional encoder")
        bias = float(arrays[BIAS_KEY])
        if MATCH_KEY not in arrays:
            return cls(weight, bias)
        match_weight = np.asarray(arrays[MATCH_KEY], dtype=np.float32).reshape(-1)
        if match_weight.shape != (len(MATCH_SIGNALS),):
            raise ValueError(f"scope probe needs {len(MATCH_SIGNALS)} match weights")
        return cls(weight, bias, match_weight)

    @classmethod
    def fit(cls, vectors: np.ndarray, signals: np.ndarray, in_scope: np.ndarray,
            strength: float) -> "ScopeProbe":
        """Logistic regression on standardised inputs, classes weighted equally
        (handover is the minority); the scaling is folded into the weights.
        ``strength`` is sklearn's C: larger fits the training towns more closely."""
        from sklearn.linear_model import LogisticRegression

        inputs = np.hstack([np.asarray(vectors, np.float64), np.asarray(signals, np.float64)])
        mean, scale = inputs.mean(axis=0), inputs.std(axis=0) + 1e-6
        model = LogisticRegression(C=strength, class_weight="balanced", max_iter=5000)
        model.fit((inputs - mean) / scale, np.asarray(in_scope, dtype=bool))
        weights = model.coef_[0] / scale
        bias = float(model.intercept_[0] - weights @ mean)
        dim = np.asarray(vectors).shape[1]
        return cls(weights[:dim].astype(np.float32), bias, weights[dim:].astype(np.float32))

