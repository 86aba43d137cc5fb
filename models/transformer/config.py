"""TransformerConfig: the dataclass that fully describes a transformer encoder–decoder's architecture."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from models.rnn.config import (
    ConfigError,
    check_choices,
    check_dropout,
    check_parameters,
    check_ranges,
    config_from_json,
)

NORMS = ("post", "pre")  # LayerNorm after each residual sum (Vaswani) or before each sublayer
ACTIVATIONS = ("relu", "gelu")
# What computes the attention (models/transformer/model.py's MultiHeadAttention.attend), as the model panel says it.
ATTN_IMPLEMENTATION = "eager: attnscope's own, in plain torch"
TOOLKITS = ("attnscope", "pytorch-transformer-tutorial", "joeynmt", "opennmt-py")
LIMITS = {
    "src_vocab_size": (5, 2_000_000),
    "tgt_vocab_size": (5, 2_000_000),
    "d_model": (2, 8192),
    "heads": (1, 128),
    "enc_layers": (1, 48),
    "dec_layers": (1, 48),
    "ffn_dim": (1, 65536),
    "max_positions": (16, 65536),
}


class MultiHeadConfig:
    """What the engine reads from every multi-head model's config, for a model whose layers are d_model wide."""

    d_model: int

    @property
    def enc_out_dim(self) -> int:
        return self.d_model

    @property
    def hidden_dim(self) -> int:
        return self.d_model

    @property
    def attention(self) -> str:
        return "multi-head"


@dataclass(frozen=True)
class TransformerConfig(MultiHeadConfig):
    """Sizes and the equation switches; `final_norm` adds a LayerNorm after the last encoder and decoder layer
    (pre-LN needs it; nn.Transformer has one in either order)."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 128
    heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    ffn_dim: int = 512
    dropout: float = 0.1
    norm: str = "post"
    final_norm: bool = False
    emb_scale: bool = True  # embeddings × √d_model before the positions are added
    activation: str = "relu"
    layer_norm_eps: float = 1e-5
    max_positions: int = 1024
    output_bias: bool = True  # JoeyNMT's output layer has none
    attention_bias: bool = True  # biases in the q, k, v and output projections (OpenNMT-py's default has none)
    ffn_bias: bool = True  # biases in the feed-forward layers (likewise)
    never_generate: tuple[int, ...] = ()  # target ids whose logits are -inf at every step (as the toolkit's search)
    toolkit: str = "attnscope"
    arch: str = "transformer"  # the key that tells a transformer config from an RNN one in a checkpoint

    def __post_init__(self) -> None:
        if isinstance(self.never_generate, list):  # JSON gives a list
            object.__setattr__(self, "never_generate", tuple(self.never_generate))
        self.validate()

    @property
    def head_layout(self) -> tuple[int, int, int]:
        """(decoder layers, heads, head width) of the cross-attention."""
        return self.dec_layers, self.heads, self.d_model // self.heads

    def validate(self) -> None:
        check_ranges(self, LIMITS)
        if self.d_model % self.heads:
            raise ConfigError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")
        check_choices(self, {"norm": NORMS, "activation": ACTIVATIONS, "toolkit": TOOLKITS})
        if self.arch != "transformer":
            raise ConfigError(f"arch must be 'transformer', got {self.arch!r}")
        if not isinstance(self.never_generate, tuple) or any(
            not isinstance(i, int) or not 0 <= i < self.tgt_vocab_size for i in self.never_generate
        ):
            raise ConfigError("never_generate must hold target ids")
        for name in ("final_norm", "emb_scale", "output_bias", "attention_bias", "ffn_bias"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false")
        check_dropout(self.dropout)
        if not isinstance(self.layer_norm_eps, (int, float)) or not 0.0 < self.layer_norm_eps < 1.0:
            raise ConfigError(f"layer_norm_eps must be in (0, 1), got {self.layer_norm_eps!r}")
        check_parameters(self.approx_parameters())

    def approx_parameters(self) -> int:
        d, f = self.d_model, self.ffn_dim
        layer = 4 * d * d + 2 * d * f + 8 * d + f
        vocab = (self.src_vocab_size + 2 * self.tgt_vocab_size) * d
        return self.enc_layers * layer + self.dec_layers * (layer + 4 * d * d) + vocab

    def min_parameters(self) -> int:
        """Weights every model built from this config has at least (embeddings, output, the attention matrices)."""
        d = self.d_model
        return (self.src_vocab_size + 2 * self.tgt_vocab_size) * d + (self.enc_layers + 2 * self.dec_layers) * 4 * d * d

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TransformerConfig:
        return config_from_json(cls, data)

    def describe(self) -> dict[str, Any]:
        return {
            "architecture": f"transformer ({self.norm}-LN, sinusoidal positions)",
            "attention": f"multi-head, {self.heads} heads × {self.dec_layers} decoder layers",
            "attn_implementation": ATTN_IMPLEMENTATION,
            "layers": f"{self.enc_layers} enc / {self.dec_layers} dec",
            "heads": self.heads,
            "d_model": self.d_model,
            "feed-forward": self.ffn_dim,
        }
