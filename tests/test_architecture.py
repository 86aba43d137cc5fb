"""The house the build keeps: import contracts (lint-imports) hold, and break when a layer is crossed on purpose."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import DecodeOptions, DecodeRequest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS is not None, "import-linter is a test dependency"
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([LINT_IMPORTS], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout and run.stdout.count("KEPT") >= 4


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("engine/decoding/session.py", "import PySide6.QtCore", "The engine and the models know no screen"),
        ("gui/panels/model_panel.py", "import models.checkpoint", "The window never names the models or torch"),
        ("gui/panels/model_panel.py", "import engine.records", "The window uses the engine only through its API"),
        ("models/tokens.py", "import engine.records", "Layers"),
        ("engine/records.py", "import engine.export", "No import cycles"),
    ],
)
def test_crossing_a_line_on_purpose_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    """A copy of the packages with one forbidden import added: lint-imports fails and names the contract."""
    for package in ("gui", "engine", "models"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert any(broken in row and "BROKEN" in row for row in run.stdout.splitlines()), run.stdout


def test_decode_options_name_every_request_field() -> None:
    """submit(**options) is type-checked through DecodeOptions: it must list DecodeRequest's fields exactly."""
    fields = {f.name for f in dataclasses.fields(DecodeRequest)} - {"request_id", "source"}
    assert set(DecodeOptions.__annotations__) == fields
