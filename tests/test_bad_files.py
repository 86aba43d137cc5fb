"""One error for every bad file: each case the hardening probe found ends in one CheckpointError naming the file,
and every command that opens a model exits 2 with one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import main
from models import CheckpointError, UnexpectedLoadError, detect, load_any
from models.untrusted import loading

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TUTORIAL = DATA / "pytorch_tutorial"
ONMT = DATA / "opennmt/brnn_gru_mlp/model.pt"


def rezip(data: bytes, member_end: str, change: Callable[[bytes], bytes]) -> bytes:
    """A torch zip file with one member's bytes changed and its checksum made right again (so torch reads it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename.endswith(member_end) else content)
    return out.getvalue()


def _tutorial(tmp_path: Path, **spec_change: object) -> Path:
    folder = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, folder)
    spec = json.loads((folder / "tutorial.json").read_text())
    (folder / "tutorial.json").write_text(json.dumps({**spec, **spec_change}))
    return folder / "tutorial.json"


def deep_tutorial(tmp_path: Path) -> Path:
    path = _tutorial(tmp_path)
    text = path.read_text()
    path.write_text(text[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return path


def joey_config(value: str) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        folder = tmp_path / "joey"
        shutil.copytree(DATA / "joeynmt/gru_bahdanau", folder, symlinks=True)
        config = folder / "config.yaml"
        text = config.read_text()
        marker = "  decoder:\n    rnn_type: gru\n    hidden_size: 24\n"
        assert marker in text
        config.write_text(text.replace(marker, f"  decoder:\n    rnn_type: gru\n    hidden_size: {value}\n"))
        return folder

    return make


def deep_joey(tmp_path: Path) -> Path:
    folder = joey_config("24")(tmp_path)
    (folder / "config.yaml").write_text("model: " + "[" * 5000 + "]" * 5000 + "\n")
    return folder


def onmt_without_generator_weight(tmp_path: Path) -> Path:
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(ONMT, weights_only=True)
    del ckpt["generator"]["weight"]
    path = tmp_path / "no_generator.pt"
    torch.save(ckpt, path)
    return path


def onmt_flipped_pickle(tmp_path: Path) -> Path:
    def flip(content: bytes) -> bytes:
        changed = bytearray(content)
        changed[3701] ^= 191  # a short string's length byte: torch's weights-only unpickler then raised KeyError
        return bytes(changed)

    path = tmp_path / "flipped.pt"
    path.write_bytes(rezip(ONMT.read_bytes(), "data.pkl", flip))
    return path


# Each raised something else before (RecursionError, OverflowError, ValueError, KeyError) and crashed the commands.
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "tutorial JSON nested 100,000 deep": (deep_tutorial, "nested deeper than 64 levels"),
    "config.yaml nested 5,000 deep": (deep_joey, "nested deeper than 32 levels"),
    "hidden_size: .inf": (joey_config(".inf"), "hidden_size must be a whole number, got inf"),
    "hidden_size: 1.0e+309": (joey_config("1.0e+309"), "hidden_size must be a whole number, got inf"),
    "hidden_size: 1e309": (joey_config("1e309"), "hidden_size must be a whole number, got '1e309'"),
    "hidden_size with 5,000 digits": (joey_config("9" * 5000), "a number written with 5,000 characters"),
    "OpenNMT-py file without the generator's weight": (onmt_without_generator_weight, "weights missing for"),
    "OpenNMT-py data.pkl with flipped bytes": (onmt_flipped_pickle, "cannot be read as a PyTorch file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_bad_file_is_one_checkpoint_error_naming_it(case: str, tmp_path: Path) -> None:
    make, message = CASES[case]
    path = make(tmp_path)
    with pytest.raises(CheckpointError, match=message) as info:
        load_any(path)
    assert not isinstance(info.value, UnexpectedLoadError), info.value  # a loader anticipated it
    assert path.name in str(info.value) and "\n" not in str(info.value)


def test_a_pipe_or_a_device_is_not_a_model(tmp_path: Path) -> None:
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(CheckpointError, match="not a regular file"):
            load_any(path)


def test_detect_reads_deep_json_without_recursing(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nested deeper"):
        detect(deep_tutorial(tmp_path))


def test_the_boundary_converts_what_no_loader_anticipated(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    unexpected = r"^m\.bin: cannot be read \(KeyError: 'x'\)$"
    with pytest.raises(UnexpectedLoadError, match=unexpected) as info, loading(path):
        raise KeyError("x")  # what a library might raise
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(CheckpointError, match=r"^m\.bin: red$"), loading(path):  # named, and cleaned
        raise CheckpointError("\x1b[31mred")
    for machine in (MemoryError(), KeyboardInterrupt()):  # about the machine, not the file: passed through
        with pytest.raises(type(machine)), loading(path):
            raise machine


# -- the commands -----------------------------------------------------------------------------------------------


def _bad_safetensors(tmp_path: Path) -> Path:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b'\x08\x00\x00\x00\x00\x00\x00\x00{"a": 1}')
    return path


def _command(name: str, model: Path, tmp_path: Path) -> list[str]:
    data = tmp_path / "pairs.tsv"
    data.write_text("w1 w2\tW2 W1\n", encoding="utf-8")
    args = {
        "inspect": ["--model", str(model), "--source", "w1 w2", "--out", str(tmp_path / "r.json")],
        "evaluate": ["--model", str(model), "--data", str(data), "--out", str(tmp_path / "r.json")],
        "convert": [str(model), "--out", str(tmp_path / "c.safetensors")],
        "card": ["--model", str(model), "--title", "t", "--test", str(data)],
    }[name]
    return [name, *args]


MODELS: dict[str, Callable[[Path], Path]] = {
    "deep tutorial JSON": deep_tutorial,
    "hidden_size .inf": joey_config(".inf"),
    "flipped pickle": onmt_flipped_pickle,
    "bad safetensors": _bad_safetensors,
}
COMMANDS = {
    "inspect": list(MODELS),
    "evaluate": list(MODELS),
    "convert": [m for m in MODELS if m != "bad safetensors"],  # convert takes toolkit models
    "card": ["bad safetensors"],  # card takes attnscope models
}


@pytest.mark.parametrize(("command", "model"), [(c, m) for c, models in COMMANDS.items() for m in models])
def test_commands_exit_2_with_one_line(
    command: str, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = MODELS[model](tmp_path)
    assert main.main(_command(command, path, tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and path.name in err, err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "c.safetensors").exists()


def test_train_exits_2_when_its_model_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "pairs.tsv"
    data.write_text("w1 w2\tW2 W1\nw2 w3\tW3 W2\n", encoding="utf-8")
    out = tmp_path / "taken.safetensors"
    out.mkdir()  # a directory where the model file should go
    args = ["train", "--data", str(data), "--valid", str(data), "--out", str(out), "--epochs", "1", "--quiet"]
    assert main.main([*args, "--hidden-dim", "8", "--embed-dim", "8", "--attn-dim", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err, err


def test_card_prints_no_traceback_as_a_process(tmp_path: Path) -> None:
    """The whole way through main.py, as a user runs it."""
    path = _bad_safetensors(tmp_path)
    data = tmp_path / "pairs.tsv"
    data.write_text("a\tb\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "main.py", "card", "--model", str(path), "--title", "t", "--test", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: bad.safetensors: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
