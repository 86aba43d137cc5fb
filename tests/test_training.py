"""Training lowers the loss, reports bad data lines by number, and writes a usable checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from main import main
from models import DataError, load_checkpoint, read_pairs
from models.training.loop import TrainOptions
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


def test_early_stopping_counts_only_gains_above_min_delta_and_lets_small_ones_add_up() -> None:
    from models.training.loop import EpochResult, _should_stop

    def run(losses: list[float]) -> list[EpochResult]:
        return [EpochResult(i, 1.0, loss, 0.0, 0.0) for i, loss in enumerate(losses, 1)]

    assert _should_stop(run([1.0, 0.5, 0.4995, 0.4992, 0.4991]), patience=3, min_delta=0.001)
    assert not _should_stop(run([1.0, 0.5, 0.4995, 0.4992, 0.4991]), patience=3)
    assert not _should_stop(run([1.0, 0.5, 0.4995, 0.4985]), patience=2, min_delta=0.001)  # 0.0015 below 0.5


@pytest.mark.parametrize(
    ("losses", "epochs", "best", "reason"),
    [
        ([3.0, 1.0, 2.0, 2.5, 0.5], 5, 2, "early stopping"),  # the 5th epoch never runs
        ([3.0, 1.0, 1.0, 2.0], 5, 2, "early stopping"),  # a tie keeps the earlier epoch
        ([3.0, 2.0, 1.0], 3, 3, "the 3-epoch cap"),
    ],
)
def test_the_best_validation_epochs_weights_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, losses: list[float], epochs: int, best: int, reason: str
) -> None:
    """Scripted validation losses: the checkpoint holds the earliest best epoch's weights, and says why it stopped."""
    from models.training import loop

    snapshots: list[dict[str, torch.Tensor]] = []

    def scripted(model: torch.nn.Module, *_: object) -> tuple[float, float]:
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return losses[len(snapshots) - 1], 0.0

    monkeypatch.setattr(loop, "evaluate_loss_and_exact", scripted)
    opts = toy_options(tmp_path, 64, epochs=epochs, batch_size=16)
    loop.train(opts)
    saved = load_checkpoint(opts.out)
    assert len(snapshots) == min(len(losses), best + 2) and saved.training["best_epoch"] == best
    assert saved.training["valid_loss"] == losses[best - 1] and saved.training["stopped_by"].startswith(reason)
    for name, value in saved.model.state_dict().items():
        torch.testing.assert_close(value, snapshots[best - 1][name])


def test_the_learning_rate_halves_after_each_epoch_without_a_better_validation_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.training import loop

    losses = iter([3.0, 1.0, 0.995, 0.5, 0.7, 0.8])  # 0.995 is not better by min_delta
    monkeypatch.setattr(loop, "evaluate_loss_and_exact", lambda *_: (next(losses), 0.0))
    opts = toy_options(tmp_path, 32, epochs=6, lr=0.004, lr_decay=0.5, min_delta=0.01)
    history = loop.train(opts).training["history"]
    assert [h["lr"] for h in history] == [0.004, 0.004, 0.004, 0.002, 0.002, 0.001]
    with pytest.raises(SystemExit) as info:
        main(["train", "--data", str(opts.valid), "--valid", str(opts.valid), "--out", "x", "--lr-decay", "0"])
    assert info.value.code == 2


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


def toy_options(tmp_path: Path, pairs: int, **changes: Any) -> TrainOptions:
    """A tiny model's options on `pairs` toy pairs (8 to validate on), patience 2, quiet."""
    return TrainOptions(
        data=[write_toy_pairs(tmp_path / "t.tsv", pairs, 1)],
        valid=write_toy_pairs(tmp_path / "v.tsv", 8, 2),
        out=tmp_path / "m.safetensors",
        embed_dim=8,
        hidden_dim=8,
        attn_dim=8,
        patience=2,
        quiet=True,
        **changes,
    )
