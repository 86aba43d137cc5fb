"""Open models trained elsewhere: JoeyNMT, OpenNMT-py and the PyTorch tutorial, besides our own files.

    detect(path)   -> "attnscope" | "joeynmt" | "opennmt-py" | "pytorch-tutorial"
    load_any(path) -> Checkpoint   (what the app's --model uses)

Every PyTorch file is read with torch.load(weights_only=True); only OpenNMT-py's argparse.Namespace
is allowlisted, and only for OpenNMT-py files. Anything needing more is refused, never executed.

The three public functions are the loader boundary (models.untrusted.loading): whatever a loader or the
library under it raises on a bad file reaches the caller as one CheckpointError naming the file. A new
format only adds its branch to `_detect` and `_import`; it need not catch what its library raises.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from models.importers import joeynmt, opennmt, pytorch_tutorial
from models.importers.common import safe_torch_load
from models.untrusted import loading

__all__ = ["KINDS", "detect", "import_foreign", "load_any"]

KINDS = ("attnscope", "joeynmt", "opennmt-py", "pytorch-tutorial")


def detect(path: str | os.PathLike[str]) -> str:
    """Which format `path` holds, from names and structure; PyTorch files are inspected safely."""
    with loading(path):
        return _detect(Path(path))[0]


def _detect(p: Path) -> tuple[str, Any]:
    """The format, and the already-loaded content where telling it apart meant loading a PyTorch file."""
    if p.is_dir():
        if joeynmt.is_model_dir(p):
            return "joeynmt", None
        if pytorch_tutorial.find_vocab_file(p) is not None:
            return "pytorch-tutorial", None
        raise CheckpointError(
            f"{p}: not a model directory (JoeyNMT: config.yaml + *.ckpt; tutorial: one vocabulary .json)"
        )
    if not p.is_file():
        what = "not a regular file (a pipe or a device?)" if p.exists() else "no such file or directory"
        raise CheckpointError(f"{p}: {what}")
    suffix = p.suffix.lower()
    if suffix == ".safetensors":
        return "attnscope", None
    if suffix == ".json":
        if pytorch_tutorial.spec_format(p) == pytorch_tutorial.FORMAT:
            return "pytorch-tutorial", None
        raise CheckpointError(f"{p.name}: a JSON file that is not a tutorial vocabulary file")
    if suffix == ".ckpt" and (p.parent / "config.yaml").is_file():
        return "joeynmt", None
    return _sniff(p)


def _sniff(p: Path) -> tuple[str, Any]:
    content = safe_torch_load(p, opennmt.ALLOWED_GLOBALS)
    if opennmt.is_checkpoint(content):
        return "opennmt-py", content
    if isinstance(content, dict) and "model_state" in content:
        raise CheckpointError(f"{p.name}: a JoeyNMT checkpoint: open its model directory (with config.yaml)")
    if isinstance(content, dict) and any(str(k).startswith(("embedding.", "gru.", "attention.")) for k in content):
        raise CheckpointError(f"{p.name}: a bare state dict: open the tutorial vocabulary .json that names it")
    raise CheckpointError(f"{p.name}: not a model attnscope recognises")


def import_foreign(path: str | os.PathLike[str]) -> Checkpoint:
    """Import a model from another toolkit (CheckpointError for our own files: open those directly)."""
    with loading(path):
        return _import(Path(path), *_detect(Path(path)))


def _import(p: Path, kind: str, content: Any) -> Checkpoint:
    if kind == "joeynmt":
        return joeynmt.load(p)
    if kind == "opennmt-py":
        return opennmt.load(p, content)
    if kind == "pytorch-tutorial":
        return pytorch_tutorial.load(p if p.is_file() else _tutorial_vocab(p))
    raise CheckpointError(f"{p.name}: already an attnscope model")


def _tutorial_vocab(directory: Path) -> Path:
    found = pytorch_tutorial.find_vocab_file(directory)
    assert found is not None  # detect() checked
    return found


def load_any(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Our own .safetensors files, or any supported toolkit's model, ready for the engine."""
    with loading(path):
        kind, content = _detect(Path(path))
        ckpt = load_checkpoint(path) if kind == "attnscope" else _import(Path(path), kind, content)
    ckpt.model.to(device)  # outside the boundary: a device failure is not the file's fault
    return ckpt
