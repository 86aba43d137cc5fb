"""Which of a transformer's cross-attention maps to show, and the matrix it is: one head, a layer's mean, the mean
of all, the maximum; α or the value-weighted norms; attention sinks found and hidden (numpy only).

A view is computed from the arrays every record carries (engine.records.StepHeads / HeadMatrices), so the
window can switch views without decoding again.  Value-weighted norms ‖αᵢⱼ W_O vⱼ‖ are not a distribution:
shown in place of α, each row is scaled to sum to 1 (a share of the step's norm), and the caption says so.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from engine.records import DecodeResult, StepRecord
from models import EOS

VIEW_KINDS = ("head", "layer", "all", "max")  # one head | mean of a layer's heads | mean of all | maximum
SINKS_HIDDEN_NOTE = "end token and punctuation columns hidden, rows renormalised"
SINK_SHARE = 0.5  # a head that puts more than this of its weight on sink columns, on average, is flagged
END_TOKENS = (EOS, "</s>", "<eos>", "[SEP]", "<|endoftext|>")


class HeadChoice(NamedTuple):
    kind: str = "layer"  # one of VIEW_KINDS
    layer: int = -1  # for "head" and "layer"; -1: the last
    head: int = 0  # for "head"
    norms: bool = False  # the value-weighted norms instead of α

    def describe(self, layers: int) -> str:
        layer = self.layer % layers if layers else self.layer
        what = {
            "head": f"head {self.head} of layer {layer}",
            "layer": f"mean over the heads of layer {layer}",
            "all": "mean over every layer's heads",
            "max": "maximum over every layer and head",
        }[self.kind]
        if self.norms:
            return f"value-weighted norms ‖α W_O v‖, {what}, each row scaled to sum to 1"
        return f"α, {what}"


def describe_view(choice: HeadChoice, layers: int, hide_sinks: bool) -> str:
    """The view in words, as the heatmap's caption and every export state it."""
    return choice.describe(layers) + (f"; {SINKS_HIDDEN_NOTE}" if hide_sinks else "")


def view_rows(weights: np.ndarray, norms: np.ndarray, choice: HeadChoice) -> np.ndarray:
    """The (U, T) matrix `choice` names, from (U, L, H, T) weights and norms (one step: pass (1, L, H, T))."""
    source = norms if choice.norms else weights
    if choice.kind == "head":
        rows = source[:, choice.layer, choice.head]
    elif choice.kind == "layer":
        rows = source[:, choice.layer].mean(axis=1)
    elif choice.kind == "all":
        rows = source.mean(axis=(1, 2))
    elif choice.kind == "max":
        rows = source.max(axis=(1, 2))
    else:
        raise ValueError(f"view kind must be one of {VIEW_KINDS}, not {choice.kind!r}")
    return _row_shares(rows) if choice.norms else np.asarray(rows, dtype=np.float32)


def _row_shares(rows: np.ndarray) -> np.ndarray:
    total = rows.sum(axis=-1, keepdims=True)
    return np.divide(rows, total, out=np.zeros_like(rows, dtype=np.float32), where=total > 0).astype(np.float32)


def sink_columns(source_tokens: Sequence[str]) -> list[int]:
    """Source positions that attention often parks on: the end token and punctuation."""
    return [j for j, token in enumerate(source_tokens) if token in END_TOKENS or _punctuation(token)]


def _punctuation(token: str) -> bool:
    text = token.lstrip("▁Ġ")
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


def sink_shares(weights: np.ndarray, source_tokens: Sequence[str]) -> np.ndarray:
    """(L, H) each head's weight on sink columns, averaged over the steps of (U, L, H, T) `weights` (0: none)."""
    columns = sink_columns(source_tokens)
    if not columns or not len(weights):
        return np.zeros(weights.shape[1:3], dtype=np.float64)
    return np.asarray(weights[..., columns].sum(axis=-1).mean(axis=0), dtype=np.float64)


def sink_heads(weights: np.ndarray, source_tokens: Sequence[str], share: float = SINK_SHARE) -> np.ndarray:
    """(L, H) True for each head whose weight on sink columns, averaged over the steps, is above `share`."""
    return np.asarray(sink_shares(weights, source_tokens) > share)


def hide_columns(rows: np.ndarray, tokens: Sequence[str], hidden: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """`rows` (U, T) without the `hidden` source columns, each row renormalised to sum to 1; the tokens kept."""
    keep = [j for j in range(rows.shape[1]) if j not in set(hidden)]
    return _row_shares(rows[:, keep]), [tokens[j] for j in keep]


def _view_scores(scores: np.ndarray, choice: HeadChoice) -> np.ndarray:
    """The pre-softmax scores behind the view: the head's, or their mean (or maximum) over the heads it takes."""
    if choice.kind == "head":
        return np.asarray(scores[:, choice.layer, choice.head], dtype=np.float32)
    if choice.kind == "layer":
        return np.asarray(scores[:, choice.layer].mean(axis=1), dtype=np.float32)
    reduce = np.max if choice.kind == "max" else np.mean
    return np.asarray(reduce(scores, axis=(1, 2)), dtype=np.float32)


def kept_columns(tokens: Sequence[str], hide_sinks: bool) -> list[int]:
    """The source positions a view shows: all, or all but the sinks."""
    hidden = set(sink_columns(tokens)) if hide_sinks else set()
    return [j for j in range(len(tokens)) if j not in hidden]


def viewed_result(result: DecodeResult, choice: HeadChoice, hide_sinks: bool = False) -> DecodeResult:
    """`result` with alpha / scores (and, hiding sinks, source_tokens) as the view shows them; a decode without
    heads (an RNN) is returned as it is."""
    heads = result.heads
    if heads is None:
        return result
    keep = kept_columns(result.source_tokens, hide_sinks)
    alpha = view_rows(heads.weights, heads.norms, choice)[:, keep]
    scores = _view_scores(heads.scores, choice)[:, keep]
    tokens = tuple(result.source_tokens[j] for j in keep)
    view = describe_view(choice, heads.weights.shape[1], hide_sinks)
    columns = result.source_tokens if len(keep) < len(result.source_tokens) else ()
    return result._replace(
        alpha=_row_shares(alpha) if hide_sinks else alpha,
        scores=scores,
        source_tokens=tokens,
        heads=heads._replace(view=view, source_tokens=columns),  # exports say what the view is
    )


def viewed_records(run: Sequence[StepRecord], choice: HeadChoice, keep: Sequence[int], hide: bool) -> list[StepRecord]:
    """Streamed records with alpha / scores as the view shows them (`keep`: kept_columns of the source)."""
    out = []
    for record in run:
        heads = record.heads
        if heads is None:
            out.append(record)
            continue
        alpha = view_rows(heads.weights[None], heads.norms[None], choice)[:, keep]
        scores = _view_scores(heads.scores[None], choice)[0, keep]
        out.append(record._replace(alpha=(_row_shares(alpha) if hide else alpha)[0], scores=scores))
    return out
