"""Seq2Seq: the encoder and decoder joined, with the public encode / decode_step API."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from models.rnn.attention import AlphaEdit
from models.rnn.config import ModelConfig
from models.rnn.decoder import Decoder, DecoderState, StepOutput
from models.rnn.encoder import Encoder, Memory


class Seq2Seq(nn.Module):
    """Built from its config alone; training and inspection share `decode_step`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def encode(self, src: Tensor, lengths: Tensor) -> Memory:
        states, mask, final = self.encoder(src, lengths)
        return Memory(states, mask, self.decoder.attention.precompute(states), final)

    def init_state(self, memory: Memory) -> DecoderState:
        return self.decoder.init_state(memory)

    def decode_step(
        self, prev_token: Tensor, state: DecoderState, memory: Memory, edit: AlphaEdit | None = None
    ) -> StepOutput:
        """One decoder step; `edit` (what-if tools) replaces α before c_i is formed."""
        return self.decoder(prev_token, state, memory, edit)

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: tgt_in (B, U) starts with <bos>; → logits (B, U, V), α (B, U, T)."""
        memory = self.encode(src, lengths)
        state = self.init_state(memory)
        logits, alphas = [], []
        for i in range(tgt_in.shape[1]):
            step = self.decode_step(tgt_in[:, i], state, memory)
            state = step.state
            logits.append(step.logits)
            alphas.append(step.alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
