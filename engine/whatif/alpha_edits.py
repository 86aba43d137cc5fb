"""Turning a request's what-if interventions into the model's per-step AlphaEdit hook.

See engine/requests.py for the specs and the order they apply in.  Steps nothing touches get
no hook at all, so they are bit-for-bit the plain decode.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from engine.requests import Intervention, masked_positions, step_rows
from models import AlphaEdit, masked_softmax


def no_edit(step: int) -> AlphaEdit | None:
    return None


class StepEdits:
    """Callable: step → the AlphaEdit for that step, or None where α stays as the model made it.

    `softmax_weights` is False for the no-attention model, whose α is not softmax(e): there
    temperature does nothing, and masking renormalises α itself (uniform over the rest when the
    masked word held all of it).
    """

    def __init__(
        self, interventions: Sequence[Intervention], score_temperature: float, width: int, softmax_weights: bool
    ) -> None:
        self.tau = float(score_temperature) if softmax_weights else 1.0
        self.masked = masked_positions(interventions)
        self.rows = step_rows(interventions, width)
        self.width = width
        self.softmax_weights = softmax_weights
        self.notes: list[str] = []
        if score_temperature != 1.0 and not softmax_weights:
            self.notes.append("Score temperature has no effect on a model without attention.")

    def __call__(self, step: int) -> AlphaEdit | None:
        row = self.rows.get(step)
        if row is None and self.tau == 1.0 and not self.masked:
            return None

        def edit(scores: Tensor, alpha: Tensor, mask: Tensor) -> Tensor:
            if row is not None:
                return torch.tensor(row, dtype=alpha.dtype, device=alpha.device).expand_as(alpha).clone()
            return self._reweight(scores, alpha, mask)

        return edit

    def _reweight(self, scores: Tensor, alpha: Tensor, mask: Tensor) -> Tensor:
        keep = mask.clone()
        if self.masked:
            keep[:, list(self.masked)] = False
        if self.softmax_weights:  # exactly 0 on masked words, and exact one-hot rows as τ → 0
            return masked_softmax(scores / self.tau, keep)
        kept = alpha * keep
        total = kept.sum(-1, keepdim=True)
        uniform = keep.to(alpha.dtype) / keep.sum(-1, keepdim=True).clamp(min=1)
        return torch.where(total > 0, kept / total.clamp(min=torch.finfo(alpha.dtype).tiny), uniform)

    def unused_steps(self, steps_decoded: int) -> list[int]:
        return sorted(s for s in self.rows if s >= steps_decoded)
