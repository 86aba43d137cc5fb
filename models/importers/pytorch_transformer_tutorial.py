"""The PyTorch tutorial "Language Translation with nn.Transformer and torchtext": its Seq2SeqTransformer's
state dict, described by a JSON file beside it:

    {"format": "pytorch-transformer-tutorial", "model": "transformer.pt", "nhead": 8,
     "source_words": [...], "target_words": [...], "specials": {"unk": 0, "pad": 1, "bos": 2, "eos": 3}}

where source_words[i] is vocab_transform[SRC_LANGUAGE].lookup_token(i) (likewise for the target), and
"specials" the tutorial's UNK/PAD/BOS/EOS_IDX (these defaults when left out).

Equations (nn.Transformer defaults: post-LN, ReLU, a final LayerNorm on encoder and decoder):
x = E y · √d + PE (the tutorial's sinusoidal table), each sublayer LN(x + F(x)); the source is
<bos> tokens <eos>, as its tensor_transform makes it; greedy decoding starts at <bos>, takes the argmax
over every token and stops at <eos>, as its greedy_decode does.  Text is read as space-separated tokens
(the tutorial tokenises with spaCy, which attnscope does not reproduce: pass tokenised text).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from models.checkpoint import Checkpoint, CheckpointError
from models.foreign import ForeignTokenizer
from models.importers.common import (
    is_sinusoid_table,
    read_text,
    remap_vocab,
    safe_torch_load,
    sha256,
    take_vocab_rows,
    transformer_model,
)
from models.rnn.config import ConfigError
from models.transformer.config import TransformerConfig

FORMAT = "pytorch-transformer-tutorial"
DEFAULT_SPECIALS = {"unk": 0, "pad": 1, "bos": 2, "eos": 3}
_LAYER = re.compile(r"transformer\.(encoder|decoder)\.layers\.(\d+)\.(.+)")
_ATTENTION = {"self_attn": "self_attn", "multihead_attn": "cross_attn"}
_OTHER = {
    "linear1": "ffn.linear1",
    "linear2": "ffn.linear2",
    "norm1": "norms.0",
    "norm2": "norms.1",
    "norm3": "norms.2",
}


def is_spec_file(path: Path) -> bool:
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        return json.loads(read_text(path)).get("format") == FORMAT
    except (CheckpointError, ValueError, AttributeError):
        return False


def find_spec_file(directory: Path) -> Path | None:
    found = [p for p in sorted(directory.glob("*.json")) if is_spec_file(p)]
    return found[0] if len(found) == 1 else None


def load(path: Path) -> Checkpoint:
    spec = _spec(path)
    model_file = path.parent / spec["model"]
    state = safe_torch_load(model_file)  # a state dict: tensors only
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{model_file.name}: not a state dict (save model.state_dict(), not the module)")
    ids = {**DEFAULT_SPECIALS, **spec.get("specials", {})}
    specials = {"<pad>": ids["pad"], "<bos>": ids["bos"], "<eos>": ids["eos"], "<unk>": ids["unk"]}
    src_vocab, src_rows = remap_vocab(spec["source_words"], specials, "source")
    tgt_vocab, tgt_rows = remap_vocab(spec["target_words"], specials, "target")
    config = _config(state, spec, len(src_vocab), len(tgt_vocab))
    weights = _weights(state, config)
    take_vocab_rows(weights, src_rows, tgt_rows)
    model = transformer_model(config, weights, model_file, "nn.Transformer's layout")
    tokenizers = (
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py", append_eos=True, prepend_bos=True),
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py"),
    )
    training = {"imported_from": {"toolkit": FORMAT, "file": model_file.name, "sha256": sha256(model_file)}}
    return Checkpoint(model, src_vocab, tgt_vocab, *tokenizers, training, _card(config, model_file), path)


def _spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(read_text(path))
    except ValueError as exc:
        raise CheckpointError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise CheckpointError(f'{path.name}: not a transformer tutorial file ("format": "{FORMAT}")')
    for key in ("source_words", "target_words"):
        words = spec.get(key)
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CheckpointError(f"{path.name}: '{key}' must be a list of words in id order")
    model = spec.get("model")
    if not isinstance(model, str) or Path(model).is_absolute() or ".." in Path(model).parts:
        raise CheckpointError(f"{path.name}: 'model' must name a file beside it")
    if not isinstance(spec.get("nhead"), int) or isinstance(spec.get("nhead"), bool):
        raise CheckpointError(f"{path.name}: 'nhead' (the number of attention heads) must be a whole number")
    specials = {**DEFAULT_SPECIALS, **(spec.get("specials") or {})}
    size = min(len(spec["source_words"]), len(spec["target_words"]))
    if set(specials) != set(DEFAULT_SPECIALS) or not all(
        isinstance(v, int) and 0 <= v < size for v in specials.values()
    ):
        raise CheckpointError(f"{path.name}: 'specials' must give word ids for unk, pad, bos and eos")
    return spec


def _config(state: dict[str, Tensor], spec: dict[str, Any], src_size: int, tgt_size: int) -> TransformerConfig:
    try:
        d = int(state["src_tok_emb.embedding.weight"].shape[1])
        layers = {
            side: {int(m.group(2)) for k in state if (m := _LAYER.match(k)) and m.group(1) == side}
            for side in ("encoder", "decoder")
        }
        return TransformerConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            d_model=d,
            heads=spec["nhead"],
            enc_layers=len(layers["encoder"]),
            dec_layers=len(layers["decoder"]),
            ffn_dim=int(state["transformer.encoder.layers.0.linear1.weight"].shape[0]),
            dropout=0.0,
            norm="post",
            final_norm=True,
            max_positions=min(int(state["positional_encoding.pos_embedding"].shape[0]), 65536),
            toolkit=FORMAT,
        )
    except (KeyError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"not the tutorial's Seq2SeqTransformer: no {exc} in the state dict") from exc
    except ConfigError as exc:
        raise CheckpointError(f"the state dict cannot describe the tutorial's model ({exc})") from exc


def _weights(state: dict[str, Tensor], config: TransformerConfig) -> dict[str, Tensor]:
    if not is_sinusoid_table(state["positional_encoding.pos_embedding"], config):
        raise CheckpointError("the positional encoding is not the tutorial's sinusoidal table")
    out: dict[str, Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().to(torch.float32)
        if name == "positional_encoding.pos_embedding":
            continue
        out.update(_renamed(name, tensor, config.d_model))
    return out


def _renamed(name: str, tensor: Tensor, d: int) -> dict[str, Tensor]:
    fixed = {
        "src_tok_emb.embedding.weight": "src_embed.weight",
        "tgt_tok_emb.embedding.weight": "tgt_embed.weight",
        "generator.weight": "output.weight",
        "generator.bias": "output.bias",
        "transformer.encoder.norm.weight": "encoder_norm.weight",
        "transformer.encoder.norm.bias": "encoder_norm.bias",
        "transformer.decoder.norm.weight": "decoder_norm.weight",
        "transformer.decoder.norm.bias": "decoder_norm.bias",
    }
    if name in fixed:
        return {fixed[name]: tensor}
    m = _LAYER.match(name)
    if m is None:
        raise CheckpointError(f"not supported: tensor '{name}' is not part of the tutorial's Seq2SeqTransformer")
    side, index, rest = m.group(1), m.group(2), m.group(3)
    prefix = f"{side}_layers.{index}."
    module, _, leaf = rest.partition(".")
    if module in _ATTENTION:
        ours = prefix + _ATTENTION[module]
        if leaf.startswith("in_proj_"):  # q, k and v packed in one matrix
            kind = leaf.removeprefix("in_proj_")
            return {f"{ours}.{p}_proj.{kind}": t for p, t in zip("qkv", tensor.split(d), strict=True)}
        return {f"{ours}.{leaf}": tensor}
    if module in _OTHER:
        return {f"{prefix}{_OTHER[module]}.{leaf}": tensor}
    raise CheckpointError(f"not supported: tensor '{name}' is not part of the tutorial's Seq2SeqTransformer")


def _card(config: TransformerConfig, model_file: Path) -> str:
    return (
        "# Imported PyTorch nn.Transformer tutorial model\n\n"
        f"Converted by attnscope from `{model_file.name}`: {config.enc_layers}+{config.dec_layers} layers, "
        f"{config.heads} heads, d_model {config.d_model}; it runs with nn.Transformer's equations (post-LN with "
        "final encoder and decoder norms).\n\n"
        "- Text is read as space-separated tokens (the tutorial's spaCy tokenisation is not reproduced).\n"
        "- The source is <bos> tokens <eos>, as the tutorial's tensor_transform makes it.\n"
    )
