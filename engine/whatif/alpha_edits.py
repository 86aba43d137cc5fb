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

    Only models with attention get here with edits: prepare_request refuses them for one without.
    """

    def __init__(self, interventions: Sequence[Intervention], score_temperature: float, width: int) -> None:
        self.tau = float(score_temperature)
        self.masked = masked_positions(interventions)
        self.rows = step_rows(interventions, width)
        self.width = width
        self.notes: list[str] = []

    def __call__(self, step: int) -> AlphaEdit | None:
        row = self.rows.get(step)
        if row is None and self.tau == 1.0 and not self.masked:
            return None

        def edit(scores: Tensor, alpha: Tensor, mask: Tensor) -> Tensor:
            if row is not None:
                return torch.tensor(row, dtype=alpha.dtype, device=alpha.device).expand_as(alpha).clone()
            return self._reweight(scores, mask)

        return edit

    def _reweight(self, scores: Tensor, mask: Tensor) -> Tensor:
        """softmax(e / τ) over the words left: exactly 0 on masked words, and exact one-hot rows as τ → 0."""
        keep = mask.clone()
        if self.masked:
            keep[:, list(self.masked)] = False
        return masked_softmax(scores / self.tau, keep)

    def unused_steps(self, steps_decoded: int) -> list[int]:
        return sorted(s for s in self.rows if s >= steps_decoded)
