"""ForeignSeq2Seq: other toolkits' RNN attention models, run step by step with their own equations.

One decoder step, in the order each toolkit computes it (s = top-layer state, c = context):

* query "new" (JoeyNMT, OpenNMT-py): s_i = RNN([E y_{i-1}; h̃_{i-1}] or E y_{i-1}, s_{i-1});
  e_i = score(s_i, h); α_i = softmax(e_i); c_i = α_i H; h̃_i = att_vector(s_i, c_i);
  logits = W_o h̃_i (+ b_o).
* query "prev" (PyTorch tutorial): e_i = score(s_{i-1}, h); α_i, c_i as above;
  s_i = RNN([E y_{i-1}; c_i], s_{i-1}); logits = W_o s_i + b_o.

Weights use this module's own names; the importers map each toolkit's names onto them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.foreign.config import ForeignConfig
from models.rnn.attention import AlphaEdit, AttentionOutput, masked_softmax, weighted_sum
from models.rnn.decoder import DecoderState, StepOutput, rnn_step
from models.rnn.encoder import Memory, make_embedding, make_rnn
from models.rnn.seq2seq import Seq2Seq


@dataclass(frozen=True)
class ForeignMemory(Memory):
    """Memory plus the decoder's initial state, which some toolkits take from every encoder layer."""

    init_hidden: Tensor  # (L_dec, B, H)
    init_cell: Tensor | None  # (L_dec, B, H) for LSTMs

    def select(self, index: Tensor) -> ForeignMemory:
        cell = None if self.init_cell is None else self.init_cell[:, index]
        base = super().select(index)
        return ForeignMemory(base.states, base.mask, base.keys, base.final, self.init_hidden[:, index], cell)


class ForeignAttention(nn.Module):
    """Additive (MLP) or multiplicative scores with each toolkit's bias and projection layout."""

    def __init__(self, config: ForeignConfig) -> None:
        super().__init__()
        self.kind = config.attention
        self.general_on = config.general_on
        h, m, a = config.hidden_dim, config.enc_out_dim, config.attn_dim
        if self.kind in ("bahdanau", "luong-concat"):
            self.query_proj = nn.Linear(h, a, bias=config.attn_query_bias)
            self.key_proj = nn.Linear(m, a, bias=config.attn_key_bias)
            self.energy = nn.Linear(a, 1, bias=config.attn_energy_bias)
        elif self.kind == "luong-general" and self.general_on == "keys":
            self.key_proj = nn.Linear(m, h, bias=False)
        elif self.kind == "luong-general":
            self.query_proj = nn.Linear(h, h, bias=False)

    def precompute(self, memory: Tensor) -> Tensor:
        """Per-sentence keys: the key projection where the toolkit applies one to the memory."""
        return self.key_proj(memory) if hasattr(self, "key_proj") else memory

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        if self.kind in ("bahdanau", "luong-concat"):
            return self.energy(torch.tanh(self.query_proj(query).unsqueeze(1) + keys)).squeeze(-1)
        if self.kind == "luong-general" and self.general_on == "query":
            query = self.query_proj(query)
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)

    def forward(
        self, query: Tensor, memory: Tensor, keys: Tensor, mask: Tensor, edit: AlphaEdit | None = None
    ) -> AttentionOutput:
        scores = self.score(query, keys)
        alpha = masked_softmax(scores, mask)
        if edit is not None:  # what-if tools: c is recomputed from the edited weights
            alpha = edit(scores, alpha, mask)
        return AttentionOutput(scores, alpha, weighted_sum(alpha, memory))


class ForeignSeq2Seq(Seq2Seq):
    """Seq2Seq-compatible (encode / init_state / decode_step / forward) but built from a ForeignConfig."""

    config: ForeignConfig

    def __init__(self, config: ForeignConfig) -> None:
        nn.Module.__init__(self)  # not Seq2Seq.__init__: that would build the native modules
        self.config = config
        c = config
        self.src_embed = make_embedding(c.src_vocab_size, c.embed_dim)
        self.tgt_embed = make_embedding(c.tgt_vocab_size, c.tgt_embed_dim)
        self.encoder_rnn = make_rnn(c.rnn, c.embed_dim, c.enc_hidden_dim, c.enc_layers, c.bidirectional, 0.0)
        self._build_bridge()
        self.attention = ForeignAttention(c)
        rnn_extra = {"emb": 0, "emb+feed": c.hidden_dim, "emb+context": c.enc_out_dim}[c.rnn_input]
        self.decoder_rnn = make_rnn(c.rnn, c.tgt_embed_dim + rnn_extra, c.hidden_dim, c.dec_layers, False, 0.0)
        if c.att_vector != "none":
            self.att_vector = nn.Linear(c.hidden_dim + c.enc_out_dim, c.hidden_dim, bias=c.att_vector_bias)
        self.output = nn.Linear(c.hidden_dim, c.tgt_vocab_size, bias=c.output_bias)
        # On the CPU even when the model is built on the meta device (for loading): no file holds this buffer.
        forbid = torch.zeros(c.tgt_vocab_size, dtype=torch.bool, device="cpu")
        forbid[list(c.never_generate)] = True
        self.register_buffer("forbidden", forbid, persistent=False)

    def _build_bridge(self) -> None:
        c = self.config
        if c.init == "bridge":
            self.bridge = nn.Linear(c.enc_out_dim, c.hidden_dim)
        elif c.init == "final" and c.bridge_relu:  # OpenNMT: one Linear per state kind (h, and c for LSTMs)
            width = c.enc_hidden_dim * c.enc_layers
            self.bridges = nn.ModuleList(nn.Linear(width, width) for _ in range(2 if c.rnn == "lstm" else 1))

    # -- encoder -------------------------------------------------------------------------------

    def encode(self, src: Tensor, lengths: Tensor) -> Memory:
        c = self.config
        emb = self._scaled(self.src_embed(src), c.src_emb_scale)
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, final_state = self.encoder_rnn(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        h_n, c_n = final_state if isinstance(final_state, tuple) else (final_state, None)
        dirs = 2 if c.bidirectional else 1
        top = h_n.view(c.enc_layers, dirs, src.shape[0], c.enc_hidden_dim)[-1]
        final = torch.cat(list(top), dim=-1)  # fwd after the last token ⊕ bwd after the first
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        init_hidden, init_cell = self._initial_state(final, h_n, c_n)
        keys = self.attention.precompute(states)
        return ForeignMemory(states, mask, keys, final, init_hidden, init_cell)

    def _scaled(self, emb: Tensor, scale: bool) -> Tensor:
        return emb * math.sqrt(emb.shape[-1]) if scale else emb

    def _initial_state(self, final: Tensor, h_n: Tensor, c_n: Tensor | None) -> tuple[Tensor, Tensor | None]:
        c = self.config
        layers = c.dec_layers
        if c.init == "final":  # OpenNMT / tutorial: per layer, directions concatenated
            h0 = self._per_layer(self._onmt_bridge(h_n, 0))
            c0 = None if c_n is None else self._per_layer(self._onmt_bridge(c_n, 1))
            return h0, c0
        if c.init == "bridge":
            h = torch.tanh(self.bridge(final))
        elif c.init == "last":
            h = final[:, : c.hidden_dim] if final.shape[1] == 2 * c.hidden_dim else final
        else:
            h = final.new_zeros(final.shape[0], c.hidden_dim)
        h0 = h.unsqueeze(0).repeat(layers, 1, 1)
        return h0, (h0 if c.rnn == "lstm" else None)  # JoeyNMT gives the LSTM cell the same values

    def _onmt_bridge(self, state: Tensor, kind: int) -> Tensor:
        """OpenNMT's bridge: relu(W · flatten(layers x dirs) + b) on the raw final states, reshaped back."""
        if not hasattr(self, "bridges"):
            return state
        width = self.config.enc_hidden_dim * self.config.enc_layers
        per_batch = state.permute(1, 0, 2).contiguous()
        flat = self.bridges[kind](per_batch.view(-1, width))
        return torch.relu(flat).view(per_batch.shape).permute(1, 0, 2).contiguous()

    def _per_layer(self, state: Tensor) -> Tensor:
        if not self.config.bidirectional:
            return state
        return torch.cat([state[0::2], state[1::2]], 2)  # (L*2, B, h) → (L, B, 2h)

    # -- decoder -------------------------------------------------------------------------------

    def init_state(self, memory: Memory) -> DecoderState:
        assert isinstance(memory, ForeignMemory), "a ForeignSeq2Seq decodes memories it encoded"
        feed = None
        if self.config.rnn_input == "emb+feed":
            feed = memory.init_hidden.new_zeros(memory.init_hidden.shape[1], self.config.hidden_dim)
        return DecoderState(memory.init_hidden, memory.init_cell, feed)

    def decode_step(
        self, prev_token: Tensor, state: DecoderState, memory: Memory, edit: AlphaEdit | None = None
    ) -> StepOutput:
        c = self.config
        emb = self._scaled(self.tgt_embed(prev_token), c.tgt_emb_scale)
        if c.query == "prev":
            att = self.attention(state.hidden[-1], memory.states, memory.keys, memory.mask, edit)
            top, hidden, cell = rnn_step(self.decoder_rnn, torch.cat([emb, att.context], -1), state)
        else:
            x = torch.cat([emb, state.feed], -1) if state.feed is not None else emb
            top, hidden, cell = rnn_step(self.decoder_rnn, x, state)
            att = self.attention(top, memory.states, memory.keys, memory.mask, edit)
        readout = self._att_vector(top, att.context)
        feed = readout if c.rnn_input == "emb+feed" else None
        logits = self.output(readout).masked_fill(self.forbidden, float("-inf"))
        return StepOutput(logits, DecoderState(hidden, cell, feed), att.scores, att.alpha, att.context, top)

    def _att_vector(self, top: Tensor, context: Tensor) -> Tensor:
        c = self.config
        if c.att_vector == "none":
            return top
        pair = [top, context] if c.att_vector == "tanh[s;c]" else [context, top]
        out = self.att_vector(torch.cat(pair, -1))
        return torch.tanh(out) if c.att_vector_tanh else out
