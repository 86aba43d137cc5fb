"""Decode output as text: each output token's piece of the output line, and probabilities."""

from __future__ import annotations

import math
from collections.abc import Sequence

from models import EOS, SPACE_MARK


def output_pieces(tokens: Sequence[str], kind: str) -> list[str]:
    """Each output token as it reads in the output text, the space before it included; <eos> reads as ''."""
    pieces = []
    for n, token in enumerate(tokens):
        if token == EOS:
            pieces.append("")
        elif kind == "char":
            pieces.append(" " if token == SPACE_MARK else token)
        else:
            pieces.append(token if n == 0 else " " + token)
    return pieces


def probability_text(p: float) -> str:
    """p to three decimals, or in scientific notation below 0.001, so p ≈ 1e-8 never reads as 0.000."""
    return f"{p:.3f}" if p >= 1e-3 or p == 0.0 or not math.isfinite(p) else f"{p:.2e}"


def log_probability_text(p: float) -> str:
    """log p (natural log) of a probability, "-inf" for p = 0; near 0 (p near 1) in scientific notation, so a
    p of 0.999995 reads as log p = -4.77e-06, never as "-0.000"."""
    if p <= 0:
        return "-inf"
    log_p = math.log(p)
    return f"{log_p:.3f}" if abs(log_p) >= 1e-3 or log_p == 0.0 else f"{log_p:.2e}"
