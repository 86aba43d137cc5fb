"""What every importer shares: safe torch.load, vocabulary re-indexing, weight mapping, the result."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from models.checkpoint import MAX_TENSORS, Checkpoint, CheckpointError, assign_weights, empty_model
from models.foreign import ForeignConfig
from models.hygiene import shown_value
from models.tokens import SPECIALS, Tokenizer, Vocab
from models.transformer.config import TransformerConfig
from models.transformer.model import TransformerSeq2Seq, sinusoids
from models.untrusted import MACHINE_ERRORS

MAX_TORCH_FILE_BYTES = 4 * 1024**3
MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024  # vocabularies and the tutorial's JSON
MAX_ZIP_MEMBERS = MAX_TENSORS + 16  # a torch file stores one member per tensor, plus a few records


def not_supported(what: str) -> CheckpointError:
    return CheckpointError(f"not supported: {what}")


def safe_torch_load(path: Path, allow: Iterable[type] = ()) -> Any:
    """torch.load with weights_only=True, plus only the globals in `allow`: nothing in the file is executed.

    A file that needs any other global is refused with a CheckpointError naming it.
    """
    _check_size(path, MAX_TORCH_FILE_BYTES)
    _check_zip_members(path)
    try:
        with torch.serialization.safe_globals(list(allow)):
            return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path.name}: refused to load: it needs Python objects beyond plain tensors and containers "
            f"({_unpickler_reason(exc)}); attnscope never runs code from a model file"
        ) from exc
    except MACHINE_ERRORS:
        raise
    except Exception as exc:  # torch's reader and unpickler raise anything on a damaged file (KeyError, ...)
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(
            f"{path.name}: cannot be read as a PyTorch file ({type(exc).__name__}{': ' if detail else ''}"
            f"{detail[:200]}): the file is damaged or not a PyTorch file"
        ) from exc


def _check_zip_members(path: Path) -> None:
    """A PyTorch zip archive stores each tensor as a member: too many is refused before torch reads any."""
    try:
        with zipfile.ZipFile(path) as archive:
            count = len(archive.infolist())
    except MACHINE_ERRORS:
        raise
    except Exception:  # zipfile raises BadZipFile, NotImplementedError, struct.error... on a damaged file
        return  # not a readable zip: torch.load says what it is (or is not)
    if count > MAX_ZIP_MEMBERS:
        raise CheckpointError(f"{path.name}: holds {count:,} records, more than the limit of {MAX_ZIP_MEMBERS:,}")


def _unpickler_reason(exc: Exception) -> str:
    """The one useful line of torch's message (which also suggests weights_only=False: not to a user)."""
    found = re.search(
        r"(Unsupported global: GLOBAL [\w.]+|Unsupported operand [^.\n]*|Unsupported class [\w.]+)", str(exc)
    )
    return found.group(1) if found else "the file's pickle uses something outside the safe subset"


def read_text(path: Path, limit: int = MAX_TEXT_FILE_BYTES) -> str:
    _check_size(path, limit)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc


def _check_size(path: Path, limit: int) -> None:
    try:
        if not path.is_file():
            raise CheckpointError(f"{path}: no such file")
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > limit:
        raise CheckpointError(f"{path.name}: {size:,} bytes is larger than the {limit:,}-byte limit")


def whole(value: Any, what: str) -> int:
    """A size from a toolkit's config or options: a plain int. Floats (.inf, 1e309), strings and booleans are refused
    here, with a message, rather than by int() with OverflowError or ValueError; the ranges are ForeignConfig's."""
    if type(value) is not int:
        raise CheckpointError(f"{what} must be a whole number, got {shown_value(value)}")
    return value


def require(weights: Mapping[str, Tensor], names: Iterable[str], source: str) -> None:
    """Every tensor the importer is about to re-index must be there (e.g. OpenNMT-py's generator weight)."""
    missing = [name for name in names if name not in weights]
    if missing:
        raise CheckpointError(f"{source}: weights missing for '{missing[0]}' (the file is incomplete)")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remap_vocab(itos: list[str], specials: Mapping[str, int | None], side: str) -> tuple[Vocab, list[int]]:
    """Re-index a toolkit's vocabulary so our specials come first; returns it and new→old row ids.

    `specials` maps each of our special tokens to the toolkit's id for it (None: the toolkit has
    none, and that row is new). Every other token keeps its relative order.
    """
    taken = {i for i in specials.values() if i is not None}
    new_itos = list(SPECIALS)
    rows = [-1 if specials[s] is None else int(specials[s]) for s in SPECIALS]  # type: ignore[arg-type]
    for i, token in enumerate(itos):
        if i not in taken:
            new_itos.append(token)
            rows.append(i)
    try:
        return Vocab(tuple(new_itos)), rows
    except ValueError as exc:
        raise CheckpointError(f"{side} vocabulary cannot be used: {exc}") from exc


def take_rows(weight: Tensor, rows: list[int]) -> Tensor:
    """weight[rows], with zero rows where rows[i] == -1 (tokens the toolkit does not have).

    Every row of `weight` must be some vocabulary entry: a vocabulary that does not match the
    weights is refused rather than silently truncated.
    """
    index = torch.tensor([r for r in rows if r >= 0], dtype=torch.long)
    if weight.dim() < 1 or weight.shape[0] != len(index):
        raise CheckpointError(
            f"the vocabulary has {len(index)} tokens but the weights have {weight.shape[0] if weight.dim() else 0} rows"
        )
    out = weight.new_zeros((len(rows), *weight.shape[1:]))
    where = torch.tensor([i for i, r in enumerate(rows) if r >= 0], dtype=torch.long)
    out[where] = weight[index]
    return out


def take_vocab_rows(
    weights: dict[str, Tensor], src_rows: list[int], tgt_rows: list[int], output_bias: bool = True
) -> None:
    """Put the embedding and output rows (in place) in the order of the vocabularies remap_vocab made."""
    weights["src_embed.weight"] = take_rows(weights["src_embed.weight"], src_rows)
    weights["tgt_embed.weight"] = take_rows(weights["tgt_embed.weight"], tgt_rows)
    weights["output.weight"] = take_rows(weights["output.weight"], tgt_rows)
    if output_bias:
        weights["output.bias"] = take_rows(weights["output.bias"], tgt_rows)


def special_id(itos: list[str], token: str | None, side: str, required: bool = True) -> int | None:
    if token is not None and token in itos:
        return itos.index(token)
    if required:
        raise CheckpointError(f"{side} vocabulary has no {token!r} token")
    return None


def rename_weights(state: Mapping[str, Tensor], names: Mapping[str, str], what: str) -> dict[str, Tensor]:
    """Map the toolkit's tensor names onto ForeignSeq2Seq's; any tensor left over is an architecture we lack."""
    unknown = sorted(k for k in state if k not in names)
    if unknown:
        raise not_supported(f"{what} tensor(s) this importer does not know, e.g. '{unknown[0]}'")
    out = {}
    for theirs, ours in names.items():
        if theirs in state:
            tensor = state[theirs]
            if not isinstance(tensor, Tensor):
                raise CheckpointError(f"{what}: '{theirs}' is not a tensor")
            if not tensor.is_floating_point():  # integer, bool or complex weights: not a model's parameters
                raise CheckpointError(f"{what}: '{theirs}' holds {tensor.dtype} values, not floating-point weights")
            out[ours] = tensor.detach().to(torch.float32)
    return out


def build_checkpoint(
    config: ForeignConfig,
    weights: dict[str, Tensor],
    vocabs: tuple[Vocab, Vocab],
    tokenizers: tuple[Tokenizer, Tokenizer],
    source: Path,
    provenance: dict[str, Any],
    notes: list[str],
) -> Checkpoint:
    """Put the mapped weights into a ForeignSeq2Seq built once, without random init (strict: every tensor, every
    shape, finite values) and wrap it."""
    model = empty_model(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise CheckpointError(f"{source.name}: weights missing for '{missing[0]}' (the file is incomplete)")
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise CheckpointError(f"{source.name}: '{extra[0]}' is not part of the architecture its config describes")
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise CheckpointError(
                f"{source.name}: '{name}' has shape {tuple(weights[name].shape)}, the config implies {shape}"
            )
    for name in expected:
        if not bool(torch.isfinite(weights[name]).all()):
            raise CheckpointError(f"{source.name}: '{name}' holds NaN or infinite values: the model is broken")
    assign_weights(model, weights)
    training = {"imported_from": {**provenance, "file": os.fspath(source.name), "sha256": _digest(source)}}
    card = _card(config, provenance, notes)
    return Checkpoint(model, vocabs[0], vocabs[1], tokenizers[0], tokenizers[1], training, card, source)


def _digest(source: Path) -> str:
    return sha256(source) if source.is_file() else ""


def _card(config: ForeignConfig, provenance: dict[str, Any], notes: list[str]) -> str:
    query = "the new decoder state s_i" if config.query == "new" else "the previous decoder state s_(i-1)"
    lines = [
        f"# Imported {provenance.get('toolkit', config.toolkit)} model",
        "",
        f"Converted by attnscope from `{provenance.get('model_file', '')}`; it runs with the toolkit's own "
        f"equations. Attention: {config.attention}, queried with {query}.",
        "",
        *[f"- {n}" for n in notes],
    ]
    return "\n".join(lines).rstrip() + "\n"


# -- transformers ------------------------------------------------------------------------------------------------


def is_sinusoid_table(tensor: Tensor, config: TransformerConfig) -> bool:
    """Whether a stored position table is the sinusoidal one TransformerSeq2Seq computes itself (to max_positions)."""
    table = tensor.reshape(-1, config.d_model)[: config.max_positions]
    return bool(torch.allclose(table, sinusoids(len(table), config.d_model), atol=1e-5))


def transformer_weights(
    state: Mapping[str, Any],
    config: TransformerConfig,
    toolkit: str,
    positions: Callable[[str], bool],
    rename: Callable[[str], str],
) -> dict[str, Tensor]:
    """A toolkit's transformer tensors as float32 under TransformerSeq2Seq's names; its sinusoidal position tables
    (`positions` tells them) are checked and left out, as ours computes the same."""
    out: dict[str, Tensor] = {}
    for name, tensor in state.items():
        if not isinstance(tensor, Tensor):
            raise CheckpointError(f"{toolkit}: '{name}' is not a tensor")
        if positions(name):
            if not is_sinusoid_table(tensor, config):
                raise not_supported(f"{toolkit} positional encoding '{name}' that is not the sinusoidal table")
            continue
        out[rename(name)] = tensor.detach().to(torch.float32)
    return out


def transformer_model(
    config: TransformerConfig, weights: dict[str, Tensor], source: Path, what: str
) -> TransformerSeq2Seq:
    """The transformer with exactly these weights (strict: every tensor, every shape), in eval mode."""
    model = TransformerSeq2Seq(config)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{source.name}: the weights do not fit {what} ({exc})") from exc
    return model.eval()
