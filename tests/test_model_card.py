"""Model cards: held-out figures and the quality-by-length table land in the card and the checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models import load_checkpoint
from models.training import model_card


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
