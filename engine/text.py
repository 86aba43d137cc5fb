"""Column labels and output text for a decode that is still streaming.

StepRecords carry no source tokens (only the final DecodeResult does), yet the heatmap needs its
columns when the first row arrives. We tokenise the text the same way the model's tokeniser does
(models.tokens is pure Python, no torch) and reconcile with the number of weights the step holds;
the DecodeResult's own tokens replace these when the decode finishes.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.hygiene import MAX_SOURCE_CHARS
from models.tokens import EOS, Tokenizer


def provisional_tokens(source: str, kind: str, count: int) -> list[str]:
    """`count` labels for `source`: the tokeniser's tokens, cut or padded with '?' to fit."""
    try:
        tokens = Tokenizer(kind=kind if kind in ("word", "char") else "word").tokenize(source[:MAX_SOURCE_CHARS])
    except ValueError:
        tokens = []
    return (tokens + ["?"] * count)[:count]


def provisional_text(tokens: Sequence[str], kind: str) -> str:
    """The output so far as text (what the DecodeResult's `text` will be, once it arrives)."""
    words = [t for t in tokens if t != EOS]
    return Tokenizer(kind="char").detokenize(words) if kind == "char" else " ".join(words)
