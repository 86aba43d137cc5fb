"""The attentional decoder: one step from (previous token, state, memory) to a StepOutput."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from models.rnn.attention import AlphaEdit, AttentionOutput, FixedContext, build_attention
from models.rnn.config import ModelConfig
from models.rnn.encoder import Memory, make_embedding, make_rnn
from models.tokens import PAD_ID


@dataclass(frozen=True)
class DecoderState:
    hidden: Tensor  # (L, B, H) s_i for every layer; the query uses the top layer
    cell: Tensor | None  # (L, B, H) LSTM cell, else None
    feed: Tensor | None  # (B, H) Luong's attentional vector h̃_i fed to the next step

    def select(self, index: Tensor) -> DecoderState:
        return DecoderState(
            self.hidden[:, index],
            None if self.cell is None else self.cell[:, index],
            None if self.feed is None else self.feed[index],
        )


@dataclass(frozen=True)
class StepOutput:
    logits: Tensor  # (B, V) unnormalised next-token scores
    state: Any  # s_i: a DecoderState for the RNNs (a transformer's cache for models.transformer)
    scores: Tensor  # (B, T) e_i· (zeros without attention)
    alpha: Tensor  # (B, T) α_i· (zeros without attention: c is not a weighted sum of the h_j)
    context: Tensor  # (B, H_enc) c_i
    top: Tensor  # (B, H) the top layer's s_i: state.hidden[-1] without indexing for it


def rnn_step(rnn: nn.Module, x: Tensor, state: DecoderState) -> tuple[Tensor, Tensor, Tensor | None]:
    """One step of a decoder GRU or LSTM (an LSTM's state has a cell): its top output, hidden state and cell."""
    if state.cell is not None:
        out, (hidden, cell) = rnn(x.unsqueeze(1), (state.hidden, state.cell))
        return out.squeeze(1), hidden, cell
    out, hidden = rnn(x.unsqueeze(1), state.hidden)
    return out.squeeze(1), hidden, None


class Decoder(nn.Module):
    """Bahdanau order (query s_{i-1}, c_i fed into the RNN) or Luong order (query s_i, input feeding).

    Without attention it is Cho et al.'s RNNencdec decoder: Bahdanau order with c = Memory.final at every step.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        h, e, m = config.hidden_dim, config.embed_dim, config.enc_out_dim
        self.embed = make_embedding(config.tgt_vocab_size, e, padding_idx=PAD_ID)
        self.bridge = nn.Linear(m, h * config.dec_layers)
        self.attention = build_attention(config.attention, h, m, config.attn_dim)
        self.rnn = make_rnn(config.rnn, e + (h if config.is_luong else m), h, config.dec_layers, False, config.dropout)
        # Bahdanau: readout from [s_i; c_i; y_{i-1}]; Luong: h̃_i = tanh(W_c [c_i; s_i]).
        self.pre_output = nn.Linear(m + h if config.is_luong else h + m + e, h)
        self.output = nn.Linear(h, config.tgt_vocab_size)
        self.dropout = nn.Dropout(config.dropout)

    def init_state(self, memory: Memory) -> DecoderState:
        batch, layers, h = memory.final.shape[0], self.config.dec_layers, self.config.hidden_dim
        hidden = torch.tanh(self.bridge(memory.final)).view(batch, layers, h).transpose(0, 1).contiguous()
        cell = torch.zeros_like(hidden) if self.config.rnn == "lstm" else None
        feed = hidden.new_zeros(batch, h) if self.config.is_luong else None
        return DecoderState(hidden, cell, feed)

    def _attend(self, query: Tensor, memory: Memory, edit: AlphaEdit | None) -> AttentionOutput:
        if isinstance(self.attention, FixedContext):  # the same whole-sentence summary at every step
            return self.attention.fixed(memory.final, memory.mask)
        return self.attention(query, memory.states, memory.keys, memory.mask, edit)

    def forward(
        self, prev_token: Tensor, state: DecoderState, memory: Memory, edit: AlphaEdit | None = None
    ) -> StepOutput:
        emb = self.dropout(self.embed(prev_token))
        if self.config.is_luong:
            assert state.feed is not None
            top, hidden, cell = rnn_step(self.rnn, torch.cat([emb, state.feed], -1), state)
            att = self._attend(top, memory, edit)
            readout = torch.tanh(self.pre_output(torch.cat([att.context, top], -1)))
            new_state = DecoderState(hidden, cell, readout)
        else:
            att = self._attend(state.hidden[-1], memory, edit)
            top, hidden, cell = rnn_step(self.rnn, torch.cat([emb, att.context], -1), state)
            readout = torch.tanh(self.pre_output(torch.cat([top, att.context, emb], -1)))
            new_state = DecoderState(hidden, cell, None)
        logits = self.output(self.dropout(readout))
        return StepOutput(logits, new_state, att.scores, att.alpha, att.context, top)
