"""ModelConfig: the dataclass that fully describes a seq2seq model's architecture; the checks every config shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RNN_TYPES = ("gru", "lstm")
ATTENTION_TYPES = ("bahdanau", "luong-dot", "luong-general", "luong-concat", "none")

# Hard upper bounds keep a hostile config from asking for absurd allocations.
LIMITS = {
    "src_vocab_size": (5, 2_000_000),
    "tgt_vocab_size": (5, 2_000_000),
    "embed_dim": (1, 8192),
    "hidden_dim": (1, 8192),
    "enc_layers": (1, 16),
    "dec_layers": (1, 16),
    "attn_dim": (1, 8192),
}
MAX_PARAMETERS = 2_000_000_000


class ConfigError(ValueError):
    """A model configuration that cannot describe a valid model."""


Config = TypeVar("Config", bound="DataclassInstance")


def check_ranges(config: object, limits: Mapping[str, tuple[int, int]]) -> None:
    """Each named size is a plain integer (a bool is not one) within its bounds."""
    for name, (lo, hi) in limits.items():
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


def check_choices(config: object, choices: Mapping[str, tuple[str, ...]]) -> None:
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise ConfigError(f"{name} must be one of {allowed}, got {getattr(config, name)!r}")


def check_dropout(dropout: object) -> None:
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")


def check_parameters(count: int) -> None:
    if count > MAX_PARAMETERS:
        raise ConfigError(f"config describes about {count:,} parameters; the limit is {MAX_PARAMETERS:,}")


def config_from_json(cls: type[Config], data: Any) -> Config:
    """A config dataclass from a JSON object: unknown keys are refused, the two vocabulary sizes required."""
    if not isinstance(data, dict):
        raise ConfigError("config must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
    missing = sorted({"src_vocab_size", "tgt_vocab_size"} - set(data))
    if missing:
        raise ConfigError(f"missing config keys: {', '.join(missing)}")
    return cls(**data)


@dataclass(frozen=True)
class ModelConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    enc_layers: int = 1
    dec_layers: int = 1
    rnn: str = "gru"
    bidirectional: bool = True
    attention: str = "bahdanau"
    attn_dim: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    @property
    def enc_out_dim(self) -> int:
        """Width of each encoder state h_j."""
        return self.hidden_dim * (2 if self.bidirectional else 1)

    @property
    def is_luong(self) -> bool:
        return self.attention.startswith("luong")

    def validate(self) -> None:
        check_ranges(self, LIMITS)
        check_choices(self, {"rnn": RNN_TYPES, "attention": ATTENTION_TYPES})
        if not isinstance(self.bidirectional, bool):
            raise ConfigError("bidirectional must be true or false")
        check_dropout(self.dropout)
        if self.attention == "luong-dot" and self.hidden_dim != self.enc_out_dim:
            raise ConfigError("luong-dot needs decoder and encoder widths equal: use a unidirectional encoder")
        check_parameters(self.approx_parameters())

    def approx_parameters(self) -> int:
        """Upper-bound estimate, computed without building anything."""
        h, e, a = self.hidden_dim, self.embed_dim, self.attn_dim
        gates = 4 if self.rnn == "lstm" else 3
        dirs = 2 if self.bidirectional else 1
        enc = self.enc_layers * dirs * gates * h * (max(e, h * dirs) + h + 2)
        dec = self.dec_layers * gates * h * (e + self.enc_out_dim + 2 * h + 2)
        vocab = (self.src_vocab_size + self.tgt_vocab_size) * e + self.tgt_vocab_size * (h + 1)
        return enc + dec + vocab + 4 * (h + self.enc_out_dim) * (a + h + e)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        return config_from_json(cls, data)
