"""Turning one decoder step into StepRecords with one device→host copy.

Per step, every tensor a record needs (α, e, c, s, top-k) is concatenated on the device into
one (rows, width) float block, which crosses to the host in one copy: a `.cpu()` per tensor
would synchronise an accelerator each time, and on the CPU one block is also the fewest
operations.  The block is frozen (read-only) once; records hold read-only views of it.
Probabilities and the α entropy are computed on the host.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from engine.records import Candidate, StepRecord, frozen_array
from models.decoder import StepOutput

_TINY = np.float32(1e-30)  # log(max(α, tiny)): 0·log 0 counts as 0


class StepStats:
    """Column layout of the per-step block for one request, and record building from its rows.

    Columns: α (T) | e (T) | c (H_enc) | s (H) | top-k log-probs (k) | top-k ids (k) | extras.
    Ids travel as float32, exact below 2**24 (vocabularies are capped far lower).
    """

    def __init__(
        self, request_id: int, itos: Sequence[str], top_k: int, src_len: int, enc_dim: int, hidden_dim: int
    ) -> None:
        self.request_id = request_id
        self.itos = itos
        self.top_k = top_k
        ends = np.cumsum((src_len, src_len, enc_dim, hidden_dim, top_k, top_k)).tolist()
        self._alpha, self._scores, self._context, self._state, self._top_lp, self._top_id = (
            slice(a, b) for a, b in zip([0, *ends[:-1]], ends, strict=True)
        )
        self.width = ends[-1]  # a strategy's extra columns start here

    def to_host(
        self, out: StepOutput, log_probs: Tensor, extra: Sequence[Tensor] = (), side: Sequence[Tensor] = ()
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The frozen (rows, width + extras) block, plus `side` tensors of any shape, in one transfer.

        `extra` are (rows, 1) columns (any dtype: cat promotes to float).
        """
        top = log_probs.topk(self.top_k, dim=-1)
        block = torch.cat(
            [out.alpha, out.scores, out.context, out.state.hidden[-1], top.values, top.indices, *extra], 1
        )
        if not side:
            return frozen_array(block.cpu().numpy()), []
        flat = torch.cat([block.view(-1), *(t.reshape(-1) for t in side)]).cpu().numpy()
        ends = np.cumsum([block.numel(), *(t.numel() for t in side)]).tolist()
        rest = [flat[a:b].reshape(t.shape) for t, a, b in zip(side, ends[:-1], ends[1:], strict=True)]
        return frozen_array(flat[: ends[0]].reshape(block.shape)), rest

    def chosen(self, block: np.ndarray, chosen_is_top: bool) -> tuple[int, float]:
        """(token id, probability) of a single-path block's extras: id, then log-probability unless top."""
        row = block[0]
        log_prob = row[self._top_lp.start] if chosen_is_top else row[self.width + 1]
        return int(row[self.width]), float(np.exp(log_prob))

    def alpha(self, block: np.ndarray, row: int) -> np.ndarray:
        return block[row, self._alpha]

    def record(self, step: int, block: np.ndarray, row: int, token_id: int, prob: float) -> StepRecord:
        values = block[row]
        alpha = values[self._alpha]
        itos = self.itos
        ids = values[self._top_id].astype(np.int64).tolist()
        probs = np.exp(values[self._top_lp]).tolist()
        return StepRecord(
            request_id=self.request_id,
            step=step,
            token_id=token_id,
            token=itos[token_id],
            prob=prob,
            topk=tuple(Candidate(itos[i], i, p) for i, p in zip(ids, probs, strict=True)),
            alpha=alpha,  # read-only views of this step's frozen block
            scores=values[self._scores],
            context=values[self._context],
            state=values[self._state],
            entropy=-float(np.dot(alpha, np.log(np.maximum(alpha, _TINY)))),
        )
