"""TransformerSeq2Seq: Vaswani et al. 2017's encoder–decoder, decoded one step at a time with a key/value cache.

Equations: x = E y · √d (if emb_scale) + PE(position), PE sinusoidal (sin at even, cos at odd features);
each head's α = softmax(q·kᵀ/√d_head) over the real positions; a sublayer F is applied as
LN(x + F(x)) (post-LN, Vaswani) or x + F(LN(x)) (pre-LN); decoder layers: causal self-attention,
cross-attention over the encoder output, feed-forward W₂ act(W₁ x + b₁) + b₂.

`decode_step` returns, besides the logits, every decoder layer's cross-attention per head (weights,
pre-softmax scores, per-head contexts Σ_j α_ij v_j, the value-weighted norms ‖α_ij W_O^h v_j‖ of
Kobayashi et al. 2020, each layer's block output) and the self-attention over the steps so far.
The StepOutput's own alpha / scores / context are the mean over the last layer's heads (and that
layer's block output), so code written for the RNN models reads a sensible summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from models.rnn.decoder import StepOutput
from models.tokens import PAD_ID
from models.transformer.config import TransformerConfig

# What-if hook: (layer, scores (B, H, T), α (B, H, T), source mask (B, T)) → the weights to use instead.
HeadEdit = Callable[[int, Tensor, Tensor, Tensor], Tensor]
WeightsEdit = Callable[[Tensor, Tensor], Tensor]  # (scores, α) of one attention call → α


@dataclass(frozen=True)
class HeadOutput:
    weights: Tensor  # (B, L, H, T) α of each decoder layer's cross-attention heads, as used (after any edit)
    scores: Tensor  # (B, L, H, T) q·k/√d_head before the softmax
    contexts: Tensor  # (B, L, H, d_head) Σ_j α_ij v_j per head
    norms: Tensor  # (B, L, H, T) ‖α_ij W_O^h v_j‖ (v_j includes the value bias)
    outputs: Tensor  # (B, L, d) each layer's cross-attention block output W_O [ctx_1; …; ctx_H] + b_O
    self_weights: tuple[Tensor, ...]  # per layer (B, H, t): self-attention over the steps so far


@dataclass(frozen=True)
class TransformerStepOutput(StepOutput):
    heads: HeadOutput | None = None


@dataclass(frozen=True)
class TransformerMemory:
    states: Tensor  # (B, T, d) the encoder output
    mask: Tensor  # (B, T) True at real tokens
    keys: tuple[Tensor, ...]  # per decoder layer (B, H, T, d_head): the cross-attention keys, made once
    values: tuple[Tensor, ...]
    value_norms: Tensor  # (B, L, H, T) ‖W_O^h v_j‖

    def select(self, index: Tensor) -> TransformerMemory:
        return TransformerMemory(
            self.states[index],
            self.mask[index],
            tuple(k[index] for k in self.keys),
            tuple(v[index] for v in self.values),
            self.value_norms[index],
        )


@dataclass(frozen=True)
class TransformerState:
    keys: tuple[Tensor, ...]  # per decoder layer (B, H, t, d_head): self-attention cache of the steps so far
    values: tuple[Tensor, ...]
    position: int  # the next step's position

    def select(self, index: Tensor) -> TransformerState:
        return TransformerState(tuple(k[index] for k in self.keys), tuple(v[index] for v in self.values), self.position)


@dataclass(frozen=True)
class TeacherForced:
    logits: Tensor  # (B, U, V)
    weights: Tensor  # (B, U, L, H, T) cross-attention
    scores: Tensor  # (B, U, L, H, T)
    self_weights: Tensor  # (B, U, L, H, U)


def sinusoids(positions: int, d: int) -> Tensor:
    """PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d))."""
    # On the CPU even while a model is built on the meta device (for loading): no file holds this table.
    position = torch.arange(positions, dtype=torch.float32, device="cpu").unsqueeze(1)
    rate = torch.exp(-torch.arange(0, d, 2, dtype=torch.float32, device="cpu") * math.log(10000.0) / d)
    table = torch.zeros(positions, d, device="cpu")
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d // 2])
    return table


class MultiHeadAttention(nn.Module):
    def __init__(self, d: int, heads: int, bias: bool = True) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.scale = self.head_dim**-0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d, bias=bias) for _ in range(4))

    def split(self, x: Tensor) -> Tensor:
        """(B, T, d) → (B, H, T, d_head)."""
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def attend(
        self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor, edit: WeightsEdit | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """query (B, Tq, d), keys/values (B, H, Tk, d_head), mask broadcastable to (B, H, Tq, Tk) →
        the block output (B, Tq, d), α and the scores (B, H, Tq, Tk), the per-head contexts (B, H, Tq, d_head)."""
        scores = (self.split(self.q_proj(query)) @ keys.transpose(-1, -2)) * self.scale
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
        if edit is not None:
            weights = edit(scores, weights)
        contexts = weights @ values
        batch, steps = query.shape[:2]
        return self.out_proj(contexts.transpose(1, 2).reshape(batch, steps, -1)), weights, scores, contexts


class FeedForward(nn.Module):
    def __init__(self, d: int, ffn: int, activation: str, bias: bool = True) -> None:
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(d, ffn, bias=bias), nn.Linear(ffn, d, bias=bias)
        self.activation = nn.ReLU() if activation == "relu" else nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.activation(self.linear1(x)))


class _Layer(nn.Module):
    """A residual sublayer in post-LN or pre-LN order."""

    def __init__(self, config: TransformerConfig, sublayers: int) -> None:
        super().__init__()
        self.pre = config.norm == "pre"
        self.norms = nn.ModuleList(nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) for _ in range(sublayers))
        self.dropout = nn.Dropout(config.dropout)

    def input(self, x: Tensor, k: int) -> Tensor:
        return self.norms[k](x) if self.pre else x

    def output(self, x: Tensor, y: Tensor, k: int) -> Tensor:
        x = x + self.dropout(y)
        return x if self.pre else self.norms[k](x)


class EncoderLayer(_Layer):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config, 2)
        self.self_attn = MultiHeadAttention(config.d_model, config.heads, config.attention_bias)
        self.ffn = FeedForward(config.d_model, config.ffn_dim, config.activation, config.ffn_bias)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h, a = self.input(x, 0), self.self_attn
        x = self.output(x, a.attend(h, a.split(a.k_proj(h)), a.split(a.v_proj(h)), mask)[0], 0)
        return self.output(x, self.ffn(self.input(x, 1)), 1)


class DecoderLayer(_Layer):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config, 3)
        self.self_attn = MultiHeadAttention(config.d_model, config.heads, config.attention_bias)
        self.cross_attn = MultiHeadAttention(config.d_model, config.heads, config.attention_bias)
        self.ffn = FeedForward(config.d_model, config.ffn_dim, config.activation, config.ffn_bias)

    def forward(
        self,
        x: Tensor,
        past: tuple[Tensor, Tensor] | None,
        self_mask: Tensor,
        memory: tuple[Tensor, Tensor, Tensor],
        edit: WeightsEdit | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor, tuple[Tensor, Tensor, Tensor, Tensor]]:
        """x (B, U, d): new positions; past: cached self-attention keys/values; memory: cross keys, values, mask.
        Returns x, the extended cache, the self-attention α, and the cross-attention (output, α, scores, contexts)."""
        h, a = self.input(x, 0), self.self_attn
        keys, values = a.split(a.k_proj(h)), a.split(a.v_proj(h))
        if past is not None:
            keys, values = torch.cat([past[0], keys], 2), torch.cat([past[1], values], 2)
        out, self_weights, _, _ = a.attend(h, keys, values, self_mask)
        x = self.output(x, out, 0)
        cross = self.cross_attn.attend(self.input(x, 1), *memory, edit)
        x = self.output(x, cross[0], 1)
        x = self.output(x, self.ffn(self.input(x, 2)), 2)
        return x, (keys, values), self_weights, cross


class TransformerSeq2Seq(nn.Module):
    """Built from its config alone; training (teacher forcing, in parallel) and inspection (decode_step) share it."""

    positions: Tensor  # (max_positions, d_model) the sinusoidal table
    forbidden: Tensor  # (V,) never-generated target ids

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=PAD_ID)
        self.encoder_layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.enc_layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.dec_layers))
        if c.final_norm:
            self.encoder_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
            self.decoder_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.output = nn.Linear(c.d_model, c.tgt_vocab_size, bias=c.output_bias)
        # On the CPU even when the model is built on the meta device (for loading): no file holds these buffers.
        with torch.device("cpu"):
            forbid = torch.zeros(c.tgt_vocab_size, dtype=torch.bool)
            forbid[list(c.never_generate)] = True
            table = sinusoids(c.max_positions, c.d_model)
        self.register_buffer("forbidden", forbid, persistent=False)
        self.dropout = nn.Dropout(c.dropout)
        self.register_buffer("positions", table, persistent=False)
        if not torch.empty(0).is_meta:  # built for loading: the file's weights replace any init (and meta's imports)
            for embedding in (self.src_embed, self.tgt_embed):  # std d^-0.5: after the √d scale, as large as positions
                nn.init.normal_(embedding.weight, std=c.d_model**-0.5)
                nn.init.zeros_(embedding.weight[PAD_ID])

    def _embed(self, embedding: nn.Embedding, ids: Tensor, start: int) -> Tensor:
        if start + ids.shape[1] > self.config.max_positions:
            raise ValueError(f"position {start + ids.shape[1] - 1} is beyond the model's {self.config.max_positions}")
        x = embedding(ids)
        if self.config.emb_scale:
            x = x * math.sqrt(self.config.d_model)
        return self.dropout(x + self.positions[start : start + ids.shape[1]])

    def _final(self, x: Tensor, norm: str) -> Tensor:
        return getattr(self, norm)(x) if self.config.final_norm else x

    # -- encoder -----------------------------------------------------------------------------------

    def encode(self, src: Tensor, lengths: Tensor) -> TransformerMemory:
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        x = self._embed(self.src_embed, src, 0)
        for layer in self.encoder_layers:
            x = layer(x, mask[:, None, None, :])
        states = self._final(x, "encoder_norm")
        keys, values, norms = [], [], []
        for layer in self.decoder_layers:
            a = cast(DecoderLayer, layer).cross_attn
            keys.append(a.split(a.k_proj(states)))
            values.append(a.split(a.v_proj(states)))
            norms.append(value_norms(values[-1], a.out_proj.weight))
        return TransformerMemory(states, mask, tuple(keys), tuple(values), torch.stack(norms, 1))

    # -- decoder -----------------------------------------------------------------------------------

    def init_state(self, memory: TransformerMemory) -> TransformerState:
        batch, heads, head_dim = memory.states.shape[0], self.config.heads, self.config.d_model // self.config.heads
        empty = tuple(memory.states.new_zeros(batch, heads, 0, head_dim) for _ in self.decoder_layers)
        return TransformerState(empty, empty, 0)

    def decode_step(
        self, prev_token: Tensor, state: TransformerState, memory: TransformerMemory, edit: HeadEdit | None = None
    ) -> TransformerStepOutput:
        """One decoder step with the cache; `edit` (what-if tools) replaces a layer's α before its contexts form."""
        x = self._embed(self.tgt_embed, prev_token.unsqueeze(1), state.position)
        source_mask = memory.mask[:, None, None, :]
        no_mask = torch.ones(1, dtype=torch.bool, device=x.device)
        keys, values, self_weights, cross = [], [], [], []
        for index, layer in enumerate(self.decoder_layers):
            past = (state.keys[index], state.values[index])
            kv = (memory.keys[index], memory.values[index], source_mask)
            x, (k, v), weights, attended = layer(x, past, no_mask, kv, _step_edit(edit, index, memory.mask))
            keys.append(k)
            values.append(v)
            self_weights.append(weights[:, :, 0])
            cross.append(attended)
        top = self._final(x, "decoder_norm")[:, 0]
        heads = _heads(cross, memory.value_norms, tuple(self_weights))
        new_state = TransformerState(tuple(keys), tuple(values), state.position + 1)
        last = heads.weights[:, -1]
        logits = self.output(top)
        if self.config.never_generate:
            logits = logits.masked_fill(self.forbidden, float("-inf"))
        return TransformerStepOutput(
            logits, new_state, heads.scores[:, -1].mean(1), last.mean(1), heads.outputs[:, -1], top, heads
        )

    # -- teacher forcing ---------------------------------------------------------------------------

    def teacher_forced(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> TeacherForced:
        """All target positions at once under a causal mask (training, and the faithfulness reference)."""
        memory = self.encode(src, lengths)
        steps = tgt_in.shape[1]
        causal = torch.ones(steps, steps, dtype=torch.bool, device=src.device).tril()
        x = self._embed(self.tgt_embed, tgt_in, 0)
        weights, scores, self_weights = [], [], []
        for index, layer in enumerate(self.decoder_layers):
            kv = (memory.keys[index], memory.values[index], memory.mask[:, None, None, :])
            x, _, attended, cross = layer(x, None, causal, kv)
            self_weights.append(attended)
            weights.append(cross[1])
            scores.append(cross[2])
        logits = self.output(self._final(x, "decoder_norm"))
        # (B, H, U, ·) per layer → (B, U, L, H, ·)
        return TeacherForced(
            logits,
            torch.stack(weights, 1).permute(0, 3, 1, 2, 4),
            torch.stack(scores, 1).permute(0, 3, 1, 2, 4),
            torch.stack(self_weights, 1).permute(0, 3, 1, 2, 4),
        )

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: → logits (B, U, V), α (B, U, T) (the mean over the last layer's heads)."""
        out = self.teacher_forced(src, lengths, tgt_in)
        return out.logits, out.weights[:, :, -1].mean(2)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def value_norms(values: Tensor, out_weight: Tensor) -> Tensor:
    """‖W_O^h v_j‖ for values (B, H, T, d_head) and the output projection's weight (d, H · d_head) → (B, H, T)."""
    heads, head_dim = values.shape[1], values.shape[3]
    per_head = out_weight.view(out_weight.shape[0], heads, head_dim)
    return torch.einsum("bhtk,dhk->bhtd", values, per_head).norm(dim=-1)


def _step_edit(edit: HeadEdit | None, layer: int, mask: Tensor) -> WeightsEdit | None:
    if edit is None:
        return None

    def apply(scores: Tensor, weights: Tensor) -> Tensor:
        return edit(layer, scores[:, :, 0], weights[:, :, 0], mask).unsqueeze(2)

    return apply


def _heads(
    cross: list[tuple[Tensor, Tensor, Tensor, Tensor]], value_norms: Tensor, self_weights: tuple[Tensor, ...]
) -> HeadOutput:
    """One step's per-layer cross-attention (output (B, 1, d), α/scores (B, H, 1, T), contexts (B, H, 1, d_head))."""
    weights = torch.stack([c[1][:, :, 0] for c in cross], 1)
    return HeadOutput(
        weights=weights,
        scores=torch.stack([c[2][:, :, 0] for c in cross], 1),
        contexts=torch.stack([c[3][:, :, 0] for c in cross], 1),
        norms=weights * value_norms,
        outputs=torch.stack([c[0][:, 0] for c in cross], 1),
        self_weights=self_weights,
    )
