"""Randomly initialised models of the sizes people train, for timing (no training needed to time a step)."""

from __future__ import annotations

import torch

from models import EOS_ID, SPECIALS, Checkpoint, ModelConfig, Seq2Seq, Tokenizer, Vocab

VOCAB = 32_000


def random_words(count: int) -> list[str]:
    """The vocabulary's words after the specials: w0, w1, ..."""
    return [f"w{i}" for i in range(count)]


def random_checkpoint(hidden: int, vocab: int = VOCAB, seed: int = 0) -> Checkpoint:
    """A Bahdanau GRU with `hidden` units everywhere (embedding, states, attention) and `vocab` words on both
    sides, whose <eos> never wins: greedy decoding runs to its maximum length."""
    torch.manual_seed(seed)
    config = ModelConfig(vocab, vocab, embed_dim=hidden, hidden_dim=hidden, attn_dim=hidden)
    model = Seq2Seq(config).eval()
    with torch.no_grad():
        model.decoder.output.bias[EOS_ID] = -1e4
    words = Vocab(SPECIALS + tuple(random_words(vocab - len(SPECIALS))))
    return Checkpoint(model, words, words, Tokenizer(), Tokenizer())
