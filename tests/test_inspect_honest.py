"""`inspect` refuses options that cannot apply (exit 2, one line, no file), prints every probability honestly,
says when a model has no attention, reads stdin, and inspects a file of sentences with one model load."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine import InferenceSession, inspect_cli, log_probability_text, probability_text
from main import main

SOURCE = "w1 w2"


def base(model: Path) -> list[str]:
    return ["inspect", "--model", str(model), "--device", "cpu"]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pin", "9:1"], "--pin 9"),
        (["--edit-row", "7:1,1"], "--edit-row 7"),
        (["--temperature", "0.5"], "--temperature needs --sample"),
        (["--seed", "3"], "--seed needs --sample"),
        (["--length-penalty", "0.5"], "--length-penalty needs --beam"),
        (["--sample", "--length-penalty", "0.5"], "--length-penalty needs --beam"),
        (["--beam", "2", "--temperature", "0.5"], "--temperature needs --sample"),
        (["--perturb-with", "w3"], "--perturb-with needs --perturb"),
        (["--format", "svg"], "--format needs --out-dir"),
        (["--width", "5"], "--width"),
    ],
)
def test_an_option_that_cannot_apply_exits_2_and_writes_nothing(
    tiny_model_path: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    assert main([*base(tiny_model_path), "--source", SOURCE, *extra, "--out", str(out)]) == 2
    assert message in one_error_line(capsys)
    assert not out.exists()


def test_what_if_edits_on_a_model_without_attention_exit_2(
    tiny_none_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for flags in (["--mask-source", "0"], ["--pin", "0:1"], ["--temperature-scores", "0.5"]):
        out = tmp_path / "r.json"
        assert main([*base(tiny_none_model_path), "--source", SOURCE, *flags, "--out", str(out)]) == 2
        assert "no attention" in one_error_line(capsys) and not out.exists()


def test_a_model_without_attention_exports_no_alpha(
    tiny_none_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*base(tiny_none_model_path), "--source", SOURCE]
    assert main([*argv, "--out", str(tmp_path / "r.json")]) == 0
    printed = capsys.readouterr().out
    assert "no attention" in printed and "attends to" not in printed
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["alpha"] is None and data["scores"] is None and data["has_attention"] is False
    assert data["model"]["attention"] == "none" and len(data["context"]) == len(data["output_tokens"])
    assert main([*argv, "--out", str(tmp_path / "r.npz")]) == 0
    assert "no alpha" in capsys.readouterr().err
    with np.load(tmp_path / "r.npz") as npz:
        assert "alpha" not in npz and "scores" not in npz and not bool(npz["has_attention"])
        assert tuple(npz["output_tokens"]) == tuple(data["output_tokens"])
    assert main([*argv, "--out", str(tmp_path / "r.csv")]) == 0
    rows = list(csv.reader((tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()))
    assert "no attention" in rows[0][0] and [r for (r,) in rows[1:]] == data["output_tokens"]


def test_steps_of_a_model_without_attention_carry_no_alpha(tiny_none_model_path: Path) -> None:
    session = InferenceSession.open(tiny_none_model_path, "cpu")
    assert not session.info().has_attention
    from engine import DecodeRequest, StepRecord

    items = list(session.decode(DecodeRequest(1, SOURCE, strategy="beam", beam_width=2)))
    steps = [x for x in items if isinstance(x, StepRecord)]
    assert steps and all(s.alpha is None and s.scores is None and math.isnan(s.entropy) for s in steps)
    result = items[-1]
    assert result.alpha is None and result.scores is None  # type: ignore[union-attr]
    assert all(h.alpha is None for h in result.hypotheses)  # type: ignore[union-attr]
    context = result.context  # type: ignore[union-attr]
    np.testing.assert_allclose(context, np.repeat(context[:1], len(context), axis=0), atol=1e-6)  # one vector


def test_small_probabilities_print_in_scientific_notation(
    tiny_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert probability_text(1e-8) == "1.00e-08" and probability_text(0.25) == "0.250"
    assert log_probability_text(1e-8) == f"{math.log(1e-8):.3f}" and log_probability_text(0.0) == "-inf"
    assert log_probability_text(0.999995) == "-5.00e-06"  # p near 1: never "-0.000"
    assert main([*base(tiny_model_path), "--source", "w1 w2 w3", "--target", "W1 W1 W1 W1 W1 W1"]) == 0
    out = capsys.readouterr().out
    assert "p=0.000" not in out and "e-" in out and "log p=" in out


def test_beam_prints_and_exports_log_p_score_and_penalty(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.json"
    argv = [*base(tiny_model_path), "--source", "w1 w2 w3", "--beam", "3", "--length-penalty", "0.5"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "length^0.5" in printed and "log p" in printed
    for h in json.loads(out.read_text(encoding="utf-8"))["hypotheses"]:
        assert h["length_penalty"] == 0.5
        assert h["score"] == pytest.approx(h["log_prob"] / len(h["tokens"]) ** 0.5)
    assert main([*argv, "--out", str(tmp_path / "b.npz")]) == 0
    with np.load(tmp_path / "b.npz") as npz:
        assert float(npz["length_penalty"]) == 0.5
        np.testing.assert_allclose(npz["hypothesis_score"][0], npz["hypothesis_log_prob"][0] / 4**0.5, rtol=1e-6)


def test_source_dash_reads_standard_input(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("w1 w2 w3\n"))
    assert main([*base(tiny_model_path), "--source", "-", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["source_tokens"] == ["w1", "w2", "w3"]


def test_batch_inspection_writes_a_file_per_line_and_an_index(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[object] = []
    real_open = inspect_cli.InferenceSession.open

    def counting_open(*args: object, **kwargs: object) -> InferenceSession:
        opened.append(args)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inspect_cli.InferenceSession, "open", counting_open)
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("w1 w2\n\nw3 w4 w5\n", encoding="utf-8")
    out = tmp_path / "batch"
    argv = [*base(tiny_model_path), "--source-file", str(sentences), "--out-dir", str(out), "--format", "svg"]
    assert main(argv) == 1  # the empty line is reported, the others written
    err = capsys.readouterr().err
    assert "line 2" in err and "inspect" in err  # the report, and the progress bar
    assert len(opened) == 1
    assert sorted(p.name for p in out.iterdir()) == ["0001.json", "0001.svg", "0003.json", "0003.svg", "index.tsv"]
    rows = [line.split("\t") for line in (out / "index.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["line", "source", "output", "file"] and [r[0] for r in rows[1:]] == ["1", "2", "3"]
    first = json.loads((out / "0001.json").read_text(encoding="utf-8"))
    assert rows[1][1:] == ["w1 w2", first["text"], "0001.json 0001.svg"] and rows[2][2:] == ["", ""]


def test_batch_options_need_each_other(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentences = tmp_path / "s.txt"
    sentences.write_text("w1\n", encoding="utf-8")
    assert main([*base(tiny_model_path), "--source-file", str(sentences)]) == 2
    assert "--out-dir" in one_error_line(capsys)
    assert main([*base(tiny_model_path), "--source", "w1", "--out-dir", str(tmp_path / "d")]) == 2
    assert "--source-file" in one_error_line(capsys) and not (tmp_path / "d").exists()


def test_inspect_writes_a_pdf(tiny_model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.pdf"
    assert main([*base(tiny_model_path), "--source", SOURCE, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    png = tmp_path / "h.png"
    argv = [*base(tiny_model_path), "--source", SOURCE, "--width", "500", "--height", "400", "--dpi", "192"]
    assert main([*argv, "--out", str(png)]) == 0
    from PySide6.QtGui import QImage

    assert QImage(str(png)).size().toTuple() == (1000, 800)
