"""Hugging Face seq2seq model folders (config.json, weights, tokenizer files): checked here, built by models.hf.

Every problem is one CheckpointError, raised before anything runs: `transformers` missing (with the
command that installs it), remote code (`auto_map` in config.json; trust_remote_code is never set),
a model type transformers does not know or attnscope cannot probe, a decoder-only model, no weights,
a pickled `.bin` that weights-only loading refuses (checked here with torch.load(weights_only=True)
before transformers reads it, also weights-only), a missing tokenizer.  Loading is
`local_files_only=True`: nothing is ever downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.checkpoint import Checkpoint, CheckpointError
from models.importers.common import read_text, safe_torch_load

INSTALL = 'pip install -e ".[hf]"  (or: pip install "transformers>=5.0" sentencepiece)'
SUPPORTED = ("marian", "bart", "mbart", "m2m_100", "t5", "mt5")
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "source.spm",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def is_model_folder(path: Path) -> bool:
    """A folder with a config.json naming a model_type (what save_pretrained writes)."""
    config = path / "config.json"
    if not (path.is_dir() and config.is_file()):
        return False
    try:
        return "model_type" in json.loads(read_text(config))
    except (CheckpointError, ValueError, TypeError):
        return False


def load(path: Path) -> Checkpoint:
    """`path`: the folder, or its config.json."""
    folder = path.parent if path.is_file() else path
    config = _check_config(folder)
    weights = _check_weights(folder)
    _check_tokenizer_files(folder)
    try:
        import transformers  # noqa: F401  (optional: only Hugging Face folders need it)
    except ImportError:
        raise CheckpointError(
            f"{folder.name}: a Hugging Face model folder; opening it needs transformers: {INSTALL}"
        ) from None
    from models.importers.huggingface_build import build_checkpoint  # imports transformers, only now

    return build_checkpoint(folder, config, weights)


def _check_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads(read_text(folder / "config.json"))
    except ValueError as exc:
        raise CheckpointError(f"{folder.name}/config.json is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{folder.name}/config.json is not a JSON object")
    if "auto_map" in config or config.get("trust_remote_code"):
        raise CheckpointError(
            f"{folder.name}: the model needs its own Python code (auto_map in config.json); attnscope never runs "
            "code from a model folder (trust_remote_code stays off)"
        )
    model_type = config.get("model_type")
    if config.get("is_encoder_decoder") is False or model_type in ("gpt2", "llama", "mistral", "qwen2", "gemma"):
        raise CheckpointError(f"{folder.name}: a decoder-only model ({model_type}): attnscope shows encoder–decoders")
    if model_type not in SUPPORTED:
        raise CheckpointError(
            f"{folder.name}: model type {model_type!r} is not supported (attnscope runs {', '.join(SUPPORTED)})"
        )
    return config


def _check_weights(folder: Path) -> Path:
    found = [folder / name for name in WEIGHTS if (folder / name).is_file()]
    if not found:
        raise CheckpointError(f"{folder.name}: no weights (model.safetensors or pytorch_model.bin)")
    if found[0].name.endswith(".index.json"):
        raise CheckpointError(f"{folder.name}: sharded weights ({found[0].name}) are not supported")
    if found[0].suffix == ".bin":
        safe_torch_load(found[0])  # refuses any pickle beyond tensors and containers, before transformers reads it
    return found[0]


def _check_tokenizer_files(folder: Path) -> None:
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(
            f"{folder.name}: no tokenizer files (tokenizer.json, tokenizer_config.json, or the model's own "
            "vocabulary files): save the tokenizer into the folder too (tokenizer.save_pretrained)"
        )
