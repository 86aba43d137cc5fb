"""Other toolkits' RNN attention models, run in attnscope with their own equations.

`tokenizer_from_dict` is what models.checkpoint uses to rebuild a converted file's tokenizers: one
with a "scheme" key is foreign, anything else native. Configs are told apart in models.registry.
"""

from __future__ import annotations

from typing import Any

from models.foreign.config import ForeignConfig
from models.foreign.model import ForeignMemory, ForeignSeq2Seq
from models.foreign.tokenizer import ForeignTokenizer
from models.tokens import Tokenizer

__all__ = [
    "ForeignConfig",
    "ForeignMemory",
    "ForeignSeq2Seq",
    "ForeignTokenizer",
    "tokenizer_from_dict",
]


def tokenizer_from_dict(spec: dict[str, Any]) -> Tokenizer:
    if "scheme" in spec:
        return ForeignTokenizer.from_dict(spec)
    return Tokenizer(kind=spec.get("kind", "word"), lowercase=bool(spec.get("lowercase", True)))
