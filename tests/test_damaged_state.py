"""State that survives damage: a damaged settings file is moved aside and the app starts with its defaults, saying
so once; a remembered model that has gone or is not a model file gives way to the shipped one, with a note."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.app import DEFAULT_MODEL, DEFAULT_SOURCE, create_window
from gui.files.settings_store import MAX_INI_BYTES, SettingsStore
from gui.window.main_window import MainWindow
from tests.test_gui_app import DECODE_TIMEOUT_MS, REPO, _dispose

GOOD_INI = "[inputs]\nsource=w5 w6\n\n[view]\nzoom=1.3\n"
DAMAGE: dict[str, Callable[[Path], object]] = {
    "garbage": lambda ini: ini.write_bytes(bytes(range(256)) * 40),
    "half garbage": lambda ini: ini.write_bytes(GOOD_INI.encode() + b"\x00\x17\xfe\xff" * 50 + b"\nzoom=3\n"),
    "not an ini": lambda ini: ini.write_text("[inputs]\nsource=w5 w6\nthis line is no setting\n", encoding="utf-8"),
    "oversized": lambda ini: ini.write_text(GOOD_INI + f"[x]\nbig={'w' * MAX_INI_BYTES}\n", encoding="utf-8"),
    "unparsable": lambda ini: ini.write_text("[inputs\nsource=w5 w6\n", encoding="utf-8"),
    "a folder": lambda ini: ini.mkdir(),
    # A link to a pipe of its own, not to a system device: should a regression write through the link, it
    # damages nothing outside the test's folder.
    "a link to a pipe": lambda ini: _link_to_pipe(ini),
}


def _link_to_pipe(ini: Path) -> None:
    os.mkfifo(ini.with_name("pipe"))
    ini.symlink_to(ini.with_name("pipe"))


@pytest.fixture
def windows() -> Iterator[list[MainWindow]]:
    made: list[MainWindow] = []
    yield made
    for window in made:
        _dispose(window)


def start(qtbot: QtBot, windows: list[MainWindow], settings: Path, **kwargs: object) -> MainWindow:
    """The app's window on `settings`, shown, once its first model has loaded."""
    window = create_window(settings, **kwargs)  # type: ignore[arg-type]
    windows.append(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: bool(window.model_path) or bool(window.last_load_error), timeout=DECODE_TIMEOUT_MS)
    return window


def warnings(window: MainWindow) -> list[str]:
    return [text for level, text in window.banner.history if level == "warning"]


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_settings_file_is_moved_aside_and_the_app_starts_with_defaults(
    qtbot: QtBot, windows: list[MainWindow], tiny_model_path: Path, tmp_path: Path, damage: str
) -> None:
    settings = tmp_path / "settings"
    settings.mkdir()
    ini = settings / "attnscope.ini"
    DAMAGE[damage](ini)
    window = start(qtbot, windows, settings, model=tiny_model_path)
    assert window.source_panel.source_text() == DEFAULT_SOURCE and window.zoom == 1.0  # nothing half-read
    assert (settings / "attnscope.ini.bad").exists() or (settings / "attnscope.ini.bad").is_symlink()
    [note] = warnings(window)
    assert note.startswith(f"The settings file {ini} was damaged (") and "moved to attnscope.ini.bad" in note
    assert window.banner.isVisible() and window.banner.text() == note
    _dispose(windows.pop())  # saves a fresh ini: the next start is a quiet one
    assert ini.is_file() and ini.stat().st_size < 100_000
    again = start(qtbot, windows, settings, model=tiny_model_path)
    assert warnings(again) == []


def test_a_settings_fifo_does_not_block_the_start(tmp_path: Path) -> None:
    """Qt reads its ini when the store is made: a FIFO there would wait for a writer for ever."""
    os.mkfifo(tmp_path / "attnscope.ini")
    code = "import sys; from gui.files.settings_store import SettingsStore; print(SettingsStore(sys.argv[1]).notice)"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "(it is not a regular file)" in proc.stdout
    assert (tmp_path / "attnscope.ini.bad").is_fifo()


def test_a_session_whose_autosave_was_cut_short_starts_clean(
    qtbot: QtBot, windows: list[MainWindow], tiny_model_path: Path, tmp_path: Path
) -> None:
    """The autosave writes the same ini: one cut off mid-byte (a full disk, a copy gone wrong) is moved aside."""
    settings = tmp_path / "settings"
    window = start(qtbot, windows, settings, model=tiny_model_path, source="w7 w8 w9")
    _dispose(windows.pop())
    ini = settings / "attnscope.ini"
    data = ini.read_bytes()
    assert b"w7 w8 w9" in data
    ini.write_bytes(data[: len(data) // 2] + "लाइट".encode()[:2])  # ends inside a UTF-8 sequence
    window = start(qtbot, windows, settings, model=tiny_model_path)
    assert window.source_panel.source_text() == DEFAULT_SOURCE
    assert [n for n in warnings(window) if "not UTF-8 text" in n]


def test_a_huge_source_is_saved_cut_at_the_engine_limit(
    qtbot: QtBot, windows: list[MainWindow], tiny_model_path: Path, tmp_path: Path
) -> None:
    """Else an editor holding megabytes would write an ini the next start takes for damage."""
    settings = tmp_path / "settings"
    window = start(qtbot, windows, settings, model=tiny_model_path, source="w1 " * 400_000)
    _dispose(windows.pop())
    assert (settings / "attnscope.ini").stat().st_size < MAX_INI_BYTES
    window = start(qtbot, windows, settings, model=tiny_model_path)
    assert window.source_panel.source_text().startswith("w1 w1") and warnings(window) == []


REMEMBERED = ("missing", "a fifo", "/dev/zero", "a folder that is no model", "not a model file")


def remembered_model(kind: str, folder: Path) -> Path:
    """A path of the given kind, made in `folder`."""
    if kind == "/dev/zero":
        return Path("/dev/zero")
    path = folder / {"missing": "gone", "a fifo": "pipe", "a folder that is no model": "photos"}.get(kind, "notes")
    if kind == "a fifo":
        os.mkfifo(path)
    elif kind == "a folder that is no model":
        path.mkdir()
    elif kind == "not a model file":
        path.write_text("hello", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", REMEMBERED)
def test_a_remembered_model_that_cannot_be_opened_gives_way_to_the_shipped_one(
    qtbot: QtBot, windows: list[MainWindow], tmp_path: Path, kind: str
) -> None:
    settings, remembered = tmp_path / "settings", remembered_model(kind, tmp_path)
    store = SettingsStore(settings)
    store.set("inputs/model", str(remembered))
    store.set("inputs/source", "turn off the lights")
    assert store.sync()
    window = start(qtbot, windows, settings)
    qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
    result = window.flow.result
    assert window.model_path == str(DEFAULT_MODEL) and result is not None and result.text == "लाइट बंद करो"
    [note] = warnings(window)
    assert note.startswith(f"Could not open {remembered.name}: ") and note.endswith(
        f"Opening {DEFAULT_MODEL.name} instead."
    )
    assert [level for level, _ in window.banner.history] == ["warning"]  # a note, not an error
    assert window.heatmap.placeholder() == ""


def test_a_model_asked_for_by_name_is_not_replaced(qtbot: QtBot, windows: list[MainWindow], tmp_path: Path) -> None:
    """--model (or the open dialog) that fails says so; nothing else is opened behind the user's back."""
    window = start(qtbot, windows, tmp_path / "settings", model=tmp_path / "nope.safetensors")
    assert window.model_path == "" and window.banner.level == "error"
    assert window.banner.text().startswith("Could not open nope.safetensors")
    assert window.heatmap.placeholder().startswith("No model loaded")
