"""Nothing lost: exports and the settings file are replaced atomically (an interrupted write leaves the old file
whole), the session autosaves about a second after a change, and it all comes back after the process is killed."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.app import create_window
from gui.files.settings_store import SettingsStore
from gui.window.autosave import AUTOSAVE_MS, SessionAutosave
from gui.window.main_window import MainWindow
from tests.test_gui_app import DECODE_TIMEOUT_MS, REPO, _dispose, make_window, type_source  # noqa: F401 (a fixture)

CHILD_TIMEOUT_S = 120


def test_settings_file_is_replaced_never_rewritten_in_place(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.set("inputs/source", "first")
    assert store.sync()
    ini = Path(store.path)
    before = ini.stat().st_ino
    store.set("inputs/source", "second " * 2000)
    assert store.sync()
    assert ini.stat().st_ino != before  # a new file renamed over the old: a reader sees one or the other, never half
    assert [p.name for p in tmp_path.iterdir()] == ["attnscope.ini"]  # no temporary or lock file left behind
    assert SettingsStore(tmp_path).get_str("inputs/source") == "second " * 2000


EXPORT_SUFFIXES = ("png", "svg", "csv", "npz", "json")


def test_an_interrupted_export_keeps_the_previous_file(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_window()
    out = tmp_path / "exports"
    out.mkdir()
    for suffix in EXPORT_SUFFIXES:
        assert window.export_to(out / f"a.{suffix}"), window.banner.text()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    type_source(qtbot, window, "w9 w8 w7 w6 w5")  # new content that must not land half-written

    def power_cut(*_: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("models.atomic.os.replace", power_cut)  # every export fails at the very last step
    for suffix in EXPORT_SUFFIXES:
        assert not window.export_to(out / f"a.{suffix}")
        assert window.banner.text() == f"Could not write {out / f'a.{suffix}'}: No space left on device"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old files intact, no temporary files left
    monkeypatch.undo()
    assert window.export_to(out / "a.png") and (out / "a.png").read_bytes() != before["a.png"]


def _saved_source(settings: Path) -> str:
    """What a fresh reader finds on disk now."""
    return SettingsStore(settings).get_str("inputs/source")


def _window_settled(
    qtbot: QtBot, make: Callable[..., MainWindow], settings: Path
) -> tuple[MainWindow, SessionAutosave]:
    """A window on `settings` (from the make_window fixture) and its autosave, once the save after start-up is done."""
    window = make(settings=settings)
    autosave = window.findChild(SessionAutosave)
    assert autosave is not None
    qtbot.waitUntil(lambda: not autosave.pending, timeout=5 * AUTOSAVE_MS)
    return window, autosave


def test_autosave_follows_changes_after_a_quiet_second(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    settings = tmp_path / "autosave"
    window, autosave = _window_settled(qtbot, make_window, settings)
    saves: list[bool] = []
    autosave.saved.connect(saves.append)
    editor = window.source_panel.source_edit
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    started = time.monotonic()
    qtbot.keyClicks(editor, " w9")
    assert autosave.pending and saves == []  # debounced: nothing written while typing
    qtbot.waitUntil(lambda: saves == [True], timeout=5 * AUTOSAVE_MS)
    assert time.monotonic() - started >= AUTOSAVE_MS / 1000 * 0.9
    assert _saved_source(settings) == "w1 w2 w3 w9"
    state = SettingsStore(settings).get_bytes("window/state")
    window.docks[2].hide()  # layout changes are saved too
    qtbot.waitUntil(lambda: len(saves) == 2, timeout=5 * AUTOSAVE_MS)
    assert SettingsStore(settings).get_bytes("window/state") != state
    geometry = SettingsStore(settings).get_bytes("window/geometry")
    window.resize(window.width() + 40, window.height() + 30)  # so is the window's own size
    assert autosave.pending
    qtbot.waitUntil(lambda: len(saves) == 3, timeout=5 * AUTOSAVE_MS)
    assert SettingsStore(settings).get_bytes("window/geometry") != geometry


def test_a_failing_autosave_warns_once(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    settings = tmp_path / "gone"
    window, autosave = _window_settled(qtbot, make_window, settings)
    shutil.rmtree(settings)
    settings.write_text("a file where the settings folder was")  # nothing can be written there now
    for text in (" w4", " w5"):
        with qtbot.waitSignal(autosave.saved, timeout=5 * AUTOSAVE_MS) as blocker:
            qtbot.keyClicks(window.source_panel.source_edit, text)
        assert blocker.args == [False]
    warnings = [text for level, text in window.banner.history if level == "warning"]
    assert warnings == [f"Could not save the session to {settings / 'attnscope.ini'}."]


@pytest.fixture
def child_output() -> Iterator[Callable[[subprocess.Popen[str]], queue.Queue[str]]]:
    """Lines a child process prints, collected on a thread so the test can wait for one with a timeout."""
    threads: list[threading.Thread] = []

    def collect(proc: subprocess.Popen[str]) -> queue.Queue[str]:
        lines: queue.Queue[str] = queue.Queue()
        stdout = proc.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line.strip())

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        threads.append(thread)
        return lines

    yield collect
    for thread in threads:
        thread.join(timeout=5)


def _wait_for(lines: queue.Queue[str], wanted: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=0.5) == wanted:
                return
        except queue.Empty:
            assert proc.poll() is None, f"the app exited early ({proc.returncode}) before printing {wanted}"
    pytest.fail(f"no {wanted} from the app within {CHILD_TIMEOUT_S} s")


def test_session_comes_back_after_sigkill(
    qtbot: QtBot,
    tiny_model_path: Path,
    tmp_path: Path,
    child_output: Callable[[subprocess.Popen[str]], queue.Queue[str]],
) -> None:
    settings, text = tmp_path / "killed", "w9 w8 w7 w6"
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1"}
    app_args = ["--model", str(tiny_model_path), "--settings-dir", str(settings), "--source", "w1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.session_child", text, "--", *app_args],
        cwd=REPO,
        env={**env, "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = child_output(proc)
        _wait_for(lines, "TYPED", proc)
        _wait_for(lines, "SAVED", proc)
    finally:
        proc.send_signal(signal.SIGKILL)  # no closeEvent, no atexit: only what the autosave wrote survives
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    window = create_window(settings)  # no model, no source: everything from the killed session
    try:
        assert window.source_panel.source_text() == text
        assert window.controls.strategy_name() == "beam"
        window.show()
        qtbot.waitExposed(window)
        assert window.docks[2].isVisible() and not window.docks[3].isVisible()  # the top-k panel stayed closed
        with qtbot.waitSignal(window.controller.model_loaded, timeout=DECODE_TIMEOUT_MS) as blocker:
            pass
        assert blocker.args[0].path == str(tiny_model_path) == window.model_path
    finally:
        _dispose(window)
