"""Open models trained elsewhere: JoeyNMT, OpenNMT-py, the PyTorch tutorials, Hugging Face folders, besides ours.

    detect(path)   -> one of KINDS
    load_any(path) -> Checkpoint   (what the app's --model uses)

KINDS is the one place a file or folder kind maps to its loader.  Hugging Face folders are checked
in models.importers.huggingface and built by models.hf, imported (with transformers) only when one is opened.

Every PyTorch file is read with torch.load(weights_only=True); only OpenNMT-py's argparse.Namespace
is allowlisted, and only for OpenNMT-py files. Anything needing more is refused, never executed.

The three public functions are the loader boundary (models.untrusted.loading): whatever a loader or the
library under it raises on a bad file reaches the caller as one CheckpointError naming the file. A new
format only adds its branch to `_detect` and `_import`; it need not catch what its library raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from models.importers import huggingface, joeynmt, opennmt, pytorch_transformer_tutorial, pytorch_tutorial
from models.importers.common import safe_torch_load
from models.untrusted import loading

__all__ = ["KINDS", "detect", "import_foreign", "load_any"]


def _tutorial(p: Path, content: Any) -> Checkpoint:
    return pytorch_tutorial.load(p if p.is_file() else _found(pytorch_tutorial.find_vocab_file(p)))


def _transformer_tutorial(p: Path, content: Any) -> Checkpoint:
    return pytorch_transformer_tutorial.load(
        p if p.is_file() else _found(pytorch_transformer_tutorial.find_spec_file(p))
    )


def _found(path: Path | None) -> Path:
    assert path is not None  # detect() checked
    return path


# kind → loader(path, what detection already loaded); attnscope's own files load through load_checkpoint.
KINDS: dict[str, Callable[[Path, Any], Checkpoint]] = {
    "attnscope": lambda p, _: load_checkpoint(p),
    "joeynmt": lambda p, _: joeynmt.load(p),
    "opennmt-py": lambda p, content: opennmt.load(p, content),
    "pytorch-tutorial": _tutorial,
    "pytorch-transformer-tutorial": _transformer_tutorial,
    "huggingface": lambda p, _: huggingface.load(p),
}


def detect(path: str | os.PathLike[str]) -> str:
    """Which format `path` holds, from names and structure; PyTorch files are inspected safely."""
    with loading(path):
        return _detect(Path(path))[0]


def _detect(p: Path) -> tuple[str, Any]:
    """The format, and the already-loaded content where telling it apart meant loading a PyTorch file."""
    if p.is_dir():
        if joeynmt.is_model_dir(p):
            return "joeynmt", None
        if huggingface.is_model_folder(p):
            return "huggingface", None
        if pytorch_tutorial.find_vocab_file(p) is not None:
            return "pytorch-tutorial", None
        if pytorch_transformer_tutorial.find_spec_file(p) is not None:
            return "pytorch-transformer-tutorial", None
        raise CheckpointError(
            f"{p}: not a model directory (JoeyNMT: config.yaml + *.ckpt; Hugging Face: config.json + weights + "
            "tokenizer; tutorials: one vocabulary .json)"
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
        if pytorch_transformer_tutorial.is_spec_file(p):
            return "pytorch-transformer-tutorial", None
        if p.name == "config.json" and huggingface.is_model_folder(p.parent):
            return "huggingface", None
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
    p = Path(path)
    with loading(p):
        kind, content = _detect(p)
        if kind == "attnscope":
            raise CheckpointError(f"{p.name}: already an attnscope model")
        return _load(kind, p, content)


def _load(kind: str, p: Path, content: Any) -> Checkpoint:
    return KINDS[kind](p, content)


def load_any(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Our own .safetensors files, or any supported toolkit's model, ready for the engine."""
    p = Path(path)
    with loading(p):
        kind, content = _detect(p)
        ckpt = load_checkpoint(p) if kind == "attnscope" else _load(kind, p, content)
    ckpt.model.to(device)  # outside the boundary: a device failure is not the file's fault
    return ckpt
