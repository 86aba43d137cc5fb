"""ForeignTokenizer: each toolkit's own pre-processing and splitting, so imported models read text as trained.

scheme "joeynmt": JoeyNMT's BasicTokenizer (optional NFKC `normalize`, `lowercase`, then split on
single spaces, or characters with "▁" for spaces at level char); the source gets "<eos>" appended,
as JoeyNMT appends </s> to every source sentence.
scheme "opennmt-py": strip, then split on single spaces (OpenNMT-py without tokenising transforms; also the
nn.Transformer tutorial's models, read as pre-tokenised text, with <bos> before and <eos> after the source).
scheme "pytorch-tutorial": the tutorial's normalizeString (ASCII-fold, lowercase, punctuation
handling), split on spaces; the source gets "<eos>" (the tutorial's EOS) appended.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from models.hygiene import clean_text
from models.tokens import BOS, EOS, SPACE_MARK, Tokenizer

SCHEMES = ("joeynmt", "opennmt-py", "pytorch-tutorial")


@dataclass(frozen=True)
class ForeignTokenizer(Tokenizer):
    scheme: str = "opennmt-py"
    normalize: bool = False
    append_eos: bool = False  # the toolkit appends its end-of-sentence token to the source
    prepend_bos: bool = False  # ... and puts its start token before it (the nn.Transformer tutorial)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scheme not in SCHEMES:
            raise ValueError(f"tokenizer scheme must be one of {SCHEMES}, got {self.scheme!r}")

    def tokenize(self, text: str) -> list[str]:
        tokens = self._split(clean_text(text))  # no escape sequences; control characters as spaces
        if not any(tokens):
            return []
        tokens = [BOS, *tokens] if self.prepend_bos else tokens
        return tokens + [EOS] if self.append_eos else tokens

    def _split(self, text: str) -> list[str]:
        if self.scheme == "pytorch-tutorial":
            text = tutorial_normalize(text) if self.normalize else text.strip()
            return text.split(" ") if text else []
        if self.scheme == "opennmt-py":
            text = text.strip()
            return text.split(" ") if text else []
        return joey_split(text, self.kind, self.lowercase, self.normalize)

    def detokenize(self, tokens: Sequence[str]) -> str:
        text = "".join(tokens).replace(SPACE_MARK, " ") if self.kind == "char" else " ".join(tokens)
        return joey_remove_extra_spaces(text) if self.scheme == "joeynmt" and self.normalize else text

    def to_dict(self) -> dict[str, object]:
        spec = {**super().to_dict(), "scheme": self.scheme, "normalize": self.normalize, "append_eos": self.append_eos}
        return {**spec, "prepend_bos": True} if self.prepend_bos else spec

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> ForeignTokenizer:
        return cls(
            kind=str(spec.get("kind", "word")),
            lowercase=bool(spec.get("lowercase", False)),
            scheme=str(spec.get("scheme")),
            normalize=bool(spec.get("normalize", False)),
            append_eos=bool(spec.get("append_eos", False)),
            prepend_bos=bool(spec.get("prepend_bos", False)),
        )


def tutorial_normalize(s: str) -> str:
    """The tutorial's normalizeString: unicodeToAscii(lower, strip), space before .!?, non-letters to spaces."""
    s = "".join(c for c in unicodedata.normalize("NFD", s.lower().strip()) if unicodedata.category(c) != "Mn")
    s = re.sub(r"([.!?])", r" \1", s)
    s = re.sub(r"[^a-zA-Z!?]+", r" ", s)
    return s.strip()


def joey_split(text: str, level: str, lowercase: bool, normalize: bool) -> list[str]:
    """JoeyNMT 2.3 BasicTokenizer.pre_process + __call__ (pretokenizer none)."""
    if normalize:
        text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("“", '"').replace("”", '"')
        text = joey_remove_extra_spaces(text)
    if lowercase:
        text = text.lower()
    if not text.strip():
        return []
    return text.split(" ") if level == "word" else list(text.replace(" ", SPACE_MARK))


def joey_remove_extra_spaces(s: str) -> str:
    s = re.sub("\u200b", "", s)
    s = re.sub("[ 　]+", " ", s)
    for mark in "?!,.:":
        s = s.replace(" " + mark, mark)
    return s.strip()
