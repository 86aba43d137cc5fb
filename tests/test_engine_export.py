"""engine.export: formats chosen by suffix, clear errors, no partial files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import DecodeRequest, DecodeResult, InferenceSession, export_result


@pytest.fixture(scope="module")
def result(tiny_model_path: Path) -> DecodeResult:
    return InferenceSession.open(tiny_model_path, "cpu").run(DecodeRequest(1, "w4 w5"))


@pytest.mark.parametrize("name", ["r.txt", "r", "r.json.bak"])
def test_unknown_suffix_is_a_clear_value_error(result: DecodeResult, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.json, \.npz, \.csv"):
        export_result(result, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_writes_replace_atomically_and_leave_no_temp_files(result: DecodeResult, tmp_path: Path) -> None:
    target = tmp_path / "out" / "R.JSON"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    export_result(result, target, {"path": "tiny"})
    assert json.loads(target.read_text(encoding="utf-8"))["model"] == {"path": "tiny"}
    assert [p.name for p in target.parent.iterdir()] == ["R.JSON"]
