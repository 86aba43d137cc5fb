"""Parallel text: reading tab-separated pairs, turning them into id tensors, and batching."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from models.tokens import BOS_ID, EOS_ID, PAD_ID, Tokenizer, Vocab


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    source: list[str]
    target: list[str]


def read_pairs(path: str | Path, max_bad: int = 20) -> list[tuple[str, str]]:
    """Read `source<TAB>target[<TAB>alignment]` lines; every bad line is reported by number."""
    pairs: list[tuple[str, str]] = []
    bad: list[str] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
            bad.append(f"line {number}: expected 'source<TAB>target', got {line[:60]!r}")
            continue
        pairs.append((cols[0].strip(), cols[1].strip()))
    if bad:
        shown = "\n  ".join(bad[:max_bad])
        more = f"\n  ... and {len(bad) - max_bad} more" if len(bad) > max_bad else ""
        raise DataError(f"{path}: {len(bad)} bad line(s):\n  {shown}{more}")
    if not pairs:
        raise DataError(f"{path}: no sentence pairs found")
    return pairs


def tokenize_pairs(pairs: Sequence[tuple[str, str]], src_tok: Tokenizer, tgt_tok: Tokenizer) -> list[Example]:
    return [Example(src_tok.tokenize(s), tgt_tok.tokenize(t)) for s, t in pairs]


@dataclass(frozen=True)
class Batch:
    src: Tensor  # (B, T) padded source ids
    lengths: Tensor  # (B,)
    tgt_in: Tensor  # (B, U) <bos> y_1 .. y_{U-1}
    tgt_out: Tensor  # (B, U) y_1 .. y_U=<eos>

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.src.to(device), self.lengths, self.tgt_in.to(device), self.tgt_out.to(device))


def pad(seqs: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """Right-pad id lists into a (B, T) tensor; returns it with the lengths."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), int(lengths.max())), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(seqs):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out, lengths


def make_batch(examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> Batch:
    src, lengths = pad([src_vocab.encode(e.source) for e in examples])
    tgt, _ = pad([[BOS_ID, *tgt_vocab.encode(e.target), EOS_ID] for e in examples])
    return Batch(src, lengths, tgt[:, :-1], tgt[:, 1:])


def batches(examples: Sequence[Example], size: int, rng: random.Random | None = None) -> Iterator[list[Example]]:
    """Length-bucketed batches (little padding); shuffled between epochs when rng is given."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].source))
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(chunks)
    for chunk in chunks:
        yield [examples[i] for i in chunk]
