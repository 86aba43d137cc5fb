"""Which head to trust: the head ranking against an AER computed here from the records, sink flags on a hand-made
case, progress and cancelling, `evaluate --heads` (JSON, plot, refusals, no Qt for JSON) and the ranking figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DecodeRequest, EvaluationCancelled, InferenceSession, rank_heads
from engine.evaluation.head_ranking import SINK_RULE, rank_results
from engine.evaluation.quality import EvalPair, read_eval_pairs
from engine.head_views import sink_heads, sink_shares
from engine.records import HeadMatrices
from engine.word_view import word_level
from main import main
from tests.fakes import fake_result

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "resources" / "models" / "en_hi_transformer.safetensors"
TEST_DATA = ROOT / "resources" / "data" / "en_hi_test.tsv"
LINES = 6


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the test machine shares two cores with training runs


@pytest.fixture(scope="module")
def session() -> InferenceSession:
    return InferenceSession.open(MODEL, device="cpu")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first lines of the shipped test data, gold alignments included."""
    path = tmp_path_factory.mktemp("heads") / "few.tsv"
    path.write_text("".join(TEST_DATA.read_text("utf-8").splitlines(keepends=True)[:LINES]), "utf-8")
    return path


def _links(source: tuple[str, ...], output: tuple[str, ...], rows: np.ndarray) -> set[tuple[int, int]]:
    """Word links by the stated rule, straight from the word view: each target word (not <eos>) to its argmax
    source word (the shipped model's source has no end token)."""
    view = word_level(source, output, rows)
    assert len(view.source_words) == len(source) and "<eos>" not in view.source_words  # a word tokenizer
    return {(int(np.argmax(row)), t) for t, row in enumerate(view.alpha) if view.output_words[t] != "<eos>"}


def test_ranking_equals_an_aer_computed_from_the_records(session: InferenceSession, data: Path) -> None:
    pairs = read_eval_pairs(data)
    report = rank_heads(session, pairs, model="en_hi_transformer", data=str(data))
    layers, heads = report["layers"], report["heads"]
    Key = tuple[str, int | None, int | None]
    views: dict[Key, tuple[int | slice, int | slice]] = {
        ("head", layer, head): (layer, head) for layer in range(layers) for head in range(heads)
    }
    views |= {("layer", layer, None): (layer, slice(None)) for layer in range(layers)}
    views[("all", None, None)] = (slice(None), slice(None))
    counts = {key: np.zeros(3) for key in views}
    for n, pair in enumerate(pairs):
        result = session.run(DecodeRequest(n, pair.source, strategy="forced", target=pair.target))
        assert result.heads is not None and pair.alignment is not None
        gold = set(pair.alignment)
        for key, (layer, head) in views.items():
            rows = result.heads.weights[:, layer, head]
            rows = rows if rows.ndim == 2 else rows.reshape(len(rows), -1, rows.shape[-1]).mean(axis=1)
            links = _links(result.source_tokens, result.output_tokens, rows)
            counts[key] += (len(links & gold), len(links), len(gold))
    expected = {key: 1 - 2 * both / (found + wanted) for key, (both, found, wanted) in counts.items()}
    got = {(r["kind"], r["layer"], r["head"]): r for r in report["ranking"]}
    assert set(got) == set(expected) and len(report["ranking"]) == layers * heads + layers + 1
    for key, aer in expected.items():
        assert got[key]["aer"] == pytest.approx(aer, abs=5e-5), key
    aers = [r["aer"] for r in report["ranking"]]
    assert None not in aers and aers == sorted(a or 0.0 for a in aers)
    assert [r["rank"] for r in report["ranking"]] == list(range(1, len(aers) + 1))
    single = {key: aer for key, aer in expected.items() if key[0] == "head"}
    best = report["best"]
    assert best is not None and single[("head", best["layer"], best["head"])] == pytest.approx(min(single.values()))
    assert report["sentences"] == LINES and report["skipped"] == 0
    assert "argmax" in report["rule"] or "largest weight" in report["rule"]


def test_sink_heads_are_flagged_on_a_hand_made_case() -> None:
    """Head 0 aligns by the gold links, head 1 parks 92 % on <eos>, head 2 exactly half on "." (not above)."""
    source = ("turn", "off", "the", "lights", ".", "<eos>")
    output = ("लाइट", "बंद", "करो", "<eos>")
    gold = ((3, 0), (1, 1), (0, 2))
    weights = np.zeros((len(output), 1, 3, len(source)), dtype=np.float32)
    for t in range(len(output)):
        weights[t, 0, 0] = 0.06
        weights[t, 0, 0, gold[t][0] if t < len(gold) else 5] = 0.7
        weights[t, 0, 1] = [0.02] * 5 + [0.9]
        weights[t, 0, 2] = [0.125] * 4 + [0.5, 0.0]
    expected_shares = np.array([[(3 * 0.12 + 0.76) / 4, 0.92, 0.5]])
    np.testing.assert_allclose(sink_shares(weights, source), expected_shares, atol=1e-6)
    np.testing.assert_array_equal(sink_heads(weights, source), [[False, True, False]])

    zeros = np.zeros_like(weights)
    heads = HeadMatrices(weights, zeros, np.zeros((len(output), 1, 3, 2), np.float32), zeros, (), "hand-made")
    result = fake_result(source, output)._replace(heads=heads)
    pair = EvalPair(" ".join(source[:-1]), " ".join(output[:-1]), gold)
    report = rank_results([(result, pair)], (1, 3))
    rows = {r["label"]: r for r in report["ranking"]}
    assert [r["sink"] for r in (rows["layer 0 head 0"], rows["layer 0 head 1"], rows["layer 0 head 2"])] == [
        False,
        True,
        False,
    ]
    assert rows["layer 0 head 1"]["sink_share"] == pytest.approx(0.92, abs=1e-4)
    assert rows["mean of layer 0"]["sink_share"] == pytest.approx(expected_shares.mean(), abs=1e-4)
    assert report["sinks"] == ["layer 0 head 1"] and report["sink_rule"] == SINK_RULE
    assert rows["layer 0 head 0"]["aer"] == 0.0  # every target word on its gold source word
    assert rows["layer 0 head 1"]["aer"] == 1.0  # all on <eos>: no links at all
    assert rows["layer 0 head 2"]["aer"] == 1.0  # all on ".": three links, none gold
    assert report["best"] is not None and report["best"]["label"] == "layer 0 head 0"


def test_progress_counts_sentences_and_cancels(session: InferenceSession, data: Path) -> None:
    pairs = read_eval_pairs(data)
    seen: list[tuple[int, int]] = []

    def note(done: int, total: int) -> bool:
        seen.append((done, total))
        return True

    rank_heads(session, pairs[:3], progress=note)
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    calls: list[int] = []

    def stop(done: int, total: int) -> bool:
        calls.append(done)
        return done < 1

    with pytest.raises(EvaluationCancelled):
        rank_heads(session, pairs, progress=stop)
    assert calls == [0, 1]


def test_cli_writes_json_and_a_plot(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtGui import QImage

    out, plot = tmp_path / "heads.json", tmp_path / "heads.png"
    argv = ["evaluate", "--heads", "--model", str(MODEL), "--data", str(data), "--device", "cpu"]
    assert main([*argv, "--out", str(out), "--plot", str(plot), "--width", "640", "--height", "480"]) == 0
    report = json.loads(out.read_text("utf-8"))
    assert report["model"] == "en_hi_transformer" and report["data"] == str(data)
    assert {"layer", "head", "aer", "sink_share", "sink"} <= set(report["ranking"][0])
    assert report["best"]["kind"] == "head" and report["rule"]
    image = QImage(str(plot))
    assert (image.width(), image.height()) == (640, 480)
    printed = capsys.readouterr().out
    assert f"best head: {report['best']['label']}" in printed and f"wrote {plot}" in printed


def test_cli_refuses_an_rnn_and_bad_options(
    tiny_model_path: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    base = ["evaluate", "--heads", "--data", str(data), "--out", str(out), "--device", "cpu"]
    cases = [
        ["--model", str(tiny_model_path)],  # an RNN: no heads
        ["--model", str(MODEL), "--model", str(MODEL)],
        ["--model", str(MODEL), "--batch-size", "8"],
    ]
    for extra in cases:
        capsys.readouterr()
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("evaluate: "), err
        assert not out.exists()
    assert main([*base, "--model", str(tiny_model_path)]) == 2
    assert "no attention heads" in capsys.readouterr().err
    no_gold = tmp_path / "no_gold.tsv"
    no_gold.write_text("turn off the lights\tलाइट बंद करो\n", "utf-8")
    assert main(["evaluate", "--heads", "--model", str(MODEL), "--data", str(no_gold), "--out", str(out)]) == 2
    assert "no gold alignments" in capsys.readouterr().err and not out.exists()


def test_json_output_imports_no_qt(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "heads.json"
    argv = ["evaluate", "--heads", "--model", str(MODEL), "--data", str(data), "--out", str(out), "--device", "cpu"]
    code = (
        "import sys, main\n"
        f"status = main.main({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'gui')))\n"
        "sys.exit(status)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]" and json.loads(out.read_text("utf-8"))["ranking"]


def test_ranking_figure_marks_the_best_head_and_the_sinks(qtbot, tmp_path: Path) -> None:
    """The best head's frame is drawn in its colour; hatching a sink head changes its cell; SVG stays vector."""
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QPainter

    from gui.export.figure import FigureSize, figure_image
    from gui.export.head_ranking_figure import BEST, export_head_ranking, paint_head_ranking

    def row(layer: int | None, head: int | None, kind: str, aer: float, sink: bool = False) -> dict:
        label = f"layer {layer} head {head}" if kind == "head" else "mean"
        return {"kind": kind, "layer": layer, "head": head, "label": label, "aer": aer, "sink": sink}

    ranking = [row(0, 0, "head", 0.2), row(0, 1, "head", 0.9), row(0, None, "layer", 0.4), row(None, None, "all", 0.4)]
    report = {"model": "m", "data": "d.tsv", "layers": 1, "heads": 2, "ranking": ranking, "rule": "argmax"}
    report |= {"best": ranking[0], "sinks": [], "sink_rule": "more than half", "sentences": 1, "skipped": 0}
    sunk = {**report, "ranking": [ranking[0], row(0, 1, "head", 0.9, sink=True), *ranking[2:]]}
    size = FigureSize(600, 400)

    def image(of: dict) -> np.ndarray:
        def paint(painter: QPainter, area: QSizeF) -> None:
            paint_head_ranking(painter, area, of)

        picture = figure_image(paint, size)
        return np.array([[picture.pixelColor(x, y).name() for x in range(size.width)] for y in range(size.height)])

    plain, hatched = image(report), image(sunk)
    assert (plain == BEST.name()).any()
    assert (plain != hatched).any()
    for suffix in (".svg", ".pdf", ".png"):
        export_head_ranking(sunk, tmp_path / f"r{suffix}", (600, 400, 96.0))
        assert (tmp_path / f"r{suffix}").stat().st_size > 0
    svg = (tmp_path / "r.svg").read_text("utf-8")
    assert "<image" not in svg and "<text" not in svg  # vector cells, text as outlines
