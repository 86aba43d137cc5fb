"""Tiny Hugging Face seq2seq folders for the tests: random weights, a word-level tokenizer made with `tokenizers`."""

from __future__ import annotations

from pathlib import Path

WORDS = [f"w{i}" for i in range(12)]


def _tokenizer(pieces: list[str], template: str, specials: dict[str, str]):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(p, pieces.index(p)) for p in ("<s>", "</s>") if p in template]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **specials)


def tiny_marian(folder: Path, seed: int = 0) -> Path:
    """Marian's conventions: </s> = 0, <unk> = 1, <pad> last and the decoder start; source gets </s>."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel

    pieces = ["</s>", "<unk>", *WORDS, "<pad>"]
    pad = len(pieces) - 1
    torch.manual_seed(seed)
    config = MarianConfig(
        vocab_size=len(pieces),
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=None,
    )
    model = MarianMTModel(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad, eos_token_id=0, pad_token_id=pad, bad_words_ids=[[pad]]
    )
    model.save_pretrained(folder)
    _tokenizer(pieces, "$A </s>", {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}).save_pretrained(
        folder
    )
    return folder


def tiny_bart(folder: Path, seed: int = 0) -> Path:
    """BART's conventions: <s> 0, <pad> 1, </s> 2 (also the decoder start), <unk> 3; <s> forced first."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

    pieces = ["<s>", "<pad>", "</s>", "<unk>", *WORDS]
    torch.manual_seed(seed)
    config = BartConfig(
        vocab_size=len(pieces),
        d_model=16,
        encoder_layers=2,
        decoder_layers=3,
        encoder_attention_heads=2,
        decoder_attention_heads=4,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=None,
    )
    model = BartForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=2, bos_token_id=0, eos_token_id=2, pad_token_id=1, forced_bos_token_id=0
    )
    model.save_pretrained(folder)
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    _tokenizer(pieces, "<s> $A </s>", specials).save_pretrained(folder)
    return folder


def tiny_t5(folder: Path, seed: int = 0) -> Path:
    """T5's conventions: <pad> 0 (also the decoder start), </s> 1, <unk> 2; relative position buckets."""
    import torch
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    pieces = ["<pad>", "</s>", "<unk>", *WORDS]
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(pieces),
        d_model=16,
        d_kv=4,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,  # type: ignore[call-arg]  # a PretrainedConfig keyword T5's stub leaves out
    )
    model = T5ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    model.save_pretrained(folder)
    specials = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    _tokenizer(pieces, "$A </s>", specials).save_pretrained(folder)
    return folder
