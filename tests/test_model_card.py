"""Model cards: held-out figures and the quality-by-length table land in the card and the checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models import load_checkpoint
from models.rnn.config import ModelConfig
from models.training import deviations, model_card


def report_for(name: str) -> dict:
    bucket = {"range": "1-10", "count": 3, "bleu": 91.234, "chrf": 95.0, "exact_match": 0.6667, "aer": None}
    empty = {"range": "11-20", "count": 0, "bleu": None, "chrf": None, "exact_match": None, "aer": None}
    overall = {**bucket, "range": "all"}
    return {"data": "pairs.tsv", "models": [{"model": name, "buckets": [bucket, empty], "overall": overall}]}


def test_card_embeds_exact_match_and_length_table(tiny_model_path: Path, tmp_path: Path) -> None:
    model = tmp_path / "toy.safetensors"
    shutil.copy(tiny_model_path, model)
    test = tmp_path / "test.tsv"
    test.write_text("a b\tB A\n", encoding="utf-8")
    report = tmp_path / "report.json"
    report.write_text(json.dumps(report_for("toy")), encoding="utf-8")
    args = ["--model", str(model), "--title", "Toy", "--test", str(test), "--report", str(report)]
    assert model_card.main(args + ["--data-command", "make data"]) == 0
    card = model.with_suffix(".md").read_text(encoding="utf-8")
    assert "| 1-10 | 3 | 91.2 | 95.0 | 66.7% | – |" in card
    assert "| 11-20 | 0 | – | – | – | – |" in card
    assert "make data" in card and "| test.tsv | 1 |" in card
    loaded = load_checkpoint(model)
    assert loaded.card == card and loaded.training["held_out"][0]["pairs"] == 1


def test_length_table_needs_the_model_in_the_report() -> None:
    with pytest.raises(ValueError, match="no model named 'other'"):
        model_card.length_table(report_for("toy"), "other")


def test_card_lists_the_differences_from_the_paper_its_attention_is_named_after(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    model = tmp_path / "toy.safetensors"
    shutil.copy(tiny_model_path, model)
    test = tmp_path / "test.tsv"
    test.write_text("a b\tB A\n", encoding="utf-8")
    assert model_card.main(["--model", str(model), "--title", "Toy", "--test", str(test)]) == 0
    card = model.with_suffix(".md").read_text(encoding="utf-8")
    section = card[card.index("## Differences from the paper") : card.index("## Reproduce")]
    assert "Bahdanau, Cho & Bengio 2015" in section and "1000 units per direction" in section
    config = load_checkpoint(model).config
    assert f"bidirectional GRU, 1 layer(s), {config.hidden_dim} units per direction" in section  # ours, from the config
    assert "early stopping after 3 epochs" in section and "stopped by" in card


@pytest.mark.parametrize(
    ("attention", "paper", "ours"),
    [
        ("luong-general", "Luong, Pham & Manning 2015", "general e = s_iᵀ W_a h_j"),
        ("luong-dot", "Luong, Pham & Manning 2015", "dot e = s_iᵀ h_j"),
        ("none", "Cho et al. 2014", "Memory.final"),
    ],
)
def test_each_attention_gets_its_papers_table(attention: str, paper: str, ours: str) -> None:
    config = ModelConfig(30, 30, hidden_dim=16, attention=attention, bidirectional=attention != "luong-dot")
    training = {"train_pairs": 10, "lr": 0.002, "lr_decay": 0.5, "epoch_cap": 40, "patience": 4, "batch_size": 64}
    lines = deviations.section(config, training)
    text = "\n".join(lines)
    assert paper in text and ours in text and "rate × 0.5" in text and "at most 40 epochs" in text
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| |")]
    assert len(rows) >= 7 and all(line.count(" | ") == 3 for line in rows)  # four cells, no stray pipes


def test_older_summaries_are_completed_from_their_own_command() -> None:
    old = {
        "command": "python main.py train --data d.tsv --valid v.tsv --out m --epochs 6 --patience 2",
        "epochs_run": 4,
    }
    filled = model_card.with_command_options(old)
    assert filled["epoch_cap"] == 6 and filled["patience"] == 2 and filled["lr_decay"] == 1.0
    assert filled["stopped_by"].startswith("early stopping") and filled["epochs_run"] == 4
    assert model_card.with_command_options({"command": "something else"}) == {"command": "something else"}
