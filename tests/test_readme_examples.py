"""Every `python main.py …` example in the README's code blocks runs, with shipped files in its placeholders.

The examples are read from README.md itself, so the test follows the README: a wrong example fails here.
Each headless one runs in a fresh folder (its outputs land there) with main.main; placeholders become shipped
files (a few lines of the shipped data, the shipped models, the JoeyNMT test model) and training gets a tiny
budget.  A command that opens the window runs offscreen with --screenshot, so it starts, decodes and exits.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MODELS = ROOT / "resources" / "models"
DATA = ROOT / "resources" / "data"
TRAIN_BUDGET = ["--epochs", "1", "--max-steps", "2", "--quiet"]
WINDOW_SECONDS = 300


def readme_commands() -> list[str]:
    """`python main.py …` in the README's fenced code blocks, one per command (comments and `&&` chains cut)."""
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    found: list[str] = []
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            at = part.find("python main.py")
            if at >= 0:
                command = part[at:].split("  #")[0].strip()
                if command not in found:
                    found.append(command)
    return found


def placeholders(folder: Path) -> dict[str, str]:
    """The README's placeholder files, made from shipped ones in `folder`."""
    test_lines = (DATA / "en_hi_test.tsv").read_text(encoding="utf-8").splitlines()
    valid_lines = (DATA / "en_hi_valid.tsv").read_text(encoding="utf-8").splitlines()
    files = {
        "test.tsv": test_lines[:12],
        "train.tsv": valid_lines[:64],
        "valid.tsv": valid_lines[64:80],
        "sentences.txt": [line.split("\t")[0] for line in test_lines[:3]],
        "sentence.txt": ["turn off the lights"],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "A.safetensors": str(MODELS / "en_hi_bahdanau.safetensors"),
        "B.safetensors": str(MODELS / "en_hi_none.safetensors"),
        "path/to/joeynmt_model_dir": str(ROOT / "tests" / "data" / "joeynmt" / "gru_bahdanau"),
    }


def argv_of(command: str, folder: Path) -> tuple[list[str], str | None]:
    """The arguments after `python main.py`, placeholders replaced; and the file its `<` redirects from."""
    words = shlex.split(command)[2:]
    stdin = None
    if "<" in words:
        at = words.index("<")
        stdin, words = words[at + 1], words[:at]
    swap = placeholders(folder)
    words = [swap.get(w, str(ROOT / w) if w.startswith("resources/") else w) for w in words]  # the shipped files
    if words[:1] == ["card"]:  # card rewrites the model it describes: a copy of a shipped one, never the original
        copy = folder / words[words.index("--model") + 1]
        shutil.copyfile(MODELS / "en_hi_bahdanau.safetensors", copy)
        words[words.index("--model") + 1] = str(copy)
    if words[:1] == ["train"]:
        words += TRAIN_BUDGET
    return words, stdin


def shipped_untouched() -> bool:
    """No example may write into resources/ (git's view: nothing there differs from the last commit)."""
    run = subprocess.run(["git", "status", "--porcelain", "--", "resources"], cwd=ROOT, capture_output=True, text=True)
    return run.returncode != 0 or run.stdout.strip() == ""  # outside a git checkout: nothing to compare with


COMMANDS = readme_commands()
HEADLESS = [c for c in COMMANDS if len(shlex.split(c)) > 2 and not shlex.split(c)[2].startswith("-")]
WINDOW = [c for c in COMMANDS if c not in HEADLESS]


def test_the_readme_has_examples_to_run() -> None:
    assert len(HEADLESS) >= 10 and WINDOW == ["python main.py"]
    assert not any("--mask-source 4 " in c for c in COMMANDS)  # "turn off the lights" has positions 0-3


@pytest.mark.parametrize("command", HEADLESS)
def test_headless_example_runs(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv, stdin = argv_of(command, tmp_path)
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO((tmp_path / stdin).read_text(encoding="utf-8")))
    status = main.main(argv)
    err = capsys.readouterr().err
    assert status == 0, f"{command}\n{err}"
    outputs = [argv[k + 1] for k, w in enumerate(argv) if w in ("--out", "--plot", "--out-dir")]
    assert all((tmp_path / out).exists() for out in outputs), command
    assert shipped_untouched(), f"{command} changed a shipped file"


@pytest.mark.parametrize("command", WINDOW)
def test_window_example_starts_offscreen(command: str, tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    argv = [*shlex.split(command)[2:], "--screenshot", str(shot), "--settings-dir", str(tmp_path / "settings")]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=WINDOW_SECONDS,
    )
    assert run.returncode == 0, run.stderr
    assert shot.stat().st_size > 0  # the window rendered
