"""Hostile source text: a clear InputError or a sensible decode, never a crash, in the engine, the CLI and the
source editor; the source-length limit is configurable and the note names the limit in force."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from engine import DecodeRequest, DecodeResult, InferenceSession, InputError, inspect_cli
from engine.decoding.inputs import MAX_SOURCE_TOKENS
from gui.app import create_window, parse_args
from gui.files.settings_store import SettingsStore
from gui.window.main_window import MainWindow
from models import MAX_SOURCE_CHARS, Tokenizer
from tests.fakes import alpha_of
from tests.test_gui_app import DECODE_TIMEOUT_MS, _dispose

TEN_THOUSAND_WORDS = " ".join(f"w{i % 12}" for i in range(10_000))

# name: (source, the InputError it must raise, or None for a decode)
TEXTS: dict[str, tuple[str, str | None]] = {
    "empty": ("", "empty"),
    "whitespace only": (" \t\n\u3000\u00a0\u2028 ", "empty"),
    "control and format characters only": ("\x00\x01\x1b\x7f\u200b\ufeff\u202e", "empty"),
    "control characters inside": ("w1\x00w2\x07 w3\x1b[31m\r\n", None),
    "right-to-left": ("שלום עולם مرحبا بالعالم", None),
    "bidi overrides around known words": ("w1 \u202ew2\u202c \u2067w3\u2069", None),
    "combining characters": ("w\u0301 e\u0301\u0302\u0303 \u0301\u0301 w2", None),
    "emoji": ("w1 😀 👨‍👩‍👧 🏳️‍🌈 w2 🇮🇳", None),
    "all unknown words": ("foo bar baz qux", None),
    "10,000 words": (TEN_THOUSAND_WORDS, None),
}
LIMIT = 50  # the GUI window's configured --max-source-tokens


@pytest.fixture(scope="module")
def session(tiny_model_path: Path) -> InferenceSession:
    torch.set_num_threads(1)
    return InferenceSession.open(tiny_model_path, "cpu")


def check_decode(result: DecodeResult) -> None:
    """What every successful decode must be: one α row per output token, over exactly the tokens read."""
    assert alpha_of(result).shape == (len(result.output_tokens), len(result.source_tokens))
    np.testing.assert_allclose(alpha_of(result).sum(axis=1), 1.0, rtol=1e-5)
    assert all(t and t.isprintable() for t in result.source_tokens), result.source_tokens
    assert isinstance(result.text, str)


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_engine_answers_every_text(session: InferenceSession, name: str) -> None:
    source, error = TEXTS[name]
    if error is not None:
        with pytest.raises(InputError, match=error):
            session.run(DecodeRequest(1, source))
        return
    result = session.run(DecodeRequest(1, source))
    check_decode(result)
    if name == "control characters inside":
        assert result.source_tokens[:3] == ("w1", "w2", "w3")
    if name == "bidi overrides around known words":
        assert result.source_tokens == ("w1", "w2", "w3") and result.unknown_positions == ()
    if name in ("right-to-left", "all unknown words", "emoji"):
        assert result.unknown_positions and any("Not in the source vocabulary" in m for m in result.messages)
    if name == "all unknown words":
        assert result.unknown_positions == (0, 1, 2, 3)
    if name == "10,000 words":
        limit = MAX_SOURCE_TOKENS  # the engine's default
        assert len(result.source_tokens) == limit
        assert any(f"10,000 tokens, more than the limit of {limit:,}" in m for m in result.messages), result.messages


def test_undecodable_bytes_are_an_input_error(session: InferenceSession) -> None:
    """A command line with bytes that are not UTF-8 arrives as lone surrogates: refused before any export breaks."""
    with pytest.raises(InputError, match="U\\+DCFF at position 3"):
        session.run(DecodeRequest(1, "w1 \udcff w2"))
    with pytest.raises(InputError, match="reference"):
        session.run(DecodeRequest(1, "w1", strategy="forced", target="W1 \ud800"))


def test_inspect_limit_is_configurable(tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "long.json"
    args = ["--model", str(tiny_model_path), "--device", "cpu", "--source", TEN_THOUSAND_WORDS, "--out", str(out)]
    assert inspect_cli.main([*args, "--max-source-tokens", "25"]) == 0
    assert len(json.loads(out.read_text())["source_tokens"]) == 25
    assert "more than the limit of 25 (--max-source-tokens): only the first 25" in capsys.readouterr().err
    assert inspect_cli.main([*args, "--max-source-tokens", "0"]) == 2
    assert "--max-source-tokens must be at least 1" in capsys.readouterr().err
    assert inspect_cli.main(["--model", str(tiny_model_path), "--source", "w1 \udcff", "--device", "cpu"]) == 2
    assert "not valid text" in capsys.readouterr().err


def test_gui_limit_option_is_checked() -> None:
    assert parse_args(["--max-source-tokens", "50"]).max_source_tokens == 50
    for bad in ("0", "-3", "x", "100001"):
        with pytest.raises(SystemExit):
            parse_args(["--max-source-tokens", bad])


def test_gui_limit_from_the_settings(qtbot: QtBot, tiny_model_path: Path, tmp_path: Path) -> None:
    """Without --max-source-tokens the window reads limits/max_source_tokens from the ini."""
    store = SettingsStore(tmp_path / "settings")
    store.set("limits/max_source_tokens", 7)
    assert store.sync()
    win = create_window(tmp_path / "settings", tiny_model_path, " ".join(["w1"] * 20))
    try:
        qtbot.waitUntil(lambda: win.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
        result = win.flow.result
        assert result is not None and len(result.source_tokens) == 7
        assert "limit of 7 (--max-source-tokens)" in win.statusBar().currentMessage()
    finally:
        _dispose(win)


@pytest.fixture
def window(qtbot: QtBot, tiny_model_path: Path, tmp_path: Path) -> Iterator[MainWindow]:
    win = create_window(tmp_path / "settings", tiny_model_path, "w1 w2", max_source_tokens=LIMIT)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
    yield win
    _dispose(win)


def paste(qtbot: QtBot, window: MainWindow, text: str) -> DecodeResult | str:
    """Put `text` in the source editor as a paste would; the DecodeResult, or the error the window shows."""
    ended: list[DecodeResult | str] = []

    def on_end(outcome: DecodeResult | str) -> None:
        ended.append(outcome)

    window.flow.finished.connect(on_end)
    window.flow.failed.connect(on_end)
    try:
        window.source_panel.source_edit.setPlainText(text)
        qtbot.waitUntil(lambda: bool(ended) and not window.flow.busy, timeout=DECODE_TIMEOUT_MS)
    finally:
        window.flow.finished.disconnect(on_end)
        window.flow.failed.disconnect(on_end)
    assert len(ended) == 1, ended  # one request, one answer
    return ended[0]


@pytest.mark.parametrize("name", sorted(n for n, (text, _) in TEXTS.items() if text.strip()))
def test_source_editor_answers_every_text(qtbot: QtBot, window: MainWindow, name: str) -> None:
    source, error = TEXTS[name]
    outcome = paste(qtbot, window, source)
    if error is not None:
        assert isinstance(outcome, str) and error in outcome
        assert window.banner.isVisible() and error in window.banner.text()
    else:
        assert isinstance(outcome, DecodeResult), outcome
        check_decode(outcome)
        np.testing.assert_array_equal(window.heatmap.image_data(), outcome.alpha)
        assert window.heatmap.axis_labels()[0] == list(outcome.source_tokens)
    if name == "10,000 words":
        assert isinstance(outcome, DecodeResult) and len(outcome.source_tokens) == LIMIT
        shown = window.statusBar().currentMessage()
        assert f"limit of {LIMIT} (--max-source-tokens): only the first {LIMIT} were used" in shown
    assert window.source_panel.source_text().strip()  # the input stays, even when refused
    normal = paste(qtbot, window, "w3 w4")  # and the window carries on
    assert isinstance(normal, DecodeResult) and normal.source_tokens == ("w3", "w4")


def test_clearing_to_whitespace_clears_the_views(qtbot: QtBot, window: MainWindow) -> None:
    """Empty or blank text is not sent to the engine at all: the views clear and the placeholder shows."""
    for text in ("", "  \n\t "):
        window.source_panel.source_edit.setPlainText(text)
        qtbot.waitUntil(lambda: window.flow.result is None, timeout=DECODE_TIMEOUT_MS)
        assert window.heatmap.image_data().size == 0 and not window.banner.isVisible()
    assert window.source_panel.source_edit.placeholderText()


def type_keys(widget: QWidget, text: str) -> None:
    """One key press per character, carrying the character as its text (QTest.keyClicks aborts beyond Latin-1)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def test_emoji_and_rtl_typed_key_by_key(qtbot: QtBot, window: MainWindow) -> None:
    editor = window.source_panel.source_edit
    editor.clear()
    expected = ("w1", "مرحبا", "😀", "w2")
    with qtbot.waitSignal(
        window.controller.decode_finished,
        timeout=DECODE_TIMEOUT_MS,
        check_params_cb=lambda r: r.source_tokens == expected,
    ) as blocker:
        type_keys(editor, "w1 مرحبا 😀 w2")
    result = blocker.args[0]
    assert result.unknown_positions == (1, 2)
    qtbot.waitUntil(lambda: window.source_panel.unknown_label.isVisible())
    assert window.source_panel.unknown_label.text() == "unknown: مرحبا, 😀"
    assert window.source_panel.source_text() == "w1 مرحبا 😀 w2"


def test_an_ansi_escape_is_removed_whole(session: InferenceSession, tiny_model_path: Path) -> None:
    result = session.run(DecodeRequest(1, "w1 \x1b[31mw2\x1b[0m w3"))
    assert result.source_tokens == ("w1", "w2", "w3") and result.unknown_positions == ()
    shipped = InferenceSession.open(
        Path(__file__).resolve().parent.parent / "resources/models/en_hi_bahdanau.safetensors"
    )
    lights = shipped.run(DecodeRequest(1, "turn off the \x1b[31mlights"))
    assert lights.source_tokens == ("turn", "off", "the", "lights") and lights.text == "लाइट बंद करो"


def test_a_120_kb_token_is_cut_in_the_note(session: InferenceSession) -> None:
    token = "q" * 120_000
    result = session.run(DecodeRequest(1, "w1 " + token))
    assert result.source_tokens[0] == "w1" and len(result.source_tokens[1]) == MAX_SOURCE_CHARS - 3
    note = next(m for m in result.messages if "Not in the source vocabulary" in m)
    assert f"… ({MAX_SOURCE_CHARS - 3:,} characters)" in note and len(note) < 120
    cut = next(m for m in result.messages if "characters, more than the limit" in m)
    assert cut == (
        f"The source has 120,003 characters, more than the limit of {MAX_SOURCE_CHARS:,}: "
        f"only the first {MAX_SOURCE_CHARS:,} were read."
    )


def test_a_huge_source_is_cut_before_it_is_tokenised(
    session: InferenceSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    kind = type(session.checkpoint.src_tokenizer)
    tokenize = kind.tokenize

    def spy(self: Tokenizer, text: str) -> list[str]:
        seen.append(len(text))
        return tokenize(self, text)

    monkeypatch.setattr(kind, "tokenize", spy)
    result = session.run(DecodeRequest(1, "w1 w2 " * 2_000_000))  # 12 MB
    assert seen and max(seen) == MAX_SOURCE_CHARS
    assert len(result.source_tokens) == MAX_SOURCE_TOKENS
    with pytest.raises(InputError, match="reference has 12,000,000 characters"):
        session.run(DecodeRequest(1, "w1", strategy="forced", target="W1 W2 " * 2_000_000))


def test_messages_carry_no_escape_sequences(
    session: InferenceSession, tiny_model_path: Path, capsys: pytest.CaptureFixture
) -> None:
    result = session.run(DecodeRequest(1, "w1 \x1b]0;evil\x07zz\x1b[5m"))
    assert result.source_tokens == ("w1", "zz") and all("\x1b" not in m and "\x07" not in m for m in result.messages)
    with pytest.raises(InputError) as info:
        session.run(DecodeRequest(1, "w1", strategy="\x1b[2Jgreedy"))
    assert "\x1b" not in str(info.value) and "'greedy'" in str(info.value)
    with pytest.raises(InputError) as info:
        session.run(DecodeRequest(1, "w1 w2", perturb="replace", perturb_with="\x1b[1mw3 w4"))
    assert "\x1b" not in str(info.value) and "'w3 w4'" in str(info.value)
    args = ["--model", str(tiny_model_path), "--device", "cpu", "--source", "w1 \x1b[31mqq\x1b[0m"]
    assert inspect_cli.main(args) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "qq" in captured.err
