"""Other toolkits' RNN attention models, run in attnscope with their own equations.

`build_model`, `config_from_dict` and `tokenizer_from_dict` are what models.checkpoint uses to
rebuild a converted file: a config with a "toolkit" key, or a tokenizer with a "scheme" key, is
foreign; anything else is native and built exactly as before.
"""

from __future__ import annotations

from typing import Any

from models.foreign.config import ForeignConfig
from models.foreign.model import ForeignMemory, ForeignSeq2Seq
from models.foreign.tokenizer import ForeignTokenizer
from models.rnn.config import ModelConfig
from models.rnn.seq2seq import Seq2Seq
from models.tokens import Tokenizer

__all__ = [
    "ForeignConfig",
    "ForeignMemory",
    "ForeignSeq2Seq",
    "ForeignTokenizer",
    "build_model",
    "config_from_dict",
    "tokenizer_from_dict",
]


def build_model(config: ModelConfig) -> Seq2Seq:
    return ForeignSeq2Seq(config) if isinstance(config, ForeignConfig) else Seq2Seq(config)


def config_from_dict(data: Any) -> ModelConfig:
    if isinstance(data, dict) and "toolkit" in data:
        return ForeignConfig.from_dict(data)
    return ModelConfig.from_dict(data)


def tokenizer_from_dict(spec: dict[str, Any]) -> Tokenizer:
    if "scheme" in spec:
        return ForeignTokenizer.from_dict(spec)
    return Tokenizer(kind=spec.get("kind", "word"), lowercase=bool(spec.get("lowercase", True)))
