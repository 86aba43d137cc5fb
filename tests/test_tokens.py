"""Tokenisers keep Devanagari syllables whole and split punctuation; vocabularies report unknowns."""

from __future__ import annotations

import pytest

from models import EOS_ID, SPECIALS, Tokenizer, Vocab
from models.tokens import UNK_ID, char_tokenize, word_tokenize


def test_devanagari_vowel_signs_and_virama_stay_attached() -> None:
    assert word_tokenize("लाइट बंद करो") == ["लाइट", "बंद", "करो"]
    assert word_tokenize("क्या आप खिड़की खोलेंगे?") == ["क्या", "आप", "खिड़की", "खोलेंगे", "?"]


def test_punctuation_is_split_off() -> None:
    assert word_tokenize("Turn off the lights, please!") == ["Turn", "off", "the", "lights", ",", "please", "!"]
    assert word_tokenize("लाइट बंद करो।") == ["लाइट", "बंद", "करो", "।"]


def test_decomposed_input_is_normalised() -> None:
    decomposed = "खिड\u093cकी"  # ड + nukta as two code points
    assert word_tokenize(decomposed) == ["खिड़की"]


def test_control_characters_and_extra_spaces_are_dropped() -> None:
    assert word_tokenize("turn\u200b off\t the\x00 lights  ") == ["turn", "off", "the", "lights"]


def test_char_tokenizer_marks_spaces_and_keeps_syllables() -> None:
    assert char_tokenize("23 nov") == ["2", "3", "▁", "n", "o", "v"]
    assert char_tokenize("करो") == ["क", "रो"]
    tok = Tokenizer(kind="char")
    assert tok.detokenize(tok.tokenize("23rd of November")) == "23rd of november"


def test_vocab_specials_unknowns_and_decode() -> None:
    vocab = Vocab.build([["b", "a", "a"], ["c"]])
    assert vocab.itos[:4] == SPECIALS and vocab.itos[4] == "a"
    assert vocab.encode(["a", "zzz"]) == [4, UNK_ID]
    assert vocab.unknown(["a", "zzz", "c", "qq"]) == [1, 3]
    assert vocab.decode([4, 5, EOS_ID, 6]) == ["a", "b"]


def test_vocab_rejects_bad_tables() -> None:
    with pytest.raises(ValueError):
        Vocab(("a", "b"))
    with pytest.raises(ValueError):
        Vocab((*SPECIALS, "x", "x"))
