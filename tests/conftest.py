"""Shared fixtures: offscreen Qt, and a tiny model trained in seconds on a toy reversal task."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TOY_WORDS = [f"w{i}" for i in range(12)]


def write_toy_pairs(path: Path, n: int, seed: int) -> Path:
    """Toy task: uppercase and reverse the source words (needs attention to be learned)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(TOY_WORDS) for _ in range(rng.randint(2, 6))]
        lines.append(" ".join(words) + "\t" + " ".join(w.upper() for w in reversed(words)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _train_toy(root: Path, name: str, sizes: tuple[int, int], **options: Any) -> Path:
    """A model trained on `sizes` (training, validation) toy pairs; the options are TrainOptions'."""
    from models.training.loop import TrainOptions, train

    opts = TrainOptions(
        data=[write_toy_pairs(root / "train.tsv", sizes[0], 1)],
        valid=write_toy_pairs(root / "valid.tsv", sizes[1], 2),
        out=root / f"{name}.safetensors",
        batch_size=32,
        seed=3,
        quiet=True,
        dropout=0.0,
        **options,
    )
    train(opts)
    return opts.out


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Bahdanau GRU trained for a few hundred updates (a few seconds on CPU)."""
    root = tmp_path_factory.mktemp("tiny")
    return _train_toy(root, "tiny", (1500, 100), embed_dim=32, hidden_dim=48, attn_dim=48, epochs=6)


@pytest.fixture(scope="session")
def tiny_none_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model without attention (one fixed context vector), trained for a few dozen updates."""
    root = tmp_path_factory.mktemp("tiny_none")
    return _train_toy(
        root, "tiny_none", (300, 50), attention="none", embed_dim=16, hidden_dim=24, attn_dim=24, epochs=1, max_steps=40
    )


@pytest.fixture(scope="session")
def tiny_transformer_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained transformer (2 decoder layers x 4 heads) whose vocabulary has a full stop: for the heads' views."""
    import torch

    from models import SPECIALS, Checkpoint, Tokenizer, Vocab, save_checkpoint
    from models.transformer.config import TransformerConfig
    from models.transformer.model import TransformerSeq2Seq

    torch.manual_seed(0)
    words = (*TOY_WORDS, ".")
    vocab = Vocab(SPECIALS + words)
    config = TransformerConfig(
        len(vocab.itos), len(vocab.itos), d_model=16, heads=4, enc_layers=1, dec_layers=2, ffn_dim=32, dropout=0.0
    )
    path = tmp_path_factory.mktemp("tiny_transformer") / "transformer.safetensors"
    save_checkpoint(Checkpoint(TransformerSeq2Seq(config).eval(), vocab, vocab, Tokenizer(), Tokenizer()), path)
    return path
