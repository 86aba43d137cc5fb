"""Quality against source length: buckets, AER, BLEU/exact match, batched decoding and the evaluate CLI."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from pytestqt.qtbot import QtBot

from engine import EvaluationCancelled
from engine.evaluation import evaluate_cli
from engine.evaluation.quality import (
    BUCKET_LABELS,
    EvalPair,
    alignment_error_rate,
    argmax_links,
    bucket_index,
    evaluate_model,
    read_eval_pairs,
    word_map,
)
from main import main
from models import BOS_ID, EOS_ID, Checkpoint, DataError, Tokenizer, load_checkpoint
from models.rnn.seq2seq import Seq2Seq
from tests.conftest import TOY_WORDS

SCORE_KEYS = {"range", "count", "bleu", "chrf", "exact_match", "aer", "entropy"}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the test machine shares two cores with training runs


@pytest.fixture(scope="module")
def tiny(tiny_model_path: Path) -> Checkpoint:
    return load_checkpoint(tiny_model_path)


def _toy_pairs(n: int, seed: int) -> list[EvalPair]:
    """Reversal task with its exact alignment: source word k ↔ target word n-1-k."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        words = [rng.choice(TOY_WORDS) for _ in range(rng.randint(2, 6))]
        links = tuple((k, len(words) - 1 - k) for k in range(len(words)))
        pairs.append(EvalPair(" ".join(words), " ".join(w.upper() for w in reversed(words)), links))
    return pairs


# -- buckets and AER ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "label"),
    [(1, "1-10"), (10, "1-10"), (11, "11-20"), (20, "11-20"), (21, "21-30"), (50, "41-50"), (51, "51+"), (400, "51+")],
)
def test_bucket_edges(words: int, label: str) -> None:
    assert BUCKET_LABELS[bucket_index(words)] == label


def test_aer_by_hand() -> None:
    gold = {(0, 0), (1, 1), (2, 2)}
    assert alignment_error_rate(set(gold), gold) == 0.0
    assert alignment_error_rate({(0, 1), (1, 0)}, gold) == 1.0
    # |A∩S| = 1, |A| = 2, |S| = 3: 1 - 2·1/(2+3) = 0.6
    assert alignment_error_rate({(0, 0), (1, 2)}, gold) == pytest.approx(0.6)


def test_argmax_links_map_tokens_back_to_words() -> None:
    alpha = torch.tensor([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1]])  # rows: target tokens
    src_map = word_map(Tokenizer("word"), "hello, world")  # tokens: hello , world
    assert src_map == [0, 0, 1]
    assert argmax_links(alpha, src_map, [0, 1, None]) == {(1, 0), (0, 1)}
    assert word_map(Tokenizer("char"), "ab c") == [0, 0, None, 1]


def test_read_eval_pairs_keeps_alignments_and_rejects_bad_ones(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text("a b\tB A\t0-1 1-0\n\nc d\tD C\n", encoding="utf-8")
    assert read_eval_pairs(good) == [EvalPair("a b", "B A", ((0, 1), (1, 0))), EvalPair("c d", "D C", None)]
    for bad_column in ("0-1 1-x", "0-2"):  # malformed; target index out of range
        bad = tmp_path / "bad.tsv"
        bad.write_text(f"a b\tB A\n\na b\tB A\t{bad_column}\n", encoding="utf-8")
        with pytest.raises(DataError, match="line 3"):
            read_eval_pairs(bad)


# -- decoding and scores on the tiny model -------------------------------------------------------


def _one_at_a_time(ckpt: Checkpoint, source: str) -> list[int]:
    """Independent reference: plain step-by-step greedy decoding of one sentence."""
    ids = ckpt.src_vocab.encode(ckpt.src_tokenizer.tokenize(source))
    model = ckpt.model
    with torch.inference_mode():
        memory = model.encode(torch.tensor([ids]), torch.tensor([len(ids)]))
        state, prev, out = model.init_state(memory), torch.tensor([BOS_ID]), []
        for _ in range(2 * len(ids) + 10):
            step = model.decode_step(prev, state, memory)
            prev, state = step.logits.argmax(-1), step.state
            if int(prev) == EOS_ID:
                break
            out.append(int(prev))
    return out


def test_batched_and_one_at_a_time_decoding_agree(tiny: Checkpoint) -> None:
    pairs = _toy_pairs(40, seed=11)
    batched = evaluate_model(tiny, pairs, batch_size=64)
    single = evaluate_model(tiny, pairs, batch_size=1)
    assert batched.hypotheses == single.hypotheses
    assert batched.to_dict() == single.to_dict()
    expected = [tiny.tgt_tokenizer.detokenize(tiny.tgt_vocab.decode(_one_at_a_time(tiny, p.source))) for p in pairs]
    assert batched.hypotheses == expected


def test_outputs_equal_to_references_score_100(tiny: Checkpoint) -> None:
    sources = _toy_pairs(30, seed=5)
    first = evaluate_model(tiny, sources, batch_size=16)
    # References := the model's own outputs, so every output is exactly right.
    pairs = [EvalPair(p.source, hyp) for p, hyp in zip(sources, first.hypotheses, strict=True) if hyp]
    report = evaluate_model(tiny, pairs, batch_size=16, name="tiny")
    overall = report.overall
    assert overall.count == len(pairs) > 20
    assert overall.bleu == pytest.approx(100.0)
    assert overall.chrf == pytest.approx(100.0)
    assert overall.exact_match == 1.0
    assert overall.aer is None  # no gold alignments given
    assert overall.entropy is not None and overall.entropy >= 0.0
    assert [b.range for b in report.buckets] == list(BUCKET_LABELS)
    assert report.buckets[1].count == 0 and report.buckets[1].bleu is None  # toy sources are 2-6 words


def test_aer_is_reported_where_gold_exists(tiny: Checkpoint) -> None:
    report = evaluate_model(tiny, _toy_pairs(20, seed=8), batch_size=8)
    assert report.overall.aer is not None and 0.0 <= report.overall.aer <= 1.0
    assert report.buckets[0].aer == report.overall.aer  # every toy sentence is in 1-10


def test_a_model_without_attention_has_no_entropy_or_aer(tiny: Checkpoint) -> None:
    """Its α rows are zeros (one fixed context for every step): nothing to measure, so null, not 0."""
    config = replace(tiny.config, attention="none")
    plain = Checkpoint(Seq2Seq(config).eval(), tiny.src_vocab, tiny.tgt_vocab, tiny.src_tokenizer, tiny.tgt_tokenizer)
    report = evaluate_model(plain, _toy_pairs(20, seed=8), batch_size=8)
    assert report.overall.aer is None and report.overall.entropy is None
    assert report.overall.bleu is not None and report.overall.count == 20


def test_progress_reports_and_cancels(tiny: Checkpoint) -> None:
    pairs = _toy_pairs(10, seed=2)
    seen: list[tuple[int, int]] = []

    def record(done: int, total: int) -> bool:
        seen.append((done, total))
        return True

    evaluate_model(tiny, pairs, batch_size=4, progress=record)
    assert seen == [(4, 10), (8, 10), (10, 10)]
    with pytest.raises(EvaluationCancelled):
        evaluate_model(tiny, pairs, batch_size=4, progress=lambda done, total: False)


# -- CLI -------------------------------------------------------------------------------------


def _write_tsv(path: Path, pairs: list[EvalPair]) -> Path:
    lines = [f"{p.source}\t{p.target}\t" + " ".join(f"{s}-{t}" for s, t in p.alignment or ()) for p in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_writes_report_and_plot(tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtGui import QImage

    data = _write_tsv(tmp_path / "test.tsv", _toy_pairs(12, seed=4))
    out, plot = tmp_path / "report.json", tmp_path / "report.png"
    argv = [
        "--model",
        str(tiny_model_path),
        "--model",
        str(tiny_model_path),
        "--data",
        str(data),
        "--out",
        str(out),
        "--plot",
        str(plot),
        "--batch-size",
        "8",
        "--device",
        "cpu",
    ]
    assert main(["evaluate", *argv]) == 0  # main.py hands the command the window's plotter
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [m["model"] for m in report["models"]] == [tiny_model_path.stem] * 2
    for model in report["models"]:
        assert [b["range"] for b in model["buckets"]] == list(BUCKET_LABELS)
        assert set(model) == {"model", "buckets", "overall"}
        assert all(set(b) == SCORE_KEYS for b in [*model["buckets"], model["overall"]])
        assert model["overall"]["count"] == 12 == model["buckets"][0]["count"]
        assert model["buckets"][0]["aer"] is not None
    image = QImage(str(plot))
    assert not image.isNull() and image.width() > 400
    assert "wrote" in capsys.readouterr().out


def test_cli_exits_2_with_one_line_on_bad_input(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write_tsv(tmp_path / "good.tsv", _toy_pairs(3, seed=1))
    bad = tmp_path / "bad.tsv"
    bad.write_text("w1 w2\tW2 W1\nno tab on this line\n", encoding="utf-8")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    cases = [
        ["--model", str(tmp_path / "missing.safetensors"), "--data", str(good)],
        ["--model", str(junk), "--data", str(good)],
        ["--model", str(tiny_model_path), "--data", str(bad)],
        ["--model", str(tiny_model_path), "--data", str(good), "--plot", str(tmp_path / "x.jpg")],
        ["--model", str(tiny_model_path), "--data", str(good), "--batch-size", "0"],
        ["--data", str(good)],
    ]
    for argv in cases:
        assert evaluate_cli.main([*argv, "--out", str(tmp_path / "r.json")]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("evaluate: ") and "\n" not in err, err
    assert "line 2" in _stderr_of(["--model", str(tiny_model_path), "--data", str(bad)], tmp_path, capsys)
    assert not (tmp_path / "r.json").exists()


def _stderr_of(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    evaluate_cli.main([*argv, "--out", str(tmp_path / "r.json")])
    return capsys.readouterr().err


def test_quality_plot_redraws_exports_svg_and_tears_down_twice(qtbot: QtBot, tmp_path: Path) -> None:
    from gui.tools.quality_plot import QualityPlot

    buckets = [{"range": r, "bleu": None if r == "51+" else 50.0, "exact_match": 0.5} for r in BUCKET_LABELS]
    report = {"models": [{"model": "a", "buckets": buckets}, {"model": "b", "buckets": buckets[:3]}]}
    widget = QualityPlot()
    qtbot.addWidget(widget)
    widget.resize(600, 450)
    widget.set_report(report)
    widget.set_report(report)  # a second report replaces the first, legend included
    assert len(widget._legend.items) == 2
    widget.export(tmp_path / "q.svg")
    svg = (tmp_path / "q.svg").read_text(encoding="utf-8")
    assert "quality against source length" in svg and "<path" in svg  # the title; labels are outlines
    assert "<text" not in svg and "<image" not in svg
    widget.teardown()
    widget.teardown()


def test_a_model_without_attention_gets_no_aer_or_entropy(tiny_none_model_path: Path) -> None:
    """Its placeholder weights are no attention: nothing is scored from them."""
    from models import load_any

    report = evaluate_model(load_any(tiny_none_model_path), _toy_pairs(12, seed=4), batch_size=6)
    assert report.overall.aer is None and report.overall.entropy is None
    assert report.overall.bleu is not None  # the translation itself is still scored
