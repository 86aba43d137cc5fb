"""`python main.py inspect`: outputs parse and agree with the engine; bad input exits 2 with one line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import DecodeRequest, DecodeResult, InferenceSession, inspect_cli
from main import main
from tests.fakes import alpha_of, scores_of

ROOT = Path(__file__).resolve().parent.parent

SOURCE = "w1 w2 w3 zz"


@pytest.fixture(scope="module")
def expected(tiny_model_path: Path) -> DecodeResult:
    return InferenceSession.open(tiny_model_path, "cpu").run(DecodeRequest(1, SOURCE, strategy="beam", beam_width=3))


def inspect(model: Path, out: Path | None = None, *extra: str) -> int:
    argv = ["inspect", "--model", str(model), "--source", SOURCE, "--beam", "3", "--device", "cpu", *extra]
    return main(argv + (["--out", str(out)] if out else []))


def test_json_output_agrees_with_the_engine(
    tiny_model_path: Path, tmp_path: Path, expected: DecodeResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inspect(tiny_model_path, tmp_path / "r.json") == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["output_tokens"] == list(expected.output_tokens) and data["text"] == expected.text
    assert data["source_tokens"] == ["w1", "w2", "w3", "zz"]
    assert data["unknown_tokens"] == [{"position": 3, "token": "zz"}]
    np.testing.assert_allclose(data["alpha"], alpha_of(expected))
    np.testing.assert_allclose(data["scores"], scores_of(expected))
    np.testing.assert_allclose(data["context"], expected.context)
    np.testing.assert_allclose(data["token_probs"], expected.token_probs)
    assert [c["token"] for c in data["topk"][0]] == [c.token for c in expected.topk[0]]
    assert (
        data["strategy"] == "beam"
        and data["model"]["rnn"] == "gru"
        and len(data["hypotheses"]) == len(expected.hypotheses)
    )
    out = capsys.readouterr()
    assert expected.text in out.out and "zz" in out.err  # the unknown word is noted


def test_npz_output_agrees_with_the_engine(tiny_model_path: Path, tmp_path: Path, expected: DecodeResult) -> None:
    assert inspect(tiny_model_path, tmp_path / "r.npz") == 0
    with np.load(tmp_path / "r.npz") as data:
        for key in ("alpha", "scores", "context", "states", "encoder_states", "token_probs"):
            np.testing.assert_array_equal(data[key], getattr(expected, key))
        assert tuple(data["output_tokens"]) == expected.output_tokens
        assert tuple(data["source_tokens"]) == expected.source_tokens


def test_csv_output_is_alpha_with_token_headers(tiny_model_path: Path, tmp_path: Path, expected: DecodeResult) -> None:
    assert inspect(tiny_model_path, tmp_path / "r.csv") == 0
    rows = list(csv.reader((tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["output\\source", *expected.source_tokens]
    assert [r[0] for r in rows[1:]] == list(expected.output_tokens)
    np.testing.assert_allclose([[float(x) for x in r[1:]] for r in rows[1:]], alpha_of(expected), rtol=1e-7)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_image_output(tiny_model_path: Path, tmp_path: Path, suffix: str) -> None:
    pytest.importorskip(
        "gui.export.render", reason="gui/export/render.py (the offscreen heatmap renderer) is not in the tree yet"
    )
    out = tmp_path / f"r{suffix}"
    assert inspect(tiny_model_path, out) == 0
    assert out.stat().st_size > 0


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    return err


def test_bad_model_path_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert inspect(tmp_path / "missing.safetensors") == 2
    assert "missing.safetensors" in one_error_line(capsys)


def test_corrupt_model_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    assert inspect(bad) == 2
    one_error_line(capsys)


def test_missing_shipped_model_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(inspect_cli, "DEFAULT_MODEL", tmp_path / "en_hi_bahdanau.safetensors")
    assert inspect_cli.main(["--source", "turn off the lights"]) == 2
    assert "--model" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source", "   "], "empty"),
        (["--beam", "0"], "--beam"),
        (["--out", "result.txt"], "format"),
        (["--target", "w1", "--sample"], "not allowed"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tiny_model_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--model", str(tiny_model_path), "--source", "w1 w2", "--device", "cpu", *extra]) == 2
    assert message in one_error_line(capsys)


def test_forced_and_sampled_runs(tiny_model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["inspect", "--model", str(tiny_model_path), "--source", "w1 w2", "--device", "cpu"]
    assert main([*base, "--target", "w2 w1"]) == 0
    assert "w2 w1" in capsys.readouterr().out
    assert main([*base, "--sample", "--temperature", "0.5", "--seed", "3", "--max-len", "3"]) == 0


def test_images_need_the_renderer_main_py_passes_in(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine draws nothing itself: called without main.py's renderer, an image is refused and no Qt loads."""
    out = tmp_path / "x.png"
    code = inspect_cli.main(["--model", str(tiny_model_path), "--source", "w1 w2", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "renderer" in capsys.readouterr().err


def test_data_output_imports_no_qt(tiny_model_path: Path, tmp_path: Path) -> None:
    """`inspect --out x.json` runs without Qt: neither PySide6 nor pyqtgraph is imported."""
    out = tmp_path / "x.json"
    argv = ["inspect", "--model", str(tiny_model_path), "--source", "w1 w2", "--out", str(out)]
    code = (
        "import sys, main\n"
        f"status = main.main({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'gui')))\n"
        "sys.exit(status)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]" and out.is_file()
