"""Word- and character-level tokenisers and the vocabulary that maps tokens to ids."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.hygiene import clean_text

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
SPACE_MARK = "▁"  # stands for a space in character-level token lists


def _is_punct(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "PS"


def word_tokenize(text: str) -> list[str]:
    """Split on white space and split punctuation off.

    Combining marks (Devanagari vowel signs, virama, nukta) never start a token:
    they stay attached to the letter before them, so "करो" stays one token.
    """
    tokens: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            _flush(current, tokens)
        elif _is_punct(ch):
            _flush(current, tokens)
            tokens.append(ch)
        else:  # letters, digits and combining marks (category M) build a word
            current.append(ch)
    _flush(current, tokens)
    return tokens


def _flush(current: list[str], tokens: list[str]) -> None:
    if current:
        tokens.append("".join(current))
        current.clear()


def char_tokenize(text: str) -> list[str]:
    """One token per grapheme-ish unit: a base character plus its combining marks."""
    units: list[str] = []
    for ch in unicodedata.normalize("NFC", " ".join(text.split())):
        if units and unicodedata.category(ch)[0] == "M":
            units[-1] += ch
        elif ch.isspace():
            units.append(SPACE_MARK)
        elif unicodedata.category(ch) not in ("Cc", "Cf"):
            units.append(ch)
    return units


@dataclass(frozen=True)
class Tokenizer:
    """A named tokenisation scheme with its inverse."""

    kind: str = "word"  # "word" or "char"
    lowercase: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char"):
            raise ValueError(f"tokenizer kind must be 'word' or 'char', got {self.kind!r}")

    def tokenize(self, text: str) -> list[str]:
        """Tokens of `text`, read without escape sequences and with control characters as spaces."""
        text = clean_text(text)
        text = text.lower() if self.lowercase else text
        return word_tokenize(text) if self.kind == "word" else char_tokenize(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        if self.kind == "char":
            return "".join(" " if t == SPACE_MARK else t for t in tokens)
        return " ".join(tokens)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "lowercase": self.lowercase}


@dataclass(frozen=True)
class Vocab:
    """Token ↔ id table whose first four entries are the special tokens."""

    itos: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.itos[:4]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        if len(set(self.itos)) != len(self.itos):
            raise ValueError("vocabulary has duplicate tokens")
        object.__setattr__(self, "_stoi", {t: i for i, t in enumerate(self.itos)})

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
        counts = Counter(tok for seq in sequences for tok in seq)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t)
        )
        return cls(SPECIALS + tuple(ranked[:max_size]))

    def __len__(self) -> int:
        return len(self.itos)

    def id(self, token: str) -> int:
        stoi: dict[str, int] = self._stoi  # type: ignore[attr-defined]
        return stoi.get(token, UNK_ID)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.id(t) for t in tokens]

    def unknown(self, tokens: Sequence[str]) -> list[int]:
        """Positions of tokens that are not in the vocabulary."""
        return [i for i, t in enumerate(tokens) if self.id(t) == UNK_ID and t != UNK]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens, stopping at <eos> and leaving out <pad>/<bos>."""
        out: list[str] = []
        for i in ids:
            if i == EOS_ID:
                break
            if i not in (PAD_ID, BOS_ID):
                out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out
