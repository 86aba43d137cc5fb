"""Column labels and output text for a decode that is still streaming; probabilities as text.

StepRecords carry no source tokens (only the final DecodeResult does), yet the heatmap needs its
columns when the first row arrives. We tokenise the text the same way the model's tokeniser does
(models.tokens is pure Python, no torch) and reconcile with the number of weights the step holds;
the DecodeResult's own tokens replace these when the decode finishes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from models import EOS, Tokenizer


def provisional_tokens(source: str, kind: str, count: int | None) -> list[str]:
    """`count` labels for `source`: the tokeniser's tokens, cut or padded with '?' to fit (None: as many as it
    makes, for a model without attention, whose steps carry no row of weights to count)."""
    try:
        tokens = Tokenizer(kind=kind if kind in ("word", "char") else "word").tokenize(source)
    except ValueError:
        tokens = []
    return tokens if count is None else (tokens + ["?"] * count)[:count]


def provisional_text(tokens: Sequence[str], kind: str) -> str:
    """The output so far as text (what the DecodeResult's `text` will be, once it arrives)."""
    words = [t for t in tokens if t != EOS]
    return Tokenizer(kind="char").detokenize(words) if kind == "char" else " ".join(words)


def probability_text(p: float) -> str:
    """p to three decimals, or in scientific notation below 0.001, so p ≈ 1e-8 never reads as 0.000."""
    return f"{p:.3f}" if p >= 1e-3 or p == 0.0 or not math.isfinite(p) else f"{p:.2e}"


def log_probability_text(p: float) -> str:
    """log p (natural log) of a probability, "-inf" for p = 0."""
    return f"{math.log(p):.3f}" if p > 0 else "-inf"
