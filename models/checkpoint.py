"""The self-describing checkpoint file: safetensors weights plus JSON metadata, validated on load."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from models.atomic import atomic_write_bytes
from models.errors import CheckpointError
from models.foreign import tokenizer_from_dict
from models.hygiene import shown_value
from models.registry import build_model, config_from_dict
from models.rnn.config import ConfigError, ModelConfig
from models.step_api import StepModel
from models.tokens import SPECIALS, Tokenizer, Vocab
from models.untrusted import load_json, loading

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "assign_weights",
    "describe",
    "empty_model",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT_NAME = "attnscope"
FORMAT_VERSION = 1
# Compared as text: int() of a hostile version string can raise (e.g. "²", or 5,000 digits).
SUPPORTED_VERSIONS = tuple(str(v) for v in range(1, FORMAT_VERSION + 1))
MAX_HEADER_BYTES = 64 * 1024 * 1024  # far above any real vocabulary, far below harm
MAX_FILE_BYTES = 8 * 1024**3
MAX_TENSORS = 4096  # a native model has under 100; checked before any tensor is looked at
REQUIRED_KEYS = ("format", "format_version", "config", "src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer")


@dataclass
class Checkpoint:
    model: StepModel
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    training: dict[str, Any] = field(default_factory=dict)
    card: str = ""
    path: Path | None = None

    @property
    def config(self) -> Any:
        """The model's config: a ModelConfig (RNNs), TransformerConfig, or a Hugging Face adapter's."""
        return self.model.config


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Write the model and everything needed to use it to one file, atomically."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in ckpt.model.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(ckpt.config.to_dict()),
        "src_vocab": json.dumps(list(ckpt.src_vocab.itos), ensure_ascii=False),
        "tgt_vocab": json.dumps(list(ckpt.tgt_vocab.itos), ensure_ascii=False),
        "src_tokenizer": json.dumps(ckpt.src_tokenizer.to_dict()),
        "tgt_tokenizer": json.dumps(ckpt.tgt_tokenizer.to_dict()),
        "training": json.dumps(ckpt.training, ensure_ascii=False),
        "card": ckpt.card,
    }
    atomic_write_bytes(path, st_save(tensors, metadata))


def load_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Load and fully validate a checkpoint; any problem raises one CheckpointError naming the file."""
    file = Path(path)
    with loading(file):
        ckpt = _load(file)
    ckpt.model.to(device)  # outside the boundary: a device failure is not the file's fault
    return ckpt


def _load(file: Path) -> Checkpoint:
    data = _read_file(file)
    header = _parse_header(data)
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict):
        raise CheckpointError(f"{file.name}: no attnscope metadata (is this a model saved by attnscope?)")
    config, src_vocab, tgt_vocab, src_tok, tgt_tok = _parse_metadata(meta)
    _check_vocab_sizes(config, src_vocab, tgt_vocab)
    _check_weight_bytes(config, len(data) - 8 - _header_length(data))
    model = empty_model(config)  # whichever architecture the config names (models.registry)
    _check_tensor_table(header, model)
    assign_weights(model, _load_tensors(data))
    training = _json_field(meta, "training", dict, default={})
    card = meta.get("card", "")
    card = card if isinstance(card, str) else ""
    return Checkpoint(model, src_vocab, tgt_vocab, src_tok, tgt_tok, training, card, file)


def empty_model(config: ModelConfig) -> StepModel:
    """The architecture `config` describes, built on the meta device: every shape, no memory, no random init.

    A loader builds the model once this way and gives it the file's tensors with `assign_weights`; the shapes it
    checks come from the same module definitions the weights will live in.
    """
    with torch.device("meta"):
        return build_model(config)


def assign_weights(model: StepModel, tensors: dict[str, torch.Tensor]) -> None:
    """Put `tensors` into a model from `empty_model` (strict: every name and shape; the tensors themselves, no
    copy), in eval mode."""
    model.load_state_dict(tensors, strict=True, assign=True)
    left = next((name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta), None)
    if left is not None:  # a buffer the file does not hold must be made real where the module is built
        raise RuntimeError(f"{type(model).__name__}: '{left}' has no data after loading")
    model.eval()


def _read_file(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise CheckpointError(f"{file}: not a regular file")
        if size > MAX_FILE_BYTES:
            raise CheckpointError(f"{file.name}: {size:,} bytes is larger than the {MAX_FILE_BYTES:,}-byte limit")
        return file.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {file}: {exc.strerror or exc}") from exc


def _parse_header(data: bytes) -> dict[str, Any]:
    if len(data) < 8:
        raise CheckpointError("file is too short to be a model (truncated?)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES or length > len(data) - 8:
        raise CheckpointError(
            f"header claims {length:,} bytes but the file holds {len(data) - 8:,}: "
            "the file is truncated or not a safetensors model"
        )
    try:
        text = data[8 : 8 + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"header is not UTF-8 text ({exc.reason}): the file is corrupt") from exc
    header = load_json(text, "header")
    if not isinstance(header, dict):
        raise CheckpointError("header is not a JSON object: the file is corrupt")
    if len(header) > MAX_TENSORS + 1:
        raise CheckpointError(f"header lists {len(header) - 1:,} tensors, more than the limit of {MAX_TENSORS:,}")
    return header


def _header_length(data: bytes) -> int:
    return int(struct.unpack("<Q", data[:8])[0])


def _json_field(meta: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    raw = meta.get(key)
    if raw is None:
        if default is not None:
            return default
        raise CheckpointError(f"metadata field '{key}' is missing")
    value = load_json(raw, f"metadata field '{key}'") if isinstance(raw, str) else None
    if not isinstance(value, kind):
        raise CheckpointError(f"metadata field '{key}' should be a JSON {kind.__name__}")
    return value


def _parse_metadata(meta: dict[str, Any]) -> tuple[Any, Vocab, Vocab, Tokenizer, Tokenizer]:
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"metadata is missing: {', '.join(missing)}")
    if meta["format"] != FORMAT_NAME:
        raise CheckpointError(f"format is {shown_value(meta['format'])}, expected {FORMAT_NAME!r}")
    version = meta["format_version"]
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"format version {shown_value(version)} is not supported (this build reads 1..{FORMAT_VERSION}); "
            "upgrade attnscope"
        )
    try:
        config = config_from_dict(_json_field(meta, "config", dict))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"invalid model config: {exc}") from exc
    return (
        config,
        _vocab(meta, "src_vocab"),
        _vocab(meta, "tgt_vocab"),
        _tokenizer(meta, "src_tokenizer"),
        _tokenizer(meta, "tgt_tokenizer"),
    )


def _vocab(meta: dict[str, Any], key: str) -> Vocab:
    items = _json_field(meta, key, list)
    if not all(isinstance(t, str) for t in items):
        raise CheckpointError(f"{key}: every token must be a string")
    try:
        return Vocab(tuple(items))
    except ValueError as exc:
        raise CheckpointError(f"{key}: {exc} (expected it to start with {', '.join(SPECIALS)})") from exc


def _tokenizer(meta: dict[str, Any], key: str) -> Tokenizer:
    spec = _json_field(meta, key, dict)
    try:
        return tokenizer_from_dict(spec)
    except ValueError as exc:
        raise CheckpointError(f"{key}: {exc}") from exc


def _check_vocab_sizes(config: Any, src: Vocab, tgt: Vocab) -> None:
    for side, vocab, size in (("source", src, config.src_vocab_size), ("target", tgt, config.tgt_vocab_size)):
        if len(vocab) != size:
            raise CheckpointError(
                f"{side} vocabulary has {len(vocab)} tokens but the model's embedding has {size} rows"
            )


def _min_parameters(config: Any) -> int:
    """Weights every architecture built from `config` has at least (source embedding, output layer, the
    recurrent matrices), counted without building anything."""
    if not isinstance(config, ModelConfig):
        return int(config.min_parameters())
    gates = 4 if config.rnn == "lstm" else 3
    dirs = 2 if config.bidirectional else 1
    enc_hidden = config.enc_out_dim // dirs
    recurrent = config.enc_layers * dirs * gates * enc_hidden**2 + config.dec_layers * gates * config.hidden_dim**2
    return config.src_vocab_size * config.embed_dim + config.tgt_vocab_size * config.hidden_dim + recurrent


def _check_weight_bytes(config: Any, available: int) -> None:
    """A config far larger than the file is refused before even a meta-device model is built for it."""
    needed = 4 * _min_parameters(config)
    if needed > available:
        raise CheckpointError(
            f"the config describes at least {needed:,} bytes of weights but the file holds {max(available, 0):,}: "
            "the file is truncated or its config does not match its weights"
        )


def _check_tensor_table(header: dict[str, Any], model: StepModel) -> None:
    """Compare names, shapes and dtypes with the (meta-device) model's, before loading any data."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing:
        raise CheckpointError(f"weights missing for {len(missing)} tensor(s), e.g. '{missing[0]}'")
    if extra:
        raise CheckpointError(f"unexpected tensor(s) not in this architecture, e.g. '{extra[0]}'")
    for name, shape in expected.items():
        entry = header[name]
        if not isinstance(entry, dict):
            raise CheckpointError(f"tensor '{name}': malformed header entry")
        if entry.get("dtype") != "F32":
            raise CheckpointError(f"tensor '{name}' has dtype {entry.get('dtype')!r}, expected F32")
        found = entry.get("shape")
        if not (isinstance(found, list) and all(type(d) is int for d in found)) or tuple(found) != shape:
            raise CheckpointError(f"tensor '{name}' has shape {_shown(found)}, expected {shape}")


def _shown(value: Any) -> str:
    return shown_value(tuple(value) if isinstance(value, list) else value)


def _load_tensors(data: bytes) -> dict[str, torch.Tensor]:
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types for corrupt tables
        raise CheckpointError(f"weights cannot be read: {exc}") from exc
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(f"tensor '{name}' holds {bad} NaN or infinite value(s): the model is broken")
    return tensors


def query_kind(config: ModelConfig) -> str:
    """Which decoder state scores the h_j: "prev" (s_{i-1}, Bahdanau and the tutorial), "new" (s_i, Luong,
    JoeyNMT, OpenNMT-py), or "none" (no attention)."""
    if config.attention == "none":
        return "none"
    return str(getattr(config, "query", "prev" if config.attention == "bahdanau" else "new"))


def describe(ckpt: Checkpoint) -> dict[str, Any]:
    """Summary a user sees: architecture, sizes, parameters."""
    c = ckpt.config
    if not isinstance(c, ModelConfig):  # a transformer: its config says what it is
        return {
            **c.describe(),
            "query": "heads",  # every head has its own query: see the anatomy of a head
            "parameters": ckpt.model.parameter_count(),
            "src_vocab": len(ckpt.src_vocab),
            "tgt_vocab": len(ckpt.tgt_vocab),
            "tokenizer": str(ckpt.src_tokenizer.to_dict().get("tokenizer", ckpt.src_tokenizer.kind)),
        }
    return {
        "attention": c.attention,
        "query": query_kind(c),
        "rnn": c.rnn,
        "layers": f"{c.enc_layers} enc / {c.dec_layers} dec",
        "bidirectional": c.bidirectional,
        "hidden": c.hidden_dim,
        "embedding": c.embed_dim,
        "parameters": ckpt.model.parameter_count(),
        "src_vocab": len(ckpt.src_vocab),
        "tgt_vocab": len(ckpt.tgt_vocab),
        "tokenizer": ckpt.src_tokenizer.kind,
    }
