"""Map tokens (lower-cased, NFC, punctuation split) back to character ranges of the text the user typed."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

SPACE_MARK = "▁"  # char-level tokenisers write a space as this


def token_spans(text: str, tokens: Sequence[str]) -> list[tuple[int, int] | None]:
    """(start, end) in `text` for each token, in order; None where a token cannot be found.

    Matching is case-insensitive and scans left to right, so repeated words map to their own occurrence.
    """
    haystack = text.lower() if len(text.lower()) == len(text) else text  # keep offsets valid
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for token in tokens:
        span = _find(haystack, token, cursor)
        spans.append(span)
        if span is not None:
            cursor = span[1]
    return spans


def _find(haystack: str, token: str, start: int) -> tuple[int, int] | None:
    if token == SPACE_MARK:
        token = " "
    for form in dict.fromkeys((token, token.lower(), unicodedata.normalize("NFD", token))):
        if not form:
            continue
        at = haystack.find(form, start)
        if at >= 0:
            return at, at + len(form)
    return None


def unknown_spans(text: str, tokens: Sequence[str], positions: Sequence[int]) -> list[tuple[int, int]]:
    """Character ranges of the tokens at `positions` (the model's unknown source words)."""
    spans = token_spans(text, tokens)
    wanted = set(positions)
    return [span for i, span in enumerate(spans) if i in wanted and span is not None]
