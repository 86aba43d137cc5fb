"""JoeyNMT 2.x recurrent and transformer models: a model directory with config.yaml, a .ckpt and src/trg_vocab.txt.

Follows joeynmt 2.3.0 (encoders.RecurrentEncoder, decoders.RecurrentDecoder, attention.*,
vocabulary.Vocabulary, tokenizers.BasicTokenizer): query = the new top decoder state, input feeding
of the attentional vector h̃ = tanh(W[s; c] + b), logits = W_o h̃ (no bias), </s> appended to
every source, greedy search never emits <s> or <pad>.

Transformers follow joeynmt 2.3.0's TransformerEncoder/Decoder (transformer_layers.*): embeddings
(× √d when `scale`) plus its sinusoidal PositionalEncoding, each sublayer x + F(LN(x)) ("pre") or
LN(x + F(x)) ("post"), LayerNorm eps 1e-6, a final LayerNorm on encoder and decoder only for "pre",
logits = W_o x (no bias); transformer_greedy never emits <s>.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from models.checkpoint import Checkpoint, CheckpointError
from models.foreign import ForeignConfig, ForeignTokenizer
from models.hygiene import shown_token, shown_value
from models.importers.common import (
    build_checkpoint,
    not_supported,
    read_text,
    remap_vocab,
    rename_weights,
    require,
    safe_torch_load,
    sha256,
    take_vocab_rows,
    transformer_model,
    transformer_weights,
    whole,
)
from models.importers.yaml_config import YAMLError, load_config
from models.rnn.config import ConfigError
from models.tokens import BOS_ID, PAD_ID, UNK_ID, Vocab
from models.transformer.config import TransformerConfig

JOEY_SPECIALS = {"unk_token": "<unk>", "pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>"}
MAX_CONFIG_BYTES = 256 * 1024  # a JoeyNMT config.yaml is a few KB; PyYAML reads ~250 KB/s


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.yaml").is_file() and any(path.glob("*.ckpt"))


def load(path: Path) -> Checkpoint:
    """`path`: the model directory, or a .ckpt inside it (config.yaml and vocabularies sit beside it)."""
    model_dir = path.parent if path.is_file() else path
    ckpt_file = path if path.is_file() else _checkpoint_file(model_dir)
    cfg = _config(model_dir / "config.yaml")
    model_cfg = _section(cfg, "model")
    enc, dec = _section(model_cfg, "encoder"), _section(model_cfg, "decoder")
    if enc.get("type", "recurrent") == "transformer" and dec.get("type", "transformer") == "transformer":
        return _load_transformer(model_dir, ckpt_file, cfg)
    _check_supported(model_cfg, enc, dec, _section(cfg, "data"))
    data = _section(cfg, "data")
    (src_vocab, src_rows), (tgt_vocab, tgt_rows) = _vocabs(model_dir, _symbols(data))
    config = _model_config(enc, dec, len(src_vocab), len(tgt_vocab))
    state = _model_state(ckpt_file)
    weights = rename_weights(state, _names(config), "JoeyNMT")
    require(weights, ("src_embed.weight", "tgt_embed.weight", "output.weight"), ckpt_file.name)
    take_vocab_rows(weights, src_rows, tgt_rows, output_bias=False)
    tokenizers = (_tokenizer(_section(data, "src"), True), _tokenizer(_section(data, "trg"), False))
    provenance = {
        "toolkit": "joeynmt",
        "version": str(cfg.get("joeynmt_version", "?")),
        "model_file": f"{model_dir.name}/{ckpt_file.name}",
    }
    notes = [
        "The source gets </s> (shown as <eos>) appended, as JoeyNMT does; it is an attendable column.",
        "Like JoeyNMT's search, <bos> and <pad> are never generated. JoeyNMT's min_output_length "
        "(no </s> as the first token) is a search setting attnscope does not apply.",
    ]
    return build_checkpoint(config, weights, (src_vocab, tgt_vocab), tokenizers, ckpt_file, provenance, notes)


def _checkpoint_file(model_dir: Path) -> Path:
    for name in ("best.ckpt", "latest.ckpt"):
        if (model_dir / name).is_file():
            return (model_dir / name).resolve()  # JoeyNMT leaves these as symlinks to N.ckpt
    numbered = sorted(
        (p for p in model_dir.glob("*.ckpt") if re.fullmatch(r"\d+\.ckpt", p.name)), key=lambda p: int(p.stem)
    )
    if not numbered:
        raise CheckpointError(f"{model_dir}: no JoeyNMT checkpoint (best.ckpt, latest.ckpt or N.ckpt)")
    return numbered[-1]


def _config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no config.yaml beside the checkpoint (JoeyNMT keeps it in model_dir)")
    try:
        cfg = load_config(read_text(path, MAX_CONFIG_BYTES))
    except YAMLError as exc:
        raise CheckpointError(f"{path.name}: cannot read it: {' '.join(str(exc).split())}") from exc
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path.name}: not a JoeyNMT configuration")
    return cfg


def _section(cfg: dict[str, Any], key: str) -> dict[str, Any]:
    value = cfg.get(key) or {}
    if not isinstance(value, dict):
        raise CheckpointError(f"config.yaml: '{key}' should be a mapping")
    return value


def _symbols(data: dict[str, Any]) -> dict[str, Any]:
    symbols = {**JOEY_SPECIALS, **_section(data, "special_symbols")}
    for key in JOEY_SPECIALS:
        if not isinstance(symbols[key], str):
            raise CheckpointError(f"config.yaml: special_symbols.{key} should be a string")
    return symbols


def _check_supported(model: dict[str, Any], enc: dict[str, Any], dec: dict[str, Any], data: dict[str, Any]) -> None:
    if enc.get("type", "recurrent") != "recurrent":
        kind = shown_token(str(enc.get("type")))
        raise not_supported(f"JoeyNMT {kind} encoder (only recurrent encoders and decoders)")
    if dec.get("type", "transformer") != "recurrent":
        kind = shown_token(str(dec.get("type", "transformer")))
        raise not_supported(f"JoeyNMT {kind} decoder (only recurrent encoders and decoders)")
    if str(enc.get("rnn_type", "gru")).lower() != str(dec.get("rnn_type", "gru")).lower():
        raise not_supported("JoeyNMT models whose encoder and decoder use different RNN types")
    if str(dec.get("rnn_type", "gru")).lower() not in ("gru", "lstm"):
        raise not_supported(f"JoeyNMT rnn_type {shown_value(dec.get('rnn_type'))}")
    if not enc.get("bidirectional", True):
        raise not_supported("JoeyNMT unidirectional recurrent encoder (JoeyNMT 2.3 itself cannot run it)")
    if dec.get("attention", "bahdanau") not in ("bahdanau", "luong"):
        raise not_supported(f"JoeyNMT attention {shown_value(dec.get('attention'))}")
    if dec.get("init_hidden", "bridge") not in ("bridge", "zero", "last"):
        raise not_supported(f"JoeyNMT init_hidden {shown_value(dec.get('init_hidden'))}")
    if dec.get("activation", "tanh") != "tanh":
        raise not_supported(f"JoeyNMT decoder activation {shown_value(dec.get('activation'))}")
    symbols = _section(data, "special_symbols")
    if symbols.get("sep_token") or symbols.get("lang_tags"):
        raise not_supported("JoeyNMT sep_token / lang_tags (prompted or multilingual models)")
    for side in ("src", "trg"):
        spec = _section(data, side)
        if spec.get("level", "word") not in ("word", "char"):
            level = shown_value(spec.get("level"))
            raise not_supported(f"JoeyNMT {side} level {level} (subword models need sentencepiece/subword-nmt)")
        pretokenizer = _section(spec, "tokenizer_cfg").get("pretokenizer", "none")
        if pretokenizer != "none":
            raise not_supported(f"JoeyNMT {side} pretokenizer {shown_value(pretokenizer)}")


def _vocab(path: Path, symbols: dict[str, Any]) -> list[str]:
    """JoeyNMT's Vocabulary: specials, then the file's tokens, duplicates dropped (one token per line)."""
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {path.name} (JoeyNMT writes it to model_dir when training)")
    tokens = [symbols[k] for k in ("unk_token", "pad_token", "bos_token", "eos_token")]
    tokens += read_text(path).splitlines()
    return list(dict.fromkeys(tokens))


def _vocabs(model_dir: Path, symbols: dict[str, Any]) -> tuple[tuple[Vocab, list[int]], tuple[Vocab, list[int]]]:
    """Each side's vocabulary re-indexed (our specials first) and its new→old rows."""
    src_itos = _vocab(model_dir / "src_vocab.txt", symbols)
    tgt_itos = _vocab(model_dir / "trg_vocab.txt", symbols)
    return (
        remap_vocab(src_itos, _specials(src_itos, symbols), "source"),
        remap_vocab(tgt_itos, _specials(tgt_itos, symbols), "target"),
    )


def _specials(itos: list[str], symbols: dict[str, Any]) -> dict[str, int | None]:
    ids: dict[str, int | None] = {
        "<pad>": itos.index(symbols["pad_token"]),
        "<bos>": itos.index(symbols["bos_token"]),
        "<eos>": itos.index(symbols["eos_token"]),
        "<unk>": itos.index(symbols["unk_token"]),
    }
    for name, key in (("<pad>", "pad_id"), ("<bos>", "bos_id"), ("<eos>", "eos_id"), ("<unk>", "unk_id")):
        if key in symbols and symbols[key] != ids[name]:
            raise CheckpointError(f"config.yaml: {key} is {symbols[key]} but the vocabulary has it at {ids[name]}")
    return ids


def _model_config(enc: dict[str, Any], dec: dict[str, Any], src_size: int, tgt_size: int) -> ForeignConfig:
    enc_emb, dec_emb = _section(enc, "embeddings"), _section(dec, "embeddings")
    input_feeding = bool(dec.get("input_feeding", True))
    hidden = whole(dec.get("hidden_size"), "config.yaml: model.decoder.hidden_size")
    try:
        return ForeignConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            embed_dim=whole(enc_emb.get("embedding_dim", 64), "config.yaml: encoder embedding_dim"),
            hidden_dim=hidden,
            enc_layers=whole(enc.get("num_layers", 1), "config.yaml: model.encoder.num_layers"),
            dec_layers=whole(dec.get("num_layers", 1), "config.yaml: model.decoder.num_layers"),
            rnn=str(dec.get("rnn_type", "gru")).lower(),
            bidirectional=True,
            attention="bahdanau" if dec.get("attention", "bahdanau") == "bahdanau" else "luong-general",
            attn_dim=hidden,
            toolkit="joeynmt",
            enc_hidden_dim=whole(enc.get("hidden_size"), "config.yaml: model.encoder.hidden_size"),
            tgt_embed_dim=whole(dec_emb.get("embedding_dim", 64), "config.yaml: decoder embedding_dim"),
            query="new",
            rnn_input="emb+feed" if input_feeding else "emb",
            att_vector="tanh[s;c]",
            init={"bridge": "bridge", "zero": "zero", "last": "last"}[dec.get("init_hidden", "bridge")],
            general_on="keys",
            src_emb_scale=bool(enc_emb.get("scale", False)),
            tgt_emb_scale=bool(dec_emb.get("scale", False)),
            never_generate=(PAD_ID, BOS_ID),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"config.yaml: the model section cannot describe a model ({exc})") from exc


def _model_state(ckpt_file: Path) -> dict[str, Any]:
    ckpt = safe_torch_load(ckpt_file)  # JoeyNMT checkpoints hold only tensors, dicts, lists and numbers
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model_state"), dict):
        raise CheckpointError(f"{ckpt_file.name}: not a JoeyNMT checkpoint (no 'model_state')")
    return ckpt["model_state"]


def _names(config: ForeignConfig) -> dict[str, str]:
    names = {
        "src_embed.lut.weight": "src_embed.weight",
        "trg_embed.lut.weight": "tgt_embed.weight",
        "decoder.att_vector_layer.weight": "att_vector.weight",
        "decoder.att_vector_layer.bias": "att_vector.bias",
        "decoder.output_layer.weight": "output.weight",
        "decoder.attention.key_layer.weight": "attention.key_proj.weight",
        "decoder.attention.query_layer.weight": "attention.query_proj.weight",
        "decoder.attention.energy_layer.weight": "attention.energy.weight",
        "decoder.bridge_layer.weight": "bridge.weight",
        "decoder.bridge_layer.bias": "bridge.bias",
    }
    for part, layers, dirs in (("encoder", config.enc_layers, ("", "_reverse")), ("decoder", config.dec_layers, ("",))):
        for layer in range(layers):
            for d in dirs:
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    names[f"{part}.rnn.{kind}_l{layer}{d}"] = f"{part}_rnn.{kind}_l{layer}{d}"
    return names


def _tokenizer(spec: dict[str, Any], source: bool) -> ForeignTokenizer:
    return ForeignTokenizer(
        kind=str(spec.get("level", "word")),
        lowercase=bool(spec.get("lowercase", False)),
        scheme="joeynmt",
        normalize=bool(spec.get("normalize", False)),
        append_eos=source,
    )


# -- transformers ------------------------------------------------------------------------------------------------

_T_LAYER = re.compile(r"(encoder|decoder)\.layers\.(\d+)\.(.+)")
_T_PARTS = {
    "src_src_att": "self_attn",
    "trg_trg_att": "self_attn",
    "src_trg_att": "cross_attn",
    "feed_forward.pwff_layer.0": "ffn.linear1",
    "feed_forward.pwff_layer.3": "ffn.linear2",
}
_T_NORMS = {  # each layer's LayerNorms in sublayer order
    "encoder": {"layer_norm": 0, "feed_forward.layer_norm": 1},
    "decoder": {"x_layer_norm": 0, "dec_layer_norm": 1, "feed_forward.layer_norm": 2},
}
_T_FIXED = {
    "src_embed.lut.weight": "src_embed.weight",
    "trg_embed.lut.weight": "tgt_embed.weight",
    "encoder.layer_norm.weight": "encoder_norm.weight",
    "encoder.layer_norm.bias": "encoder_norm.bias",
    "decoder.layer_norm.weight": "decoder_norm.weight",
    "decoder.layer_norm.bias": "decoder_norm.bias",
    "decoder.output_layer.weight": "output.weight",
}


def _load_transformer(model_dir: Path, ckpt_file: Path, cfg: dict[str, Any]) -> Checkpoint:
    model_cfg, data = _section(cfg, "model"), _section(cfg, "data")
    enc, dec = _section(model_cfg, "encoder"), _section(model_cfg, "decoder")
    _check_transformer(enc, dec, data)
    symbols = {**JOEY_SPECIALS, **(data.get("special_symbols") or {})}
    (src_vocab, src_rows), (tgt_vocab, tgt_rows) = _vocabs(model_dir, symbols)
    generate_unk = bool(_section(cfg, "testing").get("generate_unk", True))
    config = _transformer_config(enc, dec, len(src_vocab), len(tgt_vocab), generate_unk)
    positions = ("encoder.pe.pe", "decoder.pe.pe")
    weights = transformer_weights(
        _model_state(ckpt_file), config, "JoeyNMT", lambda name: name in positions, _transformer_name
    )
    take_vocab_rows(weights, src_rows, tgt_rows, output_bias=False)
    model = transformer_model(config, weights, ckpt_file, "the config's transformer")
    tokenizers = (_tokenizer(_section(data, "src"), True), _tokenizer(_section(data, "trg"), False))
    source = f"{model_dir.name}/{ckpt_file.name}"
    training = {"imported_from": {"toolkit": "joeynmt", "version": str(cfg.get("joeynmt_version", "?")),
                                  "model_file": source, "sha256": sha256(ckpt_file)}}  # fmt: skip
    card = (
        f"# Imported joeynmt transformer\n\nConverted by attnscope from `{source}`; it runs with JoeyNMT's own "
        f"equations ({config.norm}-LN, {config.enc_layers}+{config.dec_layers} layers, {config.heads} heads, "
        f"d_model {config.d_model}).\n\n- The source gets </s> (shown as <eos>) appended, as JoeyNMT does.\n"
        "- Like JoeyNMT's transformer_greedy, <bos> is never generated; its min_output_length (no </s> first) "
        "is a search setting attnscope does not apply.\n"
    )
    return Checkpoint(model, src_vocab, tgt_vocab, tokenizers[0], tokenizers[1], training, card, ckpt_file)


def _check_transformer(enc: dict[str, Any], dec: dict[str, Any], data: dict[str, Any]) -> None:
    if "layer_norm" not in enc or "layer_norm" not in dec or enc["layer_norm"] != dec["layer_norm"]:
        raise not_supported(
            "JoeyNMT transformers without one explicit layer_norm for encoder and decoder (left out, JoeyNMT 2.3 "
            "builds pre-LN encoder layers with no final norm but a post-LN decoder)"
        )
    for part in (enc, dec):
        if float(part.get("alpha", 1.0)) != 1.0:
            raise not_supported(f"JoeyNMT residual alpha {part.get('alpha')!r} (only 1.0)")
        if part.get("activation", "relu") not in ("relu", "gelu"):
            raise not_supported(f"JoeyNMT transformer activation {part.get('activation')!r}")
    for key in ("hidden_size", "num_heads", "ff_size"):
        if enc.get(key) != dec.get(key):
            raise not_supported(f"JoeyNMT transformers whose encoder and decoder {key} differ")
    if bool(_section(enc, "embeddings").get("scale", False)) != bool(_section(dec, "embeddings").get("scale", False)):
        raise not_supported("JoeyNMT transformers that scale only one side's embeddings")
    symbols = data.get("special_symbols") or {}
    if symbols.get("sep_token") or symbols.get("lang_tags"):
        raise not_supported("JoeyNMT sep_token / lang_tags (prompted or multilingual models)")
    for side in ("src", "trg"):
        spec = _section(data, side)
        if spec.get("level", "word") not in ("word", "char"):
            raise not_supported(f"JoeyNMT {side} level {spec.get('level')!r} (subword models need their tokenizer)")


def _transformer_config(
    enc: dict[str, Any], dec: dict[str, Any], src_size: int, tgt_size: int, generate_unk: bool
) -> TransformerConfig:
    try:
        hidden = int(enc["hidden_size"])
        for part in (enc, dec):
            if int(_section(part, "embeddings").get("embedding_dim", hidden)) != hidden:
                raise not_supported("JoeyNMT transformers whose embedding_dim differs from hidden_size")
        return TransformerConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            d_model=hidden,
            heads=int(enc.get("num_heads", 8)),
            enc_layers=int(enc.get("num_layers", 6)),
            dec_layers=int(dec.get("num_layers", 6)),
            ffn_dim=int(enc["ff_size"]),
            dropout=0.0,
            norm=str(enc["layer_norm"]),
            final_norm=enc["layer_norm"] == "pre",
            emb_scale=bool(_section(enc, "embeddings").get("scale", False)),
            activation=str(enc.get("activation", "relu")),
            layer_norm_eps=1e-6,
            max_positions=5000,
            output_bias=False,
            never_generate=(BOS_ID,) if generate_unk else (BOS_ID, UNK_ID),
            toolkit="joeynmt",
        )
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise CheckpointError(f"config.yaml: the model section cannot describe a transformer ({exc})") from exc


def _transformer_name(name: str) -> str:
    if name in _T_FIXED:
        return _T_FIXED[name]
    m = _T_LAYER.fullmatch(name)
    if m is not None:
        side, index, rest = m.groups()
        module, _, leaf = rest.rpartition(".")
        prefix = f"{side}_layers.{index}."
        if module in _T_NORMS[side]:
            return f"{prefix}norms.{_T_NORMS[side][module]}.{leaf}"
        if module in _T_PARTS:
            return f"{prefix}{_T_PARTS[module]}.{leaf}"
        head, _, layer = module.rpartition(".")
        kinds = {"q_layer": "q_proj", "k_layer": "k_proj", "v_layer": "v_proj", "output_layer": "out_proj"}
        if head in _T_PARTS and layer in kinds:
            return f"{prefix}{_T_PARTS[head]}.{kinds[layer]}.{leaf}"
    raise not_supported(f"JoeyNMT tensor '{name}' this importer does not know")
