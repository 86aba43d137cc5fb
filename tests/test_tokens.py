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


ANSI = {
    "CSI colour": ("turn off the \x1b[31mlights\x1b[0m", ["turn", "off", "the", "lights"]),
    "8-bit CSI": ("turn \x9b1;2Hoff", ["turn", "off"]),
    "OSC title (BEL)": ("\x1b]0;pwned\x07turn off", ["turn", "off"]),
    "OSC hyperlink (ST)": ("\x1b]8;;http://x\x1b\\turn\x1b]8;;\x1b\\ off", ["turn", "off"]),
    "two-byte escapes": ("\x1bcturn \x1b(Boff", ["turn", "off"]),
    "other controls": ("turn\x00off\x07the\x7flights\x85now", ["turn", "off", "the", "lights", "now"]),
}


@pytest.mark.parametrize("name", list(ANSI))
def test_escape_sequences_are_removed_whole_before_tokenising(name: str) -> None:
    text, words = ANSI[name]
    assert Tokenizer(lowercase=False).tokenize(text) == words
    assert Tokenizer(kind="char").tokenize(text) == list("▁".join(words))


def test_foreign_tokenisers_read_cleaned_text_too() -> None:
    from models.foreign import ForeignTokenizer

    for scheme in ("joeynmt", "opennmt-py", "pytorch-tutorial"):
        tok = ForeignTokenizer(kind="word", scheme=scheme)
        assert tok.tokenize("turn off the \x1b[31mlights") == ["turn", "off", "the", "lights"], scheme


def test_messages_show_long_tokens_cut_with_their_length() -> None:
    from models import printable_message, shown_token, shown_value

    token = "x" * 120_000
    shown = shown_token(token)
    assert shown.startswith("xxxxxxxx") and shown.endswith("… (120,000 characters)") and len(shown) < 60
    assert shown_token("\x1b[31mlights") == "lights"
    assert shown_value("\x1b[2Jtext\n") == "'text '"
    assert printable_message("bad\x1b[31m file\n\tnamed\x07 x" + "y" * 1000).startswith("bad file named x")
    assert len(printable_message("y" * 1000)) == 600
