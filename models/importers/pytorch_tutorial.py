"""The PyTorch tutorial's seq2seq ("NLP From Scratch: Translation with a Sequence to Sequence Network
and Attention", current batched version): EncoderRNN + AttnDecoderRNN state dicts, described by a
vocabulary JSON (format in the README):

    {"format": "pytorch-tutorial-seq2seq", "encoder": "encoder.pt", "decoder": "decoder.pt",
     "source_words": [...], "target_words": [...], "sos_id": 0, "eos_id": 1, "normalize": "tutorial"}

Equations (AttnDecoderRNN.forward_step): query = the previous state s_{i-1};
e = Va(tanh(Wa q + Ua h)) (all three with biases); α = softmax(e); c = α H;
s_i = GRU([E y_{i-1}; c], s_{i-1}); logits = out(s_i). EOS is appended to the source, as
tensorFromSentence does; the decoder starts from the encoder's final state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.checkpoint import Checkpoint, CheckpointError
from models.foreign import ForeignConfig, ForeignTokenizer
from models.importers.common import (
    build_checkpoint,
    not_supported,
    read_text,
    remap_vocab,
    rename_weights,
    require,
    safe_torch_load,
    take_vocab_rows,
)
from models.tokens import PAD_ID, UNK_ID
from models.untrusted import load_json

FORMAT = "pytorch-tutorial-seq2seq"
NAMES = {
    "encoder.embedding.weight": "src_embed.weight",
    "decoder.embedding.weight": "tgt_embed.weight",
    "decoder.attention.Wa.weight": "attention.query_proj.weight",
    "decoder.attention.Wa.bias": "attention.query_proj.bias",
    "decoder.attention.Ua.weight": "attention.key_proj.weight",
    "decoder.attention.Ua.bias": "attention.key_proj.bias",
    "decoder.attention.Va.weight": "attention.energy.weight",
    "decoder.attention.Va.bias": "attention.energy.bias",
    "decoder.out.weight": "output.weight",
    "decoder.out.bias": "output.bias",
    **{
        f"{part}.gru.{k}_l0": f"{part}_rnn.{k}_l0"
        for part in ("encoder", "decoder")
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    },
}


def is_vocab_file(path: Path) -> bool:
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        return spec_format(path) == FORMAT
    except CheckpointError:
        return False


def spec_format(path: Path) -> object:
    """The JSON file's "format" field; CheckpointError if it is not a readable JSON object."""
    spec = _read_spec(path)
    return spec.get("format")


def _read_spec(path: Path) -> dict[str, Any]:
    spec = load_json(read_text(path), path.name)
    if not isinstance(spec, dict):
        raise CheckpointError(f"{path.name}: not a JSON object")
    return spec


def find_vocab_file(directory: Path) -> Path | None:
    found = [p for p in sorted(directory.glob("*.json")) if is_vocab_file(p)]
    return found[0] if len(found) == 1 else None


def load(path: Path) -> Checkpoint:
    spec = _spec(path)
    encoder = _state_dict(path.parent / spec["encoder"])
    decoder = _state_dict(path.parent / spec["decoder"])
    _check_variant(decoder)
    state = {**{f"encoder.{k}": v for k, v in encoder.items()}, **{f"decoder.{k}": v for k, v in decoder.items()}}
    src_itos, tgt_itos = spec["source_words"], spec["target_words"]
    sos, eos = spec["sos_id"], spec["eos_id"]
    specials = {"<pad>": None, "<bos>": sos, "<eos>": eos, "<unk>": None}  # the tutorial has no pad or unk
    src_vocab, src_rows = remap_vocab(src_itos, specials, "source")
    tgt_vocab, tgt_rows = remap_vocab(tgt_itos, specials, "target")
    config = _model_config(state, len(src_vocab), len(tgt_vocab))
    weights = rename_weights(state, NAMES, "tutorial")
    require(weights, ("src_embed.weight", "tgt_embed.weight", "output.weight", "output.bias"), path.name)
    take_vocab_rows(weights, src_rows, tgt_rows)
    normalize = spec.get("normalize", "tutorial") == "tutorial"
    tokenizers = (
        ForeignTokenizer(
            kind="word", lowercase=normalize, scheme="pytorch-tutorial", normalize=normalize, append_eos=True
        ),
        ForeignTokenizer(kind="word", lowercase=normalize, scheme="pytorch-tutorial", normalize=normalize),
    )
    provenance = {"toolkit": "pytorch-tutorial", "version": "batched (BahdanauAttention)", "model_file": path.name}
    notes = [
        "Attention is queried with the previous decoder state (Bahdanau order); EOS is appended to the source.",
        "Inputs are read as the tutorial's evaluate() reads them: unpadded. The tutorial trains on inputs "
        "padded with SOS to MAX_LENGTH, so its own evaluate() can differ from its training behaviour.",
        "The tutorial has no <unk> or <pad>: unknown source words read as a zero vector (the tutorial "
        "itself would fail on them) and neither token is ever generated.",
    ]
    return build_checkpoint(config, weights, (src_vocab, tgt_vocab), tokenizers, path, provenance, notes)


def _spec(path: Path) -> dict[str, Any]:
    spec = _read_spec(path)
    if spec.get("format") != FORMAT:
        raise CheckpointError(f'{path.name}: not a tutorial vocabulary file ("format": "{FORMAT}")')
    for key in ("source_words", "target_words"):
        words = spec.get(key)
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CheckpointError(f"{path.name}: '{key}' must be a list of words in id order")
    for key in ("encoder", "decoder"):
        name = spec.get(key)
        if not isinstance(name, str) or "\x00" in name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise CheckpointError(f"{path.name}: '{key}' must name a file beside it")
    for key, default in (("sos_id", 0), ("eos_id", 1)):
        spec.setdefault(key, default)
        if not isinstance(spec[key], int) or not 0 <= spec[key] < min(
            len(spec["source_words"]), len(spec["target_words"])
        ):
            raise CheckpointError(f"{path.name}: '{key}' must be a word id")
    if spec["sos_id"] == spec["eos_id"]:
        raise CheckpointError(f"{path.name}: sos_id and eos_id must differ")
    if spec.get("normalize", "tutorial") not in ("tutorial", "none"):
        raise CheckpointError(f'{path.name}: \'normalize\' must be "tutorial" or "none"')
    return spec


def _state_dict(path: Path) -> dict[str, Any]:
    state = safe_torch_load(path)  # a state dict: tensors only, no allowlist needed
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name}: not a state dict (save encoder.state_dict(), not the module)")
    return state


def _check_variant(decoder: dict[str, Any]) -> None:
    if "attn.weight" in decoder:
        raise not_supported("the old tutorial's location-based AttnDecoderRNN (attn over MAX_LENGTH slots)")
    if "gru.weight_ih_l1" in decoder or "lstm.weight_ih_l0" in decoder:
        raise not_supported("tutorial variants with several GRU layers or an LSTM")


def _model_config(state: dict[str, Any], src_size: int, tgt_size: int) -> ForeignConfig:
    try:
        hidden = int(state["encoder.embedding.weight"].shape[1])
    except (KeyError, AttributeError, IndexError) as exc:
        raise CheckpointError("encoder state dict has no embedding.weight: not the tutorial's EncoderRNN") from exc
    try:
        return ForeignConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            embed_dim=hidden,
            hidden_dim=hidden,
            rnn="gru",
            bidirectional=False,
            attention="bahdanau",
            attn_dim=hidden,
            toolkit="pytorch-tutorial",
            enc_hidden_dim=hidden,
            tgt_embed_dim=hidden,
            query="prev",
            rnn_input="emb+context",
            att_vector="none",
            output_bias=True,
            init="final",
            attn_query_bias=True,
            attn_key_bias=True,
            attn_energy_bias=True,
            never_generate=(PAD_ID, UNK_ID),
        )
    except ValueError as exc:
        raise CheckpointError(f"the state dicts cannot describe the tutorial model ({exc})") from exc
