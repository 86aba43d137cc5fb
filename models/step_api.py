"""The one step API every architecture offers the engine and the training loop, as a typing Protocol.

    memory = model.encode(src, lengths)            # the source, once
    state = model.init_state(memory)
    out = model.decode_step(prev_token, state, memory, edit)   # StepOutput: logits, α, e, c, s (+ heads)
    state, memory = out.state.select(rows), memory.select(rows)  # beam search reorders with these
    logits, alpha = model(src, lengths, tgt_in)    # teacher forcing

RNN models (models.rnn, models.foreign), the transformer (models.transformer) and the Hugging Face
adapter (models.hf) all follow it; a transformer's StepOutput also carries `heads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from torch import Tensor, nn

from models.rnn.decoder import StepOutput


class StepModel(Protocol):
    """An nn.Module with the step API (the module methods listed are those the loaders and training use)."""

    config: Any
    training: bool

    def encode(self, src: Tensor, lengths: Tensor) -> Any: ...

    def init_state(self, memory: Any) -> Any: ...

    def decode_step(self, prev_token: Tensor, state: Any, memory: Any, edit: Any = None) -> StepOutput: ...

    def __call__(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]: ...

    def parameter_count(self) -> int: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]: ...

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]: ...

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, Tensor]]: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...

    def eval(self) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Any: ...

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any: ...


def head_layout(config: Any) -> tuple[int, int, int] | None:
    """(decoder layers, heads, head width) of a multi-head model's cross-attention; None for the RNN models."""
    layout = getattr(config, "head_layout", None)
    return None if layout is None else tuple(layout)  # type: ignore[return-value]
