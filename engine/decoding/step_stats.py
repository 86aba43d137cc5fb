"""Turning decoder steps into StepRecords with one device→host copy.

Every tensor a record needs (α, e, c, s, the α entropy, top-k) is concatenated on the device into
one (rows, width) float block — a row per beam row, or per step when a whole decode is turned at
once — which crosses to the host in one copy: a `.cpu()` per tensor would synchronise an
accelerator each time, and on the CPU one block is also the fewest operations.  The block is a
fresh array, made read-only; records hold read-only views of it.  Probabilities are computed on
the host, for all rows at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from itertools import accumulate

import numpy as np
import torch
from torch import Tensor

from engine.records import Candidate, StepHeads, StepRecord, read_only

# Candidate(token, id, prob) from a (token, id, prob) tuple with no Python frame: a short decode makes k per step.
_candidate = partial(tuple.__new__, Candidate)


class StepStats:
    """Column layout of the block for one request, and record building from its rows.

    Columns: α (T) | e (T) | c (H_enc) | s (H) | [heads] | entropy of α (1) | top-k log-probs (k) | top-k ids (k)
    | extras.  Ids travel as float32, exact below 2**24 (vocabularies are capped far lower).  A transformer's
    [heads] (`heads` = its (layers L, heads H, head width D)) are its cross-attention weights, scores and
    value-weighted norms (L·H·T each) and per-head contexts (L·H·D), each in (layer, head) order.  A model
    without attention (`attention` False) has no α and no e: those columns are left out, and its records
    carry None for them (whatever placeholder the model computes is never shown).
    """

    def __init__(
        self,
        request_id: int,
        itos: Sequence[str],
        top_k: int,
        src_len: int,
        enc_dim: int,
        hidden_dim: int,
        heads: tuple[int, int, int] | None = None,
        attention: bool = True,
    ) -> None:
        self.attention = attention
        self.request_id = request_id
        self.itos = itos
        self.top_k = top_k
        width = src_len if attention else 0  # the α and e columns
        context = 2 * width
        state = context + enc_dim
        self._entropy = state + hidden_dim  # a column index
        self.heads = heads
        if heads is not None:
            self._entropy = self._head_columns(self._entropy, src_len, heads)
        top = self._entropy + 1
        self._alpha, self._scores = slice(0, width), slice(width, context)
        self._context, self._state = slice(context, state), slice(state, state + hidden_dim)
        self._top_lp, self._top_id = slice(top, top + top_k), slice(top + top_k, top + 2 * top_k)
        self.width = top + 2 * top_k  # a strategy's extra columns start here

    def _head_columns(self, start: int, src_len: int, heads: tuple[int, int, int]) -> int:
        """Lay out the head columns from `start`; returns the column after them."""
        layers, count, width = heads
        weights, contexts = layers * count * src_len, layers * count * width
        self._head_slices = []
        for size in (weights, weights, contexts, weights):  # α, e, contexts, norms
            self._head_slices.append(slice(start, start + size))
            start += size
        self._head_shapes = ((layers, count, src_len), (layers, count, width))
        return start

    def to_host(
        self, parts: list[Tensor], log_probs: Tensor, extra: Sequence[Tensor] = (), side: Sequence[Tensor] = ()
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The read-only (rows, width + extras) block, plus `side` tensors of any shape, in one transfer.

        `parts`: α, e, c and s (and a transformer's four head tensors, flattened) of each step in turn, each
        (r, ·): r = 1 for steps taken one after another, the beam's rows for a beam step; `log_probs` has a row
        per block row.  `extra` are (rows, 1) float columns.  One cat lays the parts out as rows (a row's
        parts are adjacent in memory).
        """
        rows = log_probs.shape[0]
        steps = torch.cat(parts, 1).view(rows, -1)
        entropy = torch.special.entr(steps[:, self._alpha]).sum(1, keepdim=True)  # -Σ α log α, 0 log 0 = 0
        top = log_probs.topk(self.top_k, dim=-1)
        # Ids made float32 first (exact below 2**24): cat's own type promotion is its slow path (twice the time).
        block = torch.cat([steps, entropy, top.values, top.indices.to(torch.float32), *extra], 1)
        if not side:
            return read_only(block.cpu().numpy()), []
        flat = torch.cat([block.view(-1), *(t.reshape(-1) for t in side)]).cpu().numpy()
        ends = list(accumulate([block.numel(), *(t.numel() for t in side)]))
        rest = [flat[a:b].reshape(t.shape) for t, a, b in zip(side, ends[:-1], ends[1:], strict=True)]
        return read_only(flat[: ends[0]].reshape(block.shape)), rest

    def extra_probabilities(self, block: np.ndarray) -> list[float]:
        """Per row, the probability in the block's first extra column (a log-probability)."""
        return np.exp(block[:, self.width]).tolist()

    def matrices(self, block: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
        """α, e, c and s of every row, each a fresh read-only matrix (a decode's whole result at once); α and
        e are None without attention."""
        alpha, scores, context, state = (
            read_only(np.ascontiguousarray(block[:, c]))
            for c in (self._alpha, self._scores, self._context, self._state)
        )
        return (alpha, scores, context, state) if self.attention else (None, None, context, state)

    def head_matrices(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A transformer's α, e, contexts and norms of every row, (rows, L, H, ·): views of the block."""
        rows = block.shape[0]
        shapes = (self._head_shapes[0], self._head_shapes[0], self._head_shapes[1], self._head_shapes[0])
        return tuple(  # type: ignore[return-value]
            block[:, c].reshape(rows, *shape) for c, shape in zip(self._head_slices, shapes, strict=True)
        )

    def step_heads(self, block: np.ndarray, row: int, self_weights: np.ndarray | None) -> StepHeads:
        weights, contexts = self._head_shapes
        w, e, c, n = self._head_slices
        return StepHeads(
            block[row, w].reshape(weights),
            block[row, e].reshape(weights),
            block[row, c].reshape(contexts),
            block[row, n].reshape(weights),
            self_weights,
        )

    def alpha(self, block: np.ndarray, row: int) -> np.ndarray | None:
        return block[row, self._alpha] if self.attention else None

    def record(
        self, step: int, block: np.ndarray, row: int, token_id: int, prob: float, self_weights: np.ndarray | None = None
    ) -> StepRecord:
        record = self.records(block, [step], range(row, row + 1), [token_id], [prob])[0]
        if self.heads is None:
            return record
        return record._replace(heads=self.step_heads(block, row, self_weights))

    def records(
        self,
        block: np.ndarray,
        steps: Sequence[int],
        rows: range,
        token_ids: Sequence[int],
        probs: Sequence[float] | None = None,
        self_weights: Sequence[np.ndarray] = (),
    ) -> list[StepRecord]:
        """Step steps[n] from block row rows[n], which took token token_ids[n] with probability probs[n]
        (None: each took its top candidate, argmax, whose probability the top-k holds already);
        `self_weights[n]` (1, L, H, ·): a transformer's self-attention of step n, when recorded.

        The numbers are read for all rows at once; the arrays are read-only views of the block.
        """
        records = self._records(block, steps, rows, token_ids, probs)
        if self.heads is None:
            return records
        selfs = [w[0] for w in self_weights] if self_weights else [None] * len(records)
        return [
            r._replace(heads=self.step_heads(block, row, w)) for r, row, w in zip(records, rows, selfs, strict=True)
        ]

    def _records(
        self,
        block: np.ndarray,
        steps: Sequence[int],
        rows: range,
        token_ids: Sequence[int],
        probs: Sequence[float] | None,
    ) -> list[StepRecord]:
        picked = block[rows.start : rows.stop]
        top_ids = picked[:, self._top_id].astype(np.int64).tolist()
        top_probs = np.exp(picked[:, self._top_lp]).tolist()
        if probs is None:
            probs = [candidates[0] for candidates in top_probs]
        entropies = picked[:, self._entropy].tolist() if self.attention else [float("nan")] * len(rows)
        attention = self.attention
        itos = self.itos
        return [
            StepRecord(
                request_id=self.request_id,
                step=step,
                token_id=token_id,
                token=itos[token_id],
                prob=prob,
                topk=tuple(map(_candidate, zip(map(itos.__getitem__, ids), ids, candidate_probs, strict=True))),
                alpha=block[row, self._alpha] if attention else None,
                scores=block[row, self._scores] if attention else None,
                context=block[row, self._context],
                state=block[row, self._state],
                entropy=entropy,
            )
            for step, row, token_id, prob, ids, candidate_probs, entropy in zip(
                steps, rows, token_ids, probs, top_ids, top_probs, entropies, strict=True
            )
        ]
