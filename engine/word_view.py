"""The word-level view of a decode over subword pieces: a source word's pieces summed, a target word's averaged.

Summing a source word's columns keeps each row a distribution (it still sums to 1); averaging a
target word's rows gives one row per output word.  Pieces are grouped into words by the tokenizer's
convention, read from the pieces: SentencePiece ("▁" starts a word), byte-level BPE ("Ġ" starts a
word), WordPiece ("##" continues one), characters ("▁" between words); whole-word tokenizers and
special tokens (<eos>, </s>, …) make one word per token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from models import SPACE_MARK

NOTE = "word level: a source word's pieces summed, a target word's pieces averaged"


class WordView(NamedTuple):
    source_words: tuple[str, ...]
    output_words: tuple[str, ...]
    alpha: np.ndarray  # (output words, source words)
    note: str = NOTE


def word_groups(tokens: Sequence[str]) -> list[list[int]]:
    """Token indices of each word, in order (a character model's "▁" tokens belong to no word)."""
    if tokens and SPACE_MARK in tokens and all(len(t) == 1 or _special(t) for t in tokens):
        return _split_on(tokens)
    starts = _starts(tokens)
    groups: list[list[int]] = []
    for i, token in enumerate(tokens):
        if not groups or _special(token) or _special(tokens[i - 1]) or starts(token):
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def _special(token: str) -> bool:
    return len(token) > 2 and token.startswith("<") and token.endswith(">")


def _starts(tokens: Sequence[str]):  # type: ignore[no-untyped-def]
    """Whether a (non-special) piece starts a word, by the convention its pieces follow."""
    if any(t.startswith("▁") for t in tokens):
        return lambda t: t.startswith("▁")
    if any(t.startswith("Ġ") for t in tokens):
        return lambda t: t.startswith("Ġ")
    if any(t.startswith("##") for t in tokens):
        return lambda t: not t.startswith("##")
    return lambda t: True


def _split_on(tokens: Sequence[str]) -> list[list[int]]:
    groups: list[list[int]] = [[]]
    for i, token in enumerate(tokens):
        if token == SPACE_MARK:
            groups.append([])
        else:
            groups[-1].append(i)
    return [g for g in groups if g]


def _word(tokens: Sequence[str], group: list[int]) -> str:
    text = "".join(tokens[i] for i in group)
    return text if _special(text) else text.replace("##", "").lstrip("▁Ġ") or text


def word_level(source_tokens: Sequence[str], output_tokens: Sequence[str], alpha: np.ndarray) -> WordView:
    sources, outputs = word_groups(source_tokens), word_groups(output_tokens)
    summed = np.stack([alpha[:, g].sum(axis=1) for g in sources], axis=1) if sources else alpha[:, :0]
    rows = np.stack([summed[g].mean(axis=0) for g in outputs]) if outputs else summed[:0]
    return WordView(
        tuple(_word(source_tokens, g) for g in sources), tuple(_word(output_tokens, g) for g in outputs), rows
    )
