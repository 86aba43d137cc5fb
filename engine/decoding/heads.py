"""A transformer's attention view: which of its cross-attention heads a record's alpha / scores / context show.

The default view is the mean over the last decoder layer's heads (α and the pre-softmax scores
averaged), with that layer's cross-attention block output as the context; a request may pick
another layer, and one head of it.  Whatever the view, every layer's and head's weights, scores,
per-head contexts and value-weighted norms travel with the records (engine/decoding/step_stats.py).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

import torch
from torch import Tensor

# An RNN step's record parts: α, e, c, s (a C-level getter: the RNN path pays nothing for the views); without
# attention, c and s only (its placeholder α and e are never recorded).
rnn_parts: Callable[[Any], tuple[Tensor, ...]] = attrgetter("alpha", "scores", "context", "top")
plain_parts: Callable[[Any], tuple[Tensor, ...]] = attrgetter("context", "top")


class HeadView:
    def __init__(self, layout: tuple[int, int, int], layer: int | None, head: int | None, keep_self: bool) -> None:
        self.layers, self.heads, _ = layout
        self.layer = self.layers - 1 if layer is None else layer
        self.head = head
        self.keep_self = keep_self  # also hand the decoder's self-attention to the records
        self._default = self.layer == self.layers - 1 and head is None  # what the model's StepOutput holds

    def parts(self, out: Any) -> tuple[Tensor, ...]:
        """α, e, c, s of the view, then every head's α, e, contexts and norms, flattened per batch row."""
        h = out.heads
        if self._default:
            alpha, scores, context = out.alpha, out.scores, out.context
        elif self.head is None:
            alpha, scores = h.weights[:, self.layer].mean(1), h.scores[:, self.layer].mean(1)
            context = h.outputs[:, self.layer]
        else:
            alpha, scores = h.weights[:, self.layer, self.head], h.scores[:, self.layer, self.head]
            context = h.outputs[:, self.layer]
        flat = (h.weights.flatten(1), h.scores.flatten(1), h.contexts.flatten(1), h.norms.flatten(1))
        return (alpha, scores, context, out.top, *flat)

    def self_weights(self, out: Any) -> Tensor:
        """(B, L, H, t): the decoder's self-attention over the t steps so far."""
        return torch.stack(out.heads.self_weights, 1)

    def describe(self) -> str:
        layer = f"decoder layer {self.layer}" + (" (the last)" if self.layer == self.layers - 1 else "")
        if self.head is None:
            return f"mean over the {self.heads} heads of {layer}; context: that layer's cross-attention output"
        return f"head {self.head} of {layer}; context: that layer's cross-attention output"
