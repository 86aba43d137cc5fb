"""Input perturbation: decode once per source word with that word dropped (or replaced), and report
which output tokens and which attention rows changed.

Each perturbed source goes through the tokenizer's detokenize → tokenize round trip, i.e. it is the
text a user would have typed.  Attention rows are compared column by column; for a dropped word the
original row loses that column and is renormalised, so a model that simply shares the word's weight
out among the others shows no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from engine.records import DecodeResult, Perturbation
from engine.requests import DecodeRequest
from engine.whatif.compare import changed_positions
from models import Tokenizer

NOTHING_LEFT = "(nothing left to translate)"


def perturbation_table(
    original: DecodeResult,
    request: DecodeRequest,
    run: Callable[[DecodeRequest], DecodeResult],
    live: Callable[[], bool],
    tokenizer: Tokenizer,
) -> tuple[Perturbation, ...] | None:
    """One row per source word of `original` (decoded from `request`); None once `live()` turns False."""
    replacement = request.perturb_with if request.perturb == "replace" else ""
    rows = []
    for j in range(len(original.source_tokens)):
        if not live():
            return None
        tokens = list(original.source_tokens)
        if replacement:
            tokens[j] = replacement
        else:
            del tokens[j]
        rows.append(_row(original, j, replacement, tokens, run, request, tokenizer))
    return tuple(rows)


def _row(
    original: DecodeResult,
    j: int,
    replacement: str,
    tokens: list[str],
    run: Callable[[DecodeRequest], DecodeResult],
    request: DecodeRequest,
    tokenizer: Tokenizer,
) -> Perturbation:
    word = original.source_tokens[j]
    if not tokens:  # the only word dropped
        changed = tuple(range(len(original.output_tokens)))
        return Perturbation(j, word, replacement, (), (), NOTHING_LEFT, changed, ())
    new = run(replace(request, source=tokenizer.detokenize(tokens)))
    deltas = row_deltas(original.alpha, new.alpha, None if replacement else j)
    changed = changed_positions(original.output_tokens, new.output_tokens)
    return Perturbation(j, word, replacement, new.source_tokens, new.output_tokens, new.text, changed, deltas)


def row_deltas(before: np.ndarray, after: np.ndarray, dropped: int | None) -> tuple[float, ...]:
    """Per row of `after`: max |Δα| against the same row of `before` (NaN: no such row, or widths differ)."""
    base = np.asarray(before, dtype=np.float64)
    if dropped is not None:
        base = np.delete(base, dropped, axis=1)
        total = base.sum(axis=1, keepdims=True)
        base = np.divide(base, total, out=np.full_like(base, np.nan), where=total > 0)
    new = np.asarray(after, dtype=np.float64)
    if base.shape[1] != new.shape[1]:  # the round trip merged tokens (character models)
        return tuple(float("nan") for _ in range(len(new)))
    rows = min(len(base), len(new))
    deltas = np.full(len(new), np.nan)
    deltas[:rows] = np.abs(new[:rows] - base[:rows]).max(axis=1, initial=0.0)
    return tuple(float(d) for d in deltas)
