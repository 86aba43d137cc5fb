"""Stateless attention modules: each returns the scores e, the weights α and the context c."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class AttentionOutput:
    scores: Tensor  # (B, T) raw alignment scores e_ij
    alpha: Tensor  # (B, T) softmax(e) with padding exactly 0
    context: Tensor  # (B, H_enc) c_i = Σ_j α_ij h_j


# An intervention on attention: (scores e, weights α, mask) → the weights to use instead.
AlphaEdit = Callable[[Tensor, Tensor, Tensor], Tensor]


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over real positions only; padded positions get exactly 0."""
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def weighted_sum(alpha: Tensor, memory: Tensor) -> Tensor:
    """c = Σ_j α_j h_j for each batch row: (B, T) × (B, T, H) → (B, H)."""
    return torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)


class Attention(nn.Module):
    """Base: `keys` are a per-sentence precomputation passed back in, never stored."""

    def precompute(self, memory: Tensor) -> Tensor:
        return memory

    def score(self, query: Tensor, memory: Tensor, keys: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(
        self, query: Tensor, memory: Tensor, keys: Tensor, mask: Tensor, edit: AlphaEdit | None = None
    ) -> AttentionOutput:
        scores = self.score(query, memory, keys)
        alpha = self.weights(scores, mask)
        if edit is not None:  # the context is recomputed from the edited weights
            alpha = edit(scores, alpha, mask)
        return AttentionOutput(scores, alpha, weighted_sum(alpha, memory))

    def weights(self, scores: Tensor, mask: Tensor) -> Tensor:
        return masked_softmax(scores, mask)


class AdditiveAttention(Attention):
    """e_j = v_aᵀ tanh(W_a q + U_a h_j): Bahdanau's score, and Luong's "concat"."""

    def __init__(self, query_dim: int, memory_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attn_dim, bias=False)  # W_a
        self.key_proj = nn.Linear(memory_dim, attn_dim)  # U_a
        self.energy = nn.Linear(attn_dim, 1, bias=False)  # v_a

    def precompute(self, memory: Tensor) -> Tensor:
        return self.key_proj(memory)  # U_a h_j does not depend on the step

    def score(self, query: Tensor, memory: Tensor, keys: Tensor) -> Tensor:
        return self.energy(torch.tanh(self.query_proj(query).unsqueeze(1) + keys)).squeeze(-1)


class DotAttention(Attention):
    """Luong dot: e_j = s_iᵀ h_j."""

    def score(self, query: Tensor, memory: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)


class GeneralAttention(DotAttention):
    """Luong general: e_j = s_iᵀ W_a h_j, with W_a h_j precomputed once per sentence."""

    def __init__(self, query_dim: int, memory_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(memory_dim, query_dim, bias=False)  # W_a

    def precompute(self, memory: Tensor) -> Tensor:
        return self.key_proj(memory)


class FixedContext(Attention):
    """No attention (Cho et al. 2014's RNNencdec): c is the whole-sentence summary at every step.

    The summary is the encoder's final state, forward after the last token ⊕ backward after the
    first (`Memory.final`), not any one h_j, so no α reproduces it: α and e are reported as zeros
    (no source position is weighted) and an α edit cannot change c.
    """

    def score(self, query: Tensor, memory: Tensor, keys: Tensor) -> Tensor:
        return torch.zeros(memory.shape[:2], dtype=memory.dtype, device=memory.device)

    def fixed(self, final: Tensor, mask: Tensor) -> AttentionOutput:
        """final (B, H_enc), mask (B, T) → zero e and α of shape (B, T), and c = final."""
        zeros = torch.zeros(mask.shape, dtype=final.dtype, device=final.device)
        return AttentionOutput(zeros, zeros, final)


def build_attention(kind: str, query_dim: int, memory_dim: int, attn_dim: int) -> Attention:
    if kind in ("bahdanau", "luong-concat"):
        return AdditiveAttention(query_dim, memory_dim, attn_dim)
    if kind == "luong-dot":
        return DotAttention()
    if kind == "luong-general":
        return GeneralAttention(query_dim, memory_dim)
    if kind == "none":
        return FixedContext()
    raise ValueError(f"unknown attention type {kind!r}")
