"""Training lowers the loss, reports bad data lines by number, and writes a usable checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from main import main
from models import DataError, load_checkpoint, read_pairs
from tests.conftest import write_toy_pairs


def test_tiny_training_run_lowers_the_loss(tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    code = main(
        [
            "train",
            "--data",
            str(write_toy_pairs(tmp_path / "t.tsv", 600, 1)),
            "--valid",
            str(write_toy_pairs(tmp_path / "v.tsv", 50, 2)),
            "--out",
            str(out),
            "--epochs",
            "5",
            "--embed-dim",
            "24",
            "--hidden-dim",
            "32",
            "--attn-dim",
            "32",
            "--quiet",
            "--seed",
            "5",
        ]
    )
    assert code == 0
    ckpt = load_checkpoint(out)
    history = ckpt.training["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.8
    assert ckpt.training["valid_loss"] == round(min(h["valid_loss"] for h in history), 5)
    assert ckpt.training["command"].startswith("python main.py train --data")
    assert ckpt.training["seed"] == 5 and ckpt.training["train_pairs"] == 600


def test_early_stopping_respects_patience(tmp_path: Path) -> None:
    from models.training.loop import EpochResult, _should_stop

    history = [EpochResult(i, 1.0, loss, 0.0, 0.0) for i, loss in enumerate([3.0, 2.0, 2.5, 2.6], 1)]
    assert not _should_stop(history[:3], patience=2)
    assert _should_stop(history, patience=2)


def test_bad_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("a b\tA B\nno tab here\n\nc\t\nd\tD\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_pairs(path)
    assert "line 2" in str(info.value) and "line 4" in str(info.value) and "2 bad line(s)" in str(info.value)


def test_train_command_exits_2_on_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column\n", encoding="utf-8")
    assert (
        main(["train", "--data", str(bad), "--valid", str(bad), "--out", str(tmp_path / "x.safetensors"), "--quiet"])
        == 2
    )
    assert "line 1" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()
