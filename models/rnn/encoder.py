"""The recurrent encoder: tokens → hidden states h_1..h_Tx, padding mask and final state."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.rnn.config import ModelConfig
from models.tokens import PAD_ID


@dataclass(frozen=True)
class Memory:
    """Everything the decoder reads about one batch of source sentences."""

    states: Tensor  # (B, T, H_enc) the h_j
    mask: Tensor  # (B, T) True at real tokens
    keys: Tensor  # (B, T, ·) attention's per-sentence precomputation
    final: Tensor  # (B, H_enc) top-layer final state (fwd last ⊕ bwd first)

    def select(self, index: Tensor) -> Memory:
        """Rows `index` of the batch (beam search expands and reorders with it)."""
        return Memory(self.states[index], self.mask[index], self.keys[index], self.final[index])


def make_embedding(rows: int, dim: int, padding_idx: int | None = None) -> nn.Embedding:
    """nn.Embedding; built on the meta device (a checkpoint being loaded) it skips the random init the file's weights
    replace, since torch's meta normal_ alone imports torch._dynamo and sympy (~1.5 s)."""
    if torch.empty(0).is_meta:  # the default device, as torch.device("meta") sets it
        return nn.Embedding(rows, dim, padding_idx, _weight=torch.empty(rows, dim))
    return nn.Embedding(rows, dim, padding_idx)


def make_rnn(
    kind: str, input_dim: int, hidden_dim: int, layers: int, bidirectional: bool, dropout: float
) -> nn.RNNBase:
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    return cls(
        input_dim,
        hidden_dim,
        layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=dropout if layers > 1 else 0.0,
    )


class Encoder(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = make_embedding(config.src_vocab_size, config.embed_dim, padding_idx=PAD_ID)
        self.rnn = make_rnn(
            config.rnn, config.embed_dim, config.hidden_dim, config.enc_layers, config.bidirectional, config.dropout
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, src: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """src (B, T) ids, lengths (B,) → states (B, T, H_enc), mask (B, T), final (B, H_enc)."""
        emb = self.dropout(self.embed(src))
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        if isinstance(h_n, tuple):  # LSTM: (h, c); the summary is h
            h_n = h_n[0]
        dirs = 2 if self.config.bidirectional else 1
        top = h_n.view(self.config.enc_layers, dirs, src.shape[0], self.config.hidden_dim)[-1]
        final = torch.cat(list(top), dim=-1)  # fwd after the last token ⊕ bwd after the first
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        return states, mask, final
