"""What-if interventions on a transformer's cross-attention heads, as the model's per-step edit hook.

The α edits of engine/requests.py (score temperature, masked source words, a step's explicit row)
act on the heads the request's view shows: every head of the view's layer (the last by default, where
the records show their mean), or the view's one head.  EditHead then zeroes or pins one head's row, or
every head of a layer, from its step on.  Steps nothing touches get no hook, so they are the plain decode.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from engine.requests import EditHead, Intervention
from engine.whatif.alpha_edits import StepEdits
from models import HeadEdit, masked_softmax


class HeadEdits(StepEdits):
    """Callable: step → the model's HeadEdit (layer, scores, α, mask) → α for that step, or None."""

    def __init__(
        self,
        interventions: Sequence[Intervention],
        score_temperature: float,
        width: int,
        layout: tuple[int, int, int],
        layer: int | None,
        head: int | None,
    ) -> None:
        super().__init__(interventions, score_temperature, width)
        self.layer = layout[0] - 1 if layer is None else layer
        self.head = head
        self.head_edits = [x for x in interventions if isinstance(x, EditHead)]

    def __call__(self, step: int) -> HeadEdit | None:  # type: ignore[override]
        row = self.rows.get(step)
        alpha_edit = row is not None or self.tau != 1.0 or bool(self.masked)
        head_edits = [x for x in self.head_edits if step >= x.step]
        if not alpha_edit and not head_edits:
            return None

        def edit(layer: int, scores: Tensor, alpha: Tensor, mask: Tensor) -> Tensor:
            if alpha_edit and layer == self.layer:
                alpha = self._view_edit(row, scores, alpha, mask)
            for x in head_edits:
                if x.layer == layer:
                    alpha = _head_edit(x, alpha)
            return alpha

        return edit

    def _view_edit(self, row: tuple[float, ...] | None, scores: Tensor, alpha: Tensor, mask: Tensor) -> Tensor:
        """The α edits on the view's heads; scores and α are (B, H, T)."""
        if row is not None:
            new = torch.tensor(row, dtype=alpha.dtype, device=alpha.device).expand_as(alpha)
        else:
            keep = mask.clone()
            if self.masked:
                keep[:, list(self.masked)] = False
            new = masked_softmax(scores / self.tau, keep.unsqueeze(1))
        if self.head is None:
            return new.clone()
        out = alpha.clone()
        out[:, self.head] = new[:, self.head]
        return out


def _head_edit(x: EditHead, alpha: Tensor) -> Tensor:
    out = alpha.clone()
    heads = slice(None) if x.head is None else x.head
    out[:, heads] = 0.0
    if x.mode == "pin":
        out[:, heads, x.position] = 1.0
    return out
