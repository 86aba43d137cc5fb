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
    assert ckpt.training, "the checkpoint carries its training summary"


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


def test_without_attention_the_context_never_changes() -> None:
    result = decode("en_hi_none", "turn off the lights in the kitchen")
    assert len(result.context) > 2
    np.testing.assert_allclose(result.context, np.broadcast_to(result.context[0], result.context.shape), atol=1e-6)


def test_shipped_report_shows_the_bottleneck() -> None:
    """The committed quality-vs-length report: attention holds up on long sentences, the fixed vector does not."""
    report = json.loads((ROOT / "resources" / "reports" / "en_hi_quality.json").read_text(encoding="utf-8"))
    by_model = {m["model"]: {b["range"]: b for b in m["buckets"]} for m in report["models"]}
    assert set(by_model) == {f"en_hi_{a}" for a in EN_HI}
    for long in ("31-40", "41-50"):
        bahdanau, plain = by_model["en_hi_bahdanau"][long], by_model["en_hi_none"][long]
        assert bahdanau["count"] > 0
        assert bahdanau["bleu"] >= 85
        assert bahdanau["bleu"] - plain["bleu"] >= 30
