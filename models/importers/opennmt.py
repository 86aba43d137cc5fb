"""OpenNMT-py 3.x RNN checkpoints: one .pt holding model, generator, vocab and opt (an argparse.Namespace).

Follows OpenNMT-py 3.5.1 (encoders.RNNEncoder, decoders.InputFeedRNNDecoder / StdRNNDecoder,
modules.GlobalAttention, modules.StackedGRU/LSTM): query = the new top decoder state;
attn_h = linear_out([c; h]) with a bias only for mlp and a tanh only for dot/general; input
feeding of attn_h; logits = generator(attn_h); decoder state = the encoder's final state per
layer (directions concatenated), optionally through the relu bridge; no end token on the source.
"""

from __future__ import annotations

import argparse
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
    special_id,
    take_rows,
    whole,
)

ALLOWED_GLOBALS = (argparse.Namespace,)  # OpenNMT-py pickles its options as a Namespace: nothing else
HARMLESS_TRANSFORMS = {"filtertoolong"}  # training-only filters; anything else changes the text


def load(path: Path, ckpt: Any = None) -> Checkpoint:
    ckpt = safe_torch_load(path, ALLOWED_GLOBALS) if ckpt is None else ckpt
    if not is_checkpoint(ckpt):
        raise CheckpointError(f"{path.name}: not an OpenNMT-py checkpoint (expects model, generator, vocab, opt)")
    opt = vars(ckpt["opt"])
    _check_supported(opt, ckpt)
    src_itos, tgt_itos = _itos(ckpt["vocab"], "src"), _itos(ckpt["vocab"], "tgt")
    src_vocab, src_rows = remap_vocab(src_itos, _specials(src_itos, "source"), "source")
    tgt_vocab, tgt_rows = remap_vocab(tgt_itos, _specials(tgt_itos, "target"), "target")
    config = _model_config(opt, len(src_vocab), len(tgt_vocab))
    state = {**ckpt["model"], **{f"generator.{k}": v for k, v in ckpt["generator"].items()}}
    weights = rename_weights(state, _names(config, opt), "OpenNMT-py")
    require(weights, ("src_embed.weight", "tgt_embed.weight", "output.weight", "output.bias"), path.name)
    weights["src_embed.weight"] = take_rows(weights["src_embed.weight"], src_rows)
    for name in ("tgt_embed.weight", "output.weight", "output.bias"):
        weights[name] = take_rows(weights[name], tgt_rows)
    tokenizers = (
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py"),
        ForeignTokenizer(kind="word", lowercase=False, scheme="opennmt-py"),
    )
    provenance = {"toolkit": "opennmt-py", "version": "3.x", "model_file": path.name}
    notes = [
        "Text is split on spaces, as OpenNMT-py reads it without tokenising transforms; the source has no end token.",
        "OpenNMT-py's vocabulary padding tokens (averyunlikelytoken…) are kept: they are part of the model.",
    ]
    return build_checkpoint(config, weights, (src_vocab, tgt_vocab), tokenizers, path, provenance, notes)


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
