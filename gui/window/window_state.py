"""What comes back at the next start: window geometry and docks, look, decoding options, last inputs."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt

from engine import MAX_SOURCE_CHARS
from gui.files.settings_store import SettingsStore
from gui.panels.controls_panel import DEVICES, STRATEGIES
from gui.panels.transport_bar import MAX_DELAY_MS
from gui.style.theme import THEMES, ZOOM_RANGE
from gui.window.main_window import MainWindow
from gui.window.screen_fit import fit_to_screen

FIRST_SIZE = QSize(1500, 950)


def restore_window_state(window: MainWindow, store: SettingsStore) -> None:
    """Everything but the theme/zoom (read before the window is built) and the model (the app loads it)."""
    geometry, state = store.get_bytes("window/geometry"), store.get_bytes("window/state")
    if geometry is None or not window.restoreGeometry(geometry):
        _first_size(window)
    if state is not None:
        window.layout_restored = window.restoreState(state)
    fit_to_screen(window)
    c = window.controls
    c.blockSignals(True)  # one decode after the model loads, not one per restored option
    c.set_strategy(store.get_choice("decode/strategy", tuple(n for n, _ in STRATEGIES), "greedy"))
    c.beam_width.setValue(store.get_int("decode/beam_width", c.beam_width.value(), 1, c.beam_width.maximum()))
    c.max_len.setValue(store.get_int("decode/max_len", 0, 0, c.max_len.maximum()))
    c.temperature.setValue(store.get_float("decode/temperature", 1.0, 0.05, 5.0))
    c.seed.setValue(store.get_int("decode/seed", 0, 0))
    c.set_device(store.get_choice("decode/device", DEVICES, "auto"))
    c.blockSignals(False)
    window.source_panel.set_reference_visible(c.strategy_name() == "forced")
    window.transport.set_delay_seconds(store.get_float("decode/delay", 0.0, 0.0, MAX_DELAY_MS / 1000))
    window.transport.transpose.setChecked(store.get_str("view/transposed", "false") == "true")
    mode_index = window.transport.mode.findData(store.get_choice("view/mode", ("alpha", "scores"), "alpha"))
    window.transport.mode.setCurrentIndex(max(mode_index, 0))
    window.menus.fill_recent(store.recent_files())
    window.other_theme = store.get_choice("view/presentation_theme", tuple(THEMES), window.other_theme)


def _first_size(window: MainWindow) -> None:
    """Room for every panel: FIRST_SIZE where the screen has it, else the whole screen (maximised)."""
    screen = window.screen().availableGeometry().size()
    window.resize(FIRST_SIZE.boundedTo(screen * 0.9))
    if screen.width() < FIRST_SIZE.width() / 0.9 or screen.height() < FIRST_SIZE.height() / 0.9:
        window.setWindowState(Qt.WindowState.WindowMaximized)


def stored_look(store: SettingsStore) -> tuple[str, float]:
    """(theme, zoom) as last used."""
    return store.get_choice("view/theme", tuple(THEMES), "light"), store.get_float("view/zoom", 1.0, *ZOOM_RANGE)


def stored_inputs(store: SettingsStore) -> tuple[str, str, str]:
    """(model path, source, reference) as last used; empty strings when never saved."""
    return store.get_str("inputs/model"), store.get_str("inputs/source"), store.get_str("inputs/target")


def save_window_state(window: MainWindow, store: SettingsStore) -> bool:
    """Write everything restore_window_state and stored_inputs read; False when the ini could not be written.

    In presentation mode the layout (docks hidden, full screen) is not the one to come back to: it is left as saved.
    """
    if not window.presenting:
        store.set("window/geometry", window.saveGeometry())
        store.set("window/state", window.saveState())
    store.set("view/theme", window.desk_theme())
    store.set("view/presentation_theme", window.presentation_theme())
    store.set("view/zoom", window.zoom)
    store.set("view/transposed", "true" if window.transport.transpose.isChecked() else "false")
    store.set("view/mode", window.transport.heatmap_mode())
    for key, value in window.controls.options().items():
        store.set(f"decode/{key}", value)
    store.set("decode/device", window.controls.device.currentText())
    store.set("decode/delay", window.transport.delay_seconds())
    # Cut where the engine cuts them: an editor holding megabytes would make an ini the next start refuses.
    store.set("inputs/source", window.source_panel.source_text()[:MAX_SOURCE_CHARS])
    store.set("inputs/target", window.source_panel.target_text()[:MAX_SOURCE_CHARS])
    if window.model_path:
        store.set("inputs/model", window.model_path)
    return store.sync()
