"""Batched greedy decoding in pure torch, for validation and evaluation over many sentences."""

from __future__ import annotations

import torch
from torch import Tensor

from models.step_api import StepModel
from models.tokens import BOS_ID, EOS_ID, PAD_ID


@torch.inference_mode()
def greedy_batch(model: StepModel, src: Tensor, lengths: Tensor, max_len: int) -> tuple[list[list[int]], list[Tensor]]:
    """Greedy-decode a padded batch; returns each row's ids (no <eos>) and its α matrix (U, T_b)."""
    memory = model.encode(src, lengths)
    state = model.init_state(memory)
    prev = torch.full((src.shape[0],), BOS_ID, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    tokens, alphas = [], []
    for _ in range(max_len):
        step = model.decode_step(prev, state, memory)
        prev = step.logits.argmax(-1).masked_fill(done, PAD_ID)
        tokens.append(prev)
        alphas.append(step.alpha)
        state = step.state
        done = done | (prev == EOS_ID)
        if bool(done.all()):
            break
    ids = torch.stack(tokens, 1).tolist()
    alpha = torch.stack(alphas, 1).cpu()
    out_ids, out_alpha = [], []
    for row, seq in enumerate(ids):
        n = seq.index(EOS_ID) if EOS_ID in seq else len(seq)
        out_ids.append(seq[:n])
        out_alpha.append(alpha[row, : n + 1, : int(lengths[row])])
    return out_ids, out_alpha
