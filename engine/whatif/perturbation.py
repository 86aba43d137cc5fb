"""Input perturbation: decode once per source word with that word dropped (or replaced), and report
which output tokens and which attention rows changed.

Each perturbed source goes through the tokenizer's detokenize → tokenize round trip, i.e. it is the
text a user would have typed.  The two outputs are aligned by edit distance (engine/whatif/compare.py);
attention rows are compared along that alignment, column by column; for a dropped word the original row
loses that column and is renormalised, so a model that simply shares the word's weight out among the
others shows no change.  A model without attention has no rows to compare: its Δα are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from engine.records import DecodeResult, Perturbation
from engine.requests import DecodeRequest
from engine.whatif.compare import Pair, align, changed_sides
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
        lost = tuple(range(len(original.output_tokens)))
        return Perturbation(j, word, replacement, (), (), NOTHING_LEFT, (), (), lost)
    new = run(replace(request, source=tokenizer.detokenize(tokens)))
    pairs = align(original.output_tokens, new.output_tokens)
    if original.alpha is None or new.alpha is None:
        deltas = tuple(float("nan") for _ in new.output_tokens)
    else:
        deltas = row_deltas(original.alpha, new.alpha, None if replacement else j, pairs)
    lost, changed = changed_sides(original.output_tokens, new.output_tokens)
    return Perturbation(j, word, replacement, new.source_tokens, new.output_tokens, new.text, changed, deltas, lost)


def row_deltas(
    before: np.ndarray, after: np.ndarray, dropped: int | None, pairs: Sequence[Pair] | None = None
) -> tuple[float, ...]:
    """Per row of `after`: max |Δα| against the row of `before` aligned to it (`pairs`, from align(); None: the
    same row number); NaN where it has none, or the widths differ."""
    base = np.asarray(before, dtype=np.float64)
    if dropped is not None:
        base = np.delete(base, dropped, axis=1)
        total = base.sum(axis=1, keepdims=True)
        base = np.divide(base, total, out=np.full_like(base, np.nan), where=total > 0)
    new = np.asarray(after, dtype=np.float64)
    deltas = np.full(len(new), np.nan)
    if base.shape[1] != new.shape[1]:  # the round trip merged tokens (character models)
        return tuple(float(d) for d in deltas)
    if pairs is None:
        pairs = [(k, k) for k in range(min(len(base), len(new)))]
    for i, k in pairs:
        if i is not None and k is not None:
            deltas[k] = np.abs(new[k] - base[i]).max(initial=0.0)
    return tuple(float(d) for d in deltas)
