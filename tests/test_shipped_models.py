"""The demo models in resources/models: they load, meet their acceptance figures, and attend as the article says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DecodeRequest, DecodeResult, InferenceSession
from engine.evaluation.quality import evaluate_model, read_eval_pairs
from models import load_checkpoint
from tests.fakes import alpha_of

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "resources" / "models"
DATA = ROOT / "resources" / "data"
EN_HI = ("bahdanau", "luong_general", "none")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def decode(name: str, source: str) -> DecodeResult:
    session = InferenceSession.open(MODELS / f"{name}.safetensors", "cpu")
    return session.run(DecodeRequest(1, source))


@pytest.mark.parametrize("name", [f"en_hi_{a}" for a in EN_HI] + ["en_hi_transformer", "dates_bahdanau"])
def test_each_model_loads_with_its_card(name: str) -> None:
    path = MODELS / f"{name}.safetensors"
    assert path.stat().st_size < 8_000_000, "shipped models stay small enough for the repository"
    ckpt = load_checkpoint(path)
    card = (MODELS / f"{name}.md").read_text(encoding="utf-8")
    assert "python main.py train" in card and "--seed" in card  # the exact command that made it
    assert "## Differences from the paper" in card and "| decoding | beam search" in card
    assert ckpt.training, "the checkpoint carries its training summary"


def test_en_hi_models_share_one_recipe_and_each_stopped_early() -> None:
    """A fair comparison: the same recipe and epoch cap for all three, each trained until its validation loss
    stopped improving (not cut off by the cap), as its card says."""
    runs = [load_checkpoint(MODELS / f"en_hi_{a}.safetensors").training for a in EN_HI]
    recipe = {
        "seed",
        "train_pairs",
        "valid_pairs",
        "epoch_cap",
        "patience",
        "min_delta",
        "lr",
        "lr_decay",
        "batch_size",
        "clip",
    }
    assert all({k: run[k] for k in recipe} == {k: runs[0][k] for k in recipe} for run in runs)
    configs = [load_checkpoint(MODELS / f"en_hi_{a}.safetensors").config for a in EN_HI]
    assert len({(c.embed_dim, c.hidden_dim, c.rnn, c.bidirectional) for c in configs}) == 1
    for name, run in zip(EN_HI, runs, strict=True):
        assert run["stopped_by"].startswith("early stopping") and run["epochs_run"] < run["epoch_cap"]
        card = (MODELS / f"en_hi_{name}.md").read_text(encoding="utf-8")
        assert f"stopped by {run['stopped_by']}" in card


@pytest.mark.parametrize("name", [f"en_hi_{a}" for a in EN_HI])
def test_every_en_hi_model_translates_the_article_example_and_knows_punctuation(name: str) -> None:
    assert decode(name, "turn off the lights").text == "लाइट बंद करो"
    result = decode(name, "Turn off the lights, please!")
    assert result.source_tokens == ("turn", "off", "the", "lights", ",", "please", "!")
    assert not result.unknown_positions  # "," and "!" are in the vocabulary; casing is folded


def test_the_articles_example_and_where_it_looks() -> None:
    result = decode("en_hi_bahdanau", "turn off the lights")
    assert result.text == "लाइट बंद करो"
    src = list(result.source_tokens)
    out = list(result.output_tokens)
    peak = {tok: src[int(np.argmax(alpha_of(result)[i]))] for i, tok in enumerate(out)}
    assert peak["लाइट"] == "lights"
    assert peak["बंद"] in ("turn", "off")
    assert peak["करो"] in ("turn", "off")
    np.testing.assert_allclose(alpha_of(result).sum(axis=1), 1.0, atol=1e-5)


def test_the_transformer_translates_the_example_and_its_heads_look_at_the_words() -> None:
    result = decode("en_hi_transformer", "turn off the lights")
    assert result.text == "लाइट बंद करो"
    assert result.heads is not None and result.heads.weights.shape == (4, 2, 4, 4)  # steps, layers, heads, words
    src = list(result.source_tokens)
    peak = {tok: src[int(np.argmax(alpha_of(result)[i]))] for i, tok in enumerate(result.output_tokens)}
    assert (peak["लाइट"], peak["बंद"], peak["करो"]) == ("lights", "off", "turn")  # mean over the last layer's heads
    card = (MODELS / "en_hi_transformer.md").read_text(encoding="utf-8")
    assert "--arch transformer" in card and "transformer, 2 encoder + 2 decoder layers, 4 heads" in card


def test_transformer_exact_match_on_held_out_short_sentences() -> None:
    report = evaluate_model(
        load_checkpoint(MODELS / "en_hi_transformer.safetensors"), read_eval_pairs(DATA / "en_hi_test.tsv")
    )
    assert report.overall.exact_match is not None and report.overall.exact_match >= 0.95


def test_bahdanau_exact_match_on_held_out_short_sentences() -> None:
    pairs = read_eval_pairs(DATA / "en_hi_test.tsv")
    assert len(pairs) >= 500 and max(len(p.source.split()) for p in pairs) <= 15
    report = evaluate_model(load_checkpoint(MODELS / "en_hi_bahdanau.safetensors"), pairs)
    assert report.overall.exact_match is not None and report.overall.exact_match >= 0.95


def test_dates_exact_match_on_held_out_dates() -> None:
    pairs = read_eval_pairs(DATA / "dates_test.tsv")
    report = evaluate_model(load_checkpoint(MODELS / "dates_bahdanau.safetensors"), pairs)
    assert report.overall.exact_match is not None and report.overall.exact_match >= 0.98
    assert decode("dates_bahdanau", "23rd of november 2026").text.replace(" ", "") == "2026-11-23"


def test_without_attention_the_context_is_the_whole_sentence_summary_at_every_step() -> None:
    result = decode("en_hi_none", "turn off the lights in the kitchen")
    assert len(result.context) > 2
    np.testing.assert_allclose(result.context, np.broadcast_to(result.context[0], result.context.shape), atol=1e-6)
    h, states = result.encoder_states.shape[1] // 2, result.encoder_states
    # Memory.final: the forward state after the last word ⊕ the backward state after the first.
    np.testing.assert_allclose(result.context[0], np.concatenate([states[-1, :h], states[0, h:]]), atol=1e-6)
    assert result.alpha is None  # no α: the engine reports none (no source position is weighted)


def test_shipped_report_shows_the_bottleneck() -> None:
    """The committed quality-vs-length report: the fixed vector loses quality with length, attention holds."""
    report = json.loads((ROOT / "resources" / "reports" / "en_hi_quality.json").read_text(encoding="utf-8"))
    bleu = {m["model"]: [b["bleu"] for b in m["buckets"]] for m in report["models"]}
    assert set(bleu) == {f"en_hi_{a}" for a in EN_HI}
    assert all(b["count"] == 100 for m in report["models"] for b in m["buckets"])
    plain = bleu["en_hi_none"]
    assert plain[-1] < plain[0] - 20, plain  # the longest sentences lose to the shortest
    assert all(later <= earlier + 2 for earlier, later in zip(plain, plain[1:], strict=False)), plain  # falls steadily
    for name in ("en_hi_bahdanau", "en_hi_luong_general"):
        attention = bleu[name]
        assert attention[-1] >= attention[0] - 10, (name, attention)  # holds with length
        assert attention[-1] > plain[-1] + 15, (name, attention, plain)  # and beats the fixed vector where it is long
    none_rows = next(m for m in report["models"] if m["model"] == "en_hi_none")
    assert all(b["aer"] is None and b["entropy"] is None for b in none_rows["buckets"])  # it has no α to score
