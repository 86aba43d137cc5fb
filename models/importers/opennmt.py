"""OpenNMT-py 3.x RNN checkpoints: one .pt holding model, generator, vocab and opt (an argparse.Namespace).

Follows OpenNMT-py 3.5.1 (encoders.RNNEncoder, decoders.InputFeedRNNDecoder / StdRNNDecoder,
modules.GlobalAttention, modules.StackedGRU/LSTM): query = the new top decoder state;
attn_h = linear_out([c; h]) with a bias only for mlp and a tanh only for dot/general; input
feeding of attn_h; logits = generator(attn_h); decoder state = the encoder's final state per
layer (directions concatenated), optionally through the relu bridge; no end token on the source.

Transformers follow OpenNMT-py 3.5.1's TransformerEncoder/Decoder: embeddings × √d plus the interleaved
sinusoidal PositionalEncoding, pre-LN layers (x + F(LN(x)), LayerNorm eps norm_eps) with final encoder
and decoder LayerNorms, q/k/v/output projections with biases only with add_qkvbias, feed-forward biases
only with add_ffnbias; generator with a bias.  Relative or rotary positions, RMS norms, parallel
residuals, grouped key/value heads, gated activations and average attention are refused.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from models.checkpoint import Checkpoint, CheckpointError
from models.foreign import ForeignConfig, ForeignTokenizer
from models.hygiene import shown_value
from models.importers.common import (
    build_checkpoint,
    not_supported,
    remap_vocab,
    rename_weights,
    require,
    safe_torch_load,
    sha256,
    special_id,
    take_vocab_rows,
    transformer_model,
    transformer_weights,
    whole,
)
from models.rnn.config import ConfigError
from models.tokens import Vocab
from models.transformer.config import TransformerConfig

ALLOWED_GLOBALS = (argparse.Namespace,)  # OpenNMT-py pickles its options as a Namespace: nothing else
HARMLESS_TRANSFORMS = {"filtertoolong"}  # training-only filters; anything else changes the text


def load(path: Path, ckpt: Any = None) -> Checkpoint:
    ckpt = safe_torch_load(path, ALLOWED_GLOBALS) if ckpt is None else ckpt
    if not is_checkpoint(ckpt):
        raise CheckpointError(f"{path.name}: not an OpenNMT-py checkpoint (expects model, generator, vocab, opt)")
    opt = vars(ckpt["opt"])
    if opt.get("encoder_type") == "transformer" and opt.get("decoder_type") == "transformer":
        return _load_transformer(path, ckpt, opt)
    _check_supported(opt, ckpt)
    (src_vocab, src_rows), (tgt_vocab, tgt_rows) = _vocabs(ckpt)
    config = _model_config(opt, len(src_vocab), len(tgt_vocab))
    weights = rename_weights(_state(ckpt), _names(config, opt), "OpenNMT-py")
    require(weights, ("src_embed.weight", "tgt_embed.weight", "output.weight", "output.bias"), path.name)
    take_vocab_rows(weights, src_rows, tgt_rows)
    provenance = {"toolkit": "opennmt-py", "version": "3.x", "model_file": path.name}
    notes = [
        "Text is split on spaces, as OpenNMT-py reads it without tokenising transforms; the source has no end token.",
        "OpenNMT-py's vocabulary padding tokens (averyunlikelytoken…) are kept: they are part of the model.",
    ]
    return build_checkpoint(config, weights, (src_vocab, tgt_vocab), _tokenizers(), path, provenance, notes)


def is_checkpoint(ckpt: Any) -> bool:
    return (
        isinstance(ckpt, dict)
        and {"model", "vocab", "opt"} <= set(ckpt)
        and isinstance(ckpt["opt"], argparse.Namespace)
    )


def _check_supported(opt: dict[str, Any], ckpt: dict[str, Any]) -> None:
    encoder, decoder = opt.get("encoder_type", "rnn"), opt.get("decoder_type", "rnn")
    if encoder not in ("rnn", "brnn") or decoder != "rnn":
        found = f"encoder_type {shown_value(encoder)} / decoder_type {shown_value(decoder)}"
        raise not_supported(f"OpenNMT-py {found} (only rnn/brnn with rnn)")
    if opt.get("model_task", "seq2seq") != "seq2seq":
        raise not_supported(f"OpenNMT-py model_task {shown_value(opt.get('model_task'))}")
    if opt.get("rnn_type", "LSTM") not in ("GRU", "LSTM"):
        raise not_supported(f"OpenNMT-py rnn_type {shown_value(opt.get('rnn_type'))}")
    if opt.get("global_attention", "general") not in ("dot", "general", "mlp"):
        raise not_supported(f"OpenNMT-py global_attention {shown_value(opt.get('global_attention'))}")
    if opt.get("global_attention_function", "softmax") != "softmax":
        raise not_supported(f"OpenNMT-py global_attention_function {shown_value(opt.get('global_attention_function'))}")
    if opt.get("generator_function", "softmax") != "softmax":
        raise not_supported(f"OpenNMT-py generator_function {shown_value(opt.get('generator_function'))}")
    for flag, what in (
        ("copy_attn", "copy attention"),
        ("coverage_attn", "coverage attention"),
        ("context_gate", "context gates"),
        ("position_encoding", "position encoding"),
        ("lora_layers", "LoRA layers"),
        ("n_src_feats", "source features"),
    ):
        if opt.get(flag):
            raise not_supported(f"OpenNMT-py {what} ({flag}={shown_value(opt[flag])})")
    listed = opt.get("transforms") or []
    if not isinstance(listed, list | tuple | set) or not all(isinstance(t, str) for t in listed):
        raise CheckpointError(f"OpenNMT-py transforms should be a list of names, got {shown_value(listed)}")
    transforms = set(listed) - HARMLESS_TRANSFORMS
    if transforms:
        raise not_supported(
            f"OpenNMT-py transforms {sorted(transforms)} (attnscope cannot reproduce their tokenisation)"
        )
    if not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("generator"), dict):
        raise not_supported("OpenNMT-py checkpoint without weights in the .pt (saved with save_format safetensors?)")


def _itos(vocab: Any, side: str) -> list[str]:
    itos = vocab.get(side) if isinstance(vocab, dict) else None
    if not isinstance(itos, list) or not all(isinstance(t, str) for t in itos):
        raise not_supported(
            "OpenNMT-py vocabulary that is not a token list (OpenNMT-py < 3.0 pickled torchtext fields)"
        )
    return itos


def _vocabs(ckpt: dict[str, Any]) -> tuple[tuple[Vocab, list[int]], tuple[Vocab, list[int]]]:
    """Each side's vocabulary re-indexed (our specials first) and its new→old rows."""
    src_itos, tgt_itos = _itos(ckpt["vocab"], "src"), _itos(ckpt["vocab"], "tgt")
    return (
        remap_vocab(src_itos, _specials(src_itos, "source"), "source"),
        remap_vocab(tgt_itos, _specials(tgt_itos, "target"), "target"),
    )


def _state(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The model's and the generator's tensors in one state dict."""
    return {**ckpt["model"], **{f"generator.{k}": v for k, v in ckpt["generator"].items()}}


def _tokenizers() -> tuple[ForeignTokenizer, ForeignTokenizer]:
    """Text split on spaces, as OpenNMT-py reads it without tokenising transforms."""
    return (
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py"),
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py"),
    )


def _specials(itos: list[str], side: str) -> dict[str, int | None]:
    return {
        "<pad>": special_id(itos, "<blank>", side),
        "<bos>": special_id(itos, "<s>", side, required=side == "target"),
        "<eos>": special_id(itos, "</s>", side, required=side == "target"),
        "<unk>": special_id(itos, "<unk>", side),
    }


def _model_config(opt: dict[str, Any], src_size: int, tgt_size: int) -> ForeignConfig:
    brnn = opt.get("encoder_type") == "brnn"
    attention = opt.get("global_attention", "general")
    enc_hid, dec_hid = _size(opt, "enc_hid_size"), _size(opt, "dec_hid_size")
    if brnn and enc_hid % 2:
        raise CheckpointError("OpenNMT-py brnn with an odd enc_hid_size")
    try:
        return ForeignConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            embed_dim=whole(opt.get("src_word_vec_size") or opt.get("word_vec_size"), "OpenNMT-py word_vec_size"),
            hidden_dim=dec_hid,
            enc_layers=whole(opt.get("enc_layers"), "OpenNMT-py enc_layers"),
            dec_layers=whole(opt.get("dec_layers"), "OpenNMT-py dec_layers"),
            rnn=str(opt.get("rnn_type", "LSTM")).lower(),
            bidirectional=brnn,
            attention={"dot": "luong-dot", "general": "luong-general", "mlp": "bahdanau"}[attention],
            attn_dim=dec_hid,
            toolkit="opennmt-py",
            enc_hidden_dim=enc_hid // 2 if brnn else enc_hid,
            tgt_embed_dim=whole(opt.get("tgt_word_vec_size") or opt.get("word_vec_size"), "OpenNMT-py word_vec_size"),
            query="new",
            rnn_input="emb+feed" if opt.get("input_feed", 1) else "emb",
            att_vector="[c;s]",
            att_vector_bias=attention == "mlp",
            att_vector_tanh=attention in ("dot", "general"),
            output_bias=True,
            init="final",
            bridge_relu=bool(opt.get("bridge", False)),
            attn_query_bias=attention == "mlp",
            general_on="query",
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"OpenNMT-py options cannot describe a model ({exc})") from exc


def _size(opt: dict[str, Any], key: str) -> int:
    for name in (key, "hidden_size", "rnn_size"):  # 3.x names first, then the shared / older ones
        value = opt.get(name)
        if isinstance(value, int) and value > 0:
            return value
    raise CheckpointError(f"OpenNMT-py options give no {key}")


def _names(config: ForeignConfig, opt: dict[str, Any]) -> dict[str, str]:
    names = {
        "encoder.embeddings.make_embedding.emb_luts.0.weight": "src_embed.weight",
        "decoder.embeddings.make_embedding.emb_luts.0.weight": "tgt_embed.weight",
        "decoder.attn.linear_in.weight": "attention.query_proj.weight",
        "decoder.attn.linear_context.weight": "attention.key_proj.weight",
        "decoder.attn.linear_query.weight": "attention.query_proj.weight",
        "decoder.attn.linear_query.bias": "attention.query_proj.bias",
        "decoder.attn.v.weight": "attention.energy.weight",
        "decoder.attn.linear_out.weight": "att_vector.weight",
        "decoder.attn.linear_out.bias": "att_vector.bias",
        "generator.weight": "output.weight",
        "generator.bias": "output.bias",
        "encoder.bridge.0.weight": "bridges.0.weight",
        "encoder.bridge.0.bias": "bridges.0.bias",
        "encoder.bridge.1.weight": "bridges.1.weight",
        "encoder.bridge.1.bias": "bridges.1.bias",
    }
    dirs = ("", "_reverse") if config.bidirectional else ("",)
    stacked = bool(opt.get("input_feed", 1))  # InputFeedRNNDecoder: StackedGRU/LSTM cells; else nn.GRU/LSTM
    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        for layer in range(config.enc_layers):
            for d in dirs:
                names[f"encoder.rnn.{kind}_l{layer}{d}"] = f"encoder_rnn.{kind}_l{layer}{d}"
        for layer in range(config.dec_layers):
            theirs = f"decoder.rnn.layers.{layer}.{kind}" if stacked else f"decoder.rnn.{kind}_l{layer}"
            names[theirs] = f"decoder_rnn.{kind}_l{layer}"
    return names


# -- transformers ------------------------------------------------------------------------------------------------

_T_LAYER = re.compile(r"(encoder)\.transformer\.(\d+)\.(.+)|(decoder)\.transformer_layers\.(\d+)\.(.+)")
_T_MODULES = {
    "self_attn": "self_attn",
    "context_attn": "cross_attn",
    "feed_forward.w_1": "ffn.linear1",
    "feed_forward.w_2": "ffn.linear2",
    "linear_query": "q_proj",
    "linear_keys": "k_proj",
    "linear_values": "v_proj",
    "final_linear": "out_proj",
}
_T_NORMS = {
    "encoder": {"layer_norm": 0, "feed_forward.layer_norm": 1},
    "decoder": {"layer_norm_1": 0, "layer_norm_2": 1, "feed_forward.layer_norm": 2},
}
_T_FIXED = {
    "encoder.embeddings.make_embedding.emb_luts.0.weight": "src_embed.weight",
    "decoder.embeddings.make_embedding.emb_luts.0.weight": "tgt_embed.weight",
    "encoder.layer_norm.weight": "encoder_norm.weight",
    "encoder.layer_norm.bias": "encoder_norm.bias",
    "decoder.layer_norm.weight": "decoder_norm.weight",
    "decoder.layer_norm.bias": "decoder_norm.bias",
    "generator.weight": "output.weight",
    "generator.bias": "output.bias",
}
_T_UNSUPPORTED = (
    ("max_relative_positions", 0, "relative or rotary positions"),
    ("layer_norm", "standard", "RMS layer norms"),
    ("parallel_residual", False, "parallel residuals"),
    ("shared_layer_norm", False, "a shared layer norm"),
    ("num_kv", 0, "grouped key/value heads"),
    ("position_encoding_type", "SinusoidalInterleaved", "a concatenated sinusoidal position encoding"),
)


def _load_transformer(path: Path, ckpt: dict[str, Any], opt: dict[str, Any]) -> Checkpoint:
    _check_transformer(opt, ckpt)
    (src_vocab, src_rows), (tgt_vocab, tgt_rows) = _vocabs(ckpt)
    config = _transformer_config(opt, len(src_vocab), len(tgt_vocab))
    weights = transformer_weights(
        _state(ckpt), config, "OpenNMT-py", lambda name: name.endswith("make_embedding.pe.pe"), _transformer_name
    )
    take_vocab_rows(weights, src_rows, tgt_rows)
    model = transformer_model(config, weights, path, "the options' transformer")
    tokenizers = _tokenizers()
    training = {"imported_from": {"toolkit": "opennmt-py", "version": "3.x", "model_file": path.name,
                                  "sha256": sha256(path)}}  # fmt: skip
    card = (
        f"# Imported opennmt-py transformer\n\nConverted by attnscope from `{path.name}`; it runs with OpenNMT-py's "
        f"own equations (pre-LN, {config.enc_layers}+{config.dec_layers} layers, {config.heads} heads, d_model "
        f"{config.d_model}).\n\n- Text is split on spaces, as OpenNMT-py reads it without tokenising transforms; the "
        "source has no end token.\n"
    )
    return Checkpoint(model, src_vocab, tgt_vocab, tokenizers[0], tokenizers[1], training, card, path)


def _check_transformer(opt: dict[str, Any], ckpt: dict[str, Any]) -> None:
    for key, wanted, what in _T_UNSUPPORTED:
        if opt.get(key, wanted) not in (wanted, None):
            raise not_supported(f"OpenNMT-py transformers with {what} ({key}={opt[key]!r})")
    if not opt.get("position_encoding", False):
        raise not_supported("OpenNMT-py transformers without position_encoding (learned positions)")
    if opt.get("pos_ffn_activation_fn", "relu") not in ("relu", "gelu"):
        raise not_supported(f"OpenNMT-py feed-forward activation {opt.get('pos_ffn_activation_fn')!r}")
    if opt.get("self_attn_type", "scaled-dot") not in ("scaled-dot", "scaled-dot-flash"):
        raise not_supported(f"OpenNMT-py self_attn_type {opt.get('self_attn_type')!r}")
    if opt.get("model_task", "seq2seq") != "seq2seq":
        raise not_supported(f"OpenNMT-py model_task {opt.get('model_task')!r}")
    transforms = set(opt.get("transforms") or []) - HARMLESS_TRANSFORMS
    if transforms:
        raise not_supported(
            f"OpenNMT-py transforms {sorted(transforms)} (attnscope cannot reproduce their tokenisation)"
        )
    if not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("generator"), dict):
        raise not_supported("OpenNMT-py checkpoint without weights in the .pt (saved with save_format safetensors?)")


def _transformer_config(opt: dict[str, Any], src_size: int, tgt_size: int) -> TransformerConfig:
    try:
        d = _size(opt, "enc_hid_size")
        for key in ("src_word_vec_size", "tgt_word_vec_size"):
            if int(opt.get(key) or opt.get("word_vec_size") or d) != d:
                raise not_supported("OpenNMT-py transformers whose word_vec_size differs from hidden_size")
        return TransformerConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            d_model=d,
            heads=int(opt["heads"]),
            enc_layers=int(opt["enc_layers"]),
            dec_layers=int(opt["dec_layers"]),
            ffn_dim=int(opt["transformer_ff"]),
            dropout=0.0,
            norm="pre",
            final_norm=True,
            activation=str(opt.get("pos_ffn_activation_fn", "relu")),
            layer_norm_eps=float(opt.get("norm_eps", 1e-6)),
            max_positions=5000,
            attention_bias=bool(opt.get("add_qkvbias", False)),
            ffn_bias=bool(opt.get("add_ffnbias", True)),
            toolkit="opennmt-py",
        )
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise CheckpointError(f"OpenNMT-py options cannot describe a transformer ({exc})") from exc


def _transformer_name(name: str) -> str:
    if name in _T_FIXED:
        return _T_FIXED[name]
    m = _T_LAYER.fullmatch(name)
    if m is not None:
        side = m.group(1) or m.group(4)
        index, rest = m.group(2) or m.group(5), m.group(3) or m.group(6)
        module, _, leaf = rest.rpartition(".")
        prefix = f"{side}_layers.{index}."
        if module in _T_NORMS[side]:
            return f"{prefix}norms.{_T_NORMS[side][module]}.{leaf}"
        if module in _T_MODULES:
            return f"{prefix}{_T_MODULES[module]}.{leaf}"
        head, _, layer = module.rpartition(".")
        if head in ("self_attn", "context_attn") and layer in _T_MODULES:
            return f"{prefix}{_T_MODULES[head]}.{_T_MODULES[layer]}.{leaf}"
    raise not_supported(f"OpenNMT-py tensor '{name}' this importer does not know")
