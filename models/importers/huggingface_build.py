"""Building the Checkpoint of a checked Hugging Face folder (imports transformers; huggingface.py checks first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, GenerationConfig

from models.checkpoint import Checkpoint, CheckpointError
from models.hf.adapter import PROBE, SITES, HFConfig, HFSeq2Seq, PieceTokenizer
from models.importers.common import remap_vocab
from models.tokens import BOS, EOS, PAD, SPECIALS, UNK, Vocab

PROCESSORS_NOT_APPLIED = (
    "min_length",
    "min_new_tokens",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "encoder_no_repeat_ngram_size",
    "forced_eos_token_id",
    "suppress_tokens",
    "begin_suppress_tokens",
)


def build_checkpoint(folder: Path, config: dict[str, Any], weights: Path) -> Checkpoint:
    tokenizer = _tokenizer(folder)
    model = _model(folder, weights)
    start = model.config.decoder_start_token_id
    if start is None:
        raise CheckpointError(f"{folder.name}: config.json has no decoder_start_token_id")
    pieces = _pieces(tokenizer, model.config.vocab_size)
    ids = {PAD: model.config.pad_token_id, EOS: _eos(model), UNK: tokenizer.unk_token_id}
    if start not in ids.values():
        ids[BOS] = start
    vocab, rows = vocabulary(pieces, ids)
    to_hf = [start if token == BOS else max(row, 0) for token, row in zip(vocab.itos, rows, strict=True)]
    generation = _generation(folder, model)
    from_hf = _generated_rows(rows, generation, vocab.itos)
    forced = generation.forced_bos_token_id
    forced_ours = rows.index(forced) if forced is not None and forced in rows else None
    renamed = {pieces[row]: token for token, row in zip(vocab.itos[:4], rows[:4], strict=True) if row >= 0}
    tokenizers = (
        PieceTokenizer(side="source", backend=tokenizer, renamed=renamed),
        PieceTokenizer(side="target", backend=tokenizer, renamed=renamed),
    )
    hf_config = _config(model, len(vocab))
    adapter = HFSeq2Seq(model, hf_config, to_hf, from_hf, forced_ours).eval()
    card = _card(folder, hf_config, generation)
    training = {"imported_from": {"toolkit": "huggingface", "model_type": hf_config.model_type, "folder": folder.name}}
    return Checkpoint(adapter, vocab, vocab, tokenizers[0], tokenizers[1], training, card, folder)


def vocabulary(pieces: list[str], ids: dict[str, int | None]) -> tuple[Vocab, list[int]]:
    """Our Vocab over the model's pieces (specials first) and, per our id, the model's id (-1: none)."""
    return remap_vocab(pieces, {special: ids.get(special) for special in SPECIALS}, "model")


def _tokenizer(folder: Path) -> Any:
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except Exception as exc:  # transformers raises many kinds (OSError, ValueError, ImportError for sentencepiece)
        raise CheckpointError(f"{folder.name}: the tokenizer cannot be loaded ({_first_line(exc)})") from exc


def _model(folder: Path, weights: Path) -> Any:
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(
            folder,
            attn_implementation="eager",
            use_safetensors=weights.suffix == ".safetensors",
            local_files_only=True,
            trust_remote_code=False,
        )
    except Exception as exc:
        raise CheckpointError(f"{folder.name}: the model cannot be loaded ({_first_line(exc)})") from exc
    if model.config.model_type not in SITES:
        raise CheckpointError(f"{folder.name}: model type {model.config.model_type!r} is not supported")
    model.set_attn_implementation(PROBE)
    model.eval()
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{folder.name}: '{name}' holds NaN or infinite values: the model is broken")
    return model.float()


def _eos(model: Any) -> int:
    eos = model.config.eos_token_id
    return int(eos[0] if isinstance(eos, list) else eos)


def _pieces(tokenizer: Any, size: int) -> list[str]:
    """The piece of every output row; rows the tokenizer has no piece for, or a duplicate, get a unique name."""
    pieces, seen = [], set()
    for i in range(size):
        piece = tokenizer.convert_ids_to_tokens(i) if i < len(tokenizer) else None
        name = piece if isinstance(piece, str) and piece not in seen else f"<row {i}>"
        seen.add(name)
        pieces.append(name)
    return pieces


def _generation(folder: Path, model: Any) -> Any:
    if (folder / "generation_config.json").is_file():
        try:
            return GenerationConfig.from_pretrained(folder, local_files_only=True)
        except Exception as exc:
            raise CheckpointError(f"{folder.name}: generation_config.json cannot be read ({_first_line(exc)})") from exc
    return GenerationConfig.from_model_config(model.config)


def _generated_rows(rows: list[int], generation: Any, itos: tuple[str, ...]) -> list[int]:
    """Per our id, the model's logit row; -1 where the id is never generated (no row of its own, a placeholder
    row, or a single-token bad_words_ids entry of the generation config, as generate() forbids it)."""
    banned = {ids[0] for ids in (generation.bad_words_ids or []) if len(ids) == 1}
    return [
        -1 if row < 0 or row in banned or token.startswith("<row ") else row
        for row, token in zip(rows, itos, strict=True)
    ]


def _config(model: Any, vocab_size: int) -> HFConfig:
    c = model.config
    d = int(getattr(c, "d_model", 0) or c.hidden_size)
    heads = int(getattr(c, "decoder_attention_heads", 0) or c.num_heads)
    head_dim = int(getattr(c, "d_kv", 0) or d // heads)
    dec = int(getattr(c, "decoder_layers", 0) or c.num_decoder_layers)
    enc = int(getattr(c, "encoder_layers", 0) or c.num_layers)
    return HFConfig(c.model_type, d, enc, dec, heads, head_dim, vocab_size, vocab_size)


def _card(folder: Path, config: HFConfig, generation: Any) -> str:
    ignored = [name for name in PROCESSORS_NOT_APPLIED if getattr(generation, name, None) not in (None, 0, 1.0, [])]
    lines = [
        f"# Hugging Face {config.model_type} model",
        "",
        f"Opened from `{folder.name}` with its own code (transformers, eager attention, local files only). "
        "Tokens are the tokenizer's pieces; its pad, end and unknown pieces show as `<pad>`, `<eos>` and `<unk>`, "
        "and the decoder start token as `<bos>`.",
        "",
        f"- Every step records the cross-attention of all {config.dec_layers} decoder layers × {config.heads} heads; "
        "alpha shows the mean over the last layer's heads unless another layer or head is chosen.",
        "- Greedy decoding follows generate(num_beams=1, do_sample=False): single-token bad_words_ids and "
        "forced_bos_token_id are applied as generate applies them.",
    ]
    if ignored:
        lines.append(f"- Generation settings not applied by attnscope: {', '.join(ignored)}.")
    return "\n".join(lines) + "\n"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
