"""The output of a decode as the output line shows it: each token's piece of text, and the text so far."""

from __future__ import annotations

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


def provisional_text(tokens: Sequence[str], kind: str) -> str:
    """The output so far as text (what the DecodeResult's `text` will be, once it arrives)."""
    return "".join(output_pieces(tokens, kind))
