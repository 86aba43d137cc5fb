"""Opening a model folder (a Hugging Face save_pretrained folder) from File ▸ Open model folder…, by dropping it on
the window and with `main.py --model DIR`; the model panel lists a transformer's layers, heads, d_model,
vocabularies, tokenizer and attention implementation, as the model's describe() gives them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget
from pytestqt.qtbot import QtBot

from engine import InferenceSession
from gui.app import SCREENSHOT_SIZES, create_window
from gui.window.main_window import MainWindow
from main import main
from tests.test_gui_app import DECODE_TIMEOUT_MS, _dispose
from tests.test_hostile_files import _drop

pytest.importorskip("transformers", reason="the [hf] extra is not installed")  # .ci/run installs it

from hf_fixtures import tiny_marian  # noqa: E402  (needs transformers)

TRANSFORMER_ROWS = [
    "Device",
    "Architecture",
    "Attention",
    "Implementation",
    "Query",
    "Layers",
    "Heads",
    "d_model",
]
VOCABULARY_ROWS = ["Parameters", "Source vocab.", "Target vocab.", "Tokeniser"]


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_marian(tmp_path_factory.mktemp("hf") / "opus-mt-tiny")


@pytest.fixture
def window_on(qtbot: QtBot, tmp_path: Path) -> Iterator[Callable[[Path], MainWindow]]:
    """Factory: a window opened on a model, its first decode finished."""
    windows: list[MainWindow] = []

    def make(model: Path) -> MainWindow:
        window = create_window(tmp_path / "settings", model, "w1 w2 w3")
        windows.append(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
        return window

    yield make
    for window in windows:
        _dispose(window)


def _labels(window: MainWindow) -> list[str]:
    return [label for label, _ in window.model_panel.rows()]


def test_file_menu_opens_a_model_folder(
    qtbot: QtBot,
    window_on: Callable[[Path], MainWindow],
    tiny_model_path: Path,
    marian: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = window_on(tiny_model_path)  # an RNN
    rnn_model = window.model_path
    asked: list[tuple[str, QFileDialog.Option]] = []

    def choose(parent: QWidget, caption: str, start: str, options: QFileDialog.Option) -> str:
        asked.append((start, options))
        return str(marian)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)  # the folder dialog, answered
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QMenu)
    action = next(a for a in file_menu.actions() if a.text() == "Open model &folder…")
    with qtbot.waitSignal(window.controller.model_loaded, timeout=DECODE_TIMEOUT_MS):
        action.trigger()
    assert asked == [(str(Path(rnn_model).parent), QFileDialog.Option.ShowDirsOnly)]  # it starts beside the last
    assert window.model_path == str(marian) and window.windowTitle() == "attnscope — opus-mt-tiny"
    qtbot.waitUntil(lambda: window.heads.grid.layout_shape == (2, 4), timeout=DECODE_TIMEOUT_MS)
    # The panel lists the transformer's rows only: none of the RNN's is left over.
    assert "Bidirectional" not in _labels(window) and "Hidden size" not in _labels(window)


def test_panel_shows_a_hugging_face_transformer(window_on: Callable[[Path], MainWindow], marian: Path) -> None:
    window = window_on(marian)
    config = json.loads((marian / "config.json").read_text("utf-8"))
    description = InferenceSession.open(marian, "cpu").info().description
    panel = window.model_panel
    assert _labels(window) == [*TRANSFORMER_ROWS, *VOCABULARY_ROWS]
    assert panel.value("architecture") == "Hugging Face marian (its own code)"
    assert panel.value("attn_implementation") == "eager"
    assert (
        panel.value("layers") == f"{config['encoder_layers']} enc / {config['decoder_layers']} dec" == "2 enc / 2 dec"
    )
    assert panel.value("heads") == str(config["decoder_attention_heads"]) == "4"
    assert panel.value("d_model") == str(config["d_model"]) == "16"
    # Every piece of the model's vocabulary, plus attnscope's <bos> (Marian starts from <pad>).
    assert panel.value("src_vocab") == panel.value("tgt_vocab") == str(config["vocab_size"] + 1)
    assert panel.value("tokenizer") == "TokenizersBackend (WordLevel)"  # the class transformers gives, its pieces
    for key, value in description.items():
        assert panel.value(key) == (f"{value:,}" if isinstance(value, int) else str(value))


def test_panel_shows_our_own_transformer(window_on: Callable[[Path], MainWindow], tiny_transformer_path: Path) -> None:
    window = window_on(tiny_transformer_path)
    panel = window.model_panel
    assert _labels(window) == [*TRANSFORMER_ROWS, "Feed-forward", *VOCABULARY_ROWS]
    assert panel.value("architecture") == "transformer (post-LN, sinusoidal positions)"
    assert panel.value("attn_implementation") == "eager: attnscope's own, in plain torch"
    assert (panel.value("layers"), panel.value("heads"), panel.value("d_model")) == ("1 enc / 2 dec", "4", "16")
    assert panel.value("feed-forward") == "32" and panel.value("tokenizer") == "word"
    vocab = InferenceSession.open(tiny_transformer_path, "cpu").checkpoint.src_vocab
    assert panel.value("src_vocab") == panel.value("tgt_vocab") == str(len(vocab)) == "17"


def test_dropping_a_folder_opens_it_and_one_without_a_model_says_so(
    qtbot: QtBot,
    window_on: Callable[[Path], MainWindow],
    tiny_model_path: Path,
    marian: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = window_on(tiny_model_path)
    with qtbot.waitSignal(window.controller.model_loaded, timeout=DECODE_TIMEOUT_MS):
        _drop(window, marian, monkeypatch)  # a drag enter, accepted, then the drop
    assert window.model_path == str(marian)
    photos = tmp_path / "holiday photos"
    photos.mkdir()
    (photos / "notes.txt").write_text("no model here", "utf-8")
    with qtbot.waitSignal(window.controller.model_load_failed, timeout=DECODE_TIMEOUT_MS):
        _drop(window, photos, monkeypatch)
    text = window.banner.text()
    assert window.banner.isVisible() and window.banner.level == "error"
    assert text.startswith("Could not open holiday photos:") and "not a model directory" in text, text
    assert text.endswith("Still using opus-mt-tiny.") and window.model_path == str(marian)


def test_main_opens_a_model_folder(qtbot: QtBot, marian: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    assert main(["--model", str(marian), "--screenshot", str(out), "--settings-dir", str(tmp_path / "s")]) == 0
    assert (QImage(str(out)).width(), QImage(str(out)).height()) == SCREENSHOT_SIZES["inspector"]
    no_model = [
        "--model",
        str(tmp_path),
        "--screenshot",
        str(tmp_path / "no.png"),
        "--settings-dir",
        str(tmp_path / "s"),
    ]
    assert main(no_model) == 2  # a folder without a model
    assert not (tmp_path / "no.png").exists()


def test_tokenizer_kind_names_the_pieces() -> None:
    from models.hf.adapter import tokenizer_name

    class MarianTokenizer:  # a slow SentencePiece tokenizer, as transformers makes one from source.spm
        spm_source = object()

    class Custom:
        pass

    assert tokenizer_name(MarianTokenizer()) == "MarianTokenizer (SentencePiece)"
    assert tokenizer_name(Custom()) == "Custom"
