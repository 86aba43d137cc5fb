"""Adding the what-if tools to a main window: a "What-if" menu and four docks, hidden until asked for.

    install_whatif_tools(window)

The window must expose `controller` (EngineController), `flow` (DecodeFlow: `finished`,
`submitted_source`), `heatmap` (`step_selected`, `selected_step()`), `menus` (theme / zoom /
presentation actions), `model_path`, `theme_name` and `effective_zoom()`.  The tools follow the
window's decode, theme and zoom, hide in presentation mode, and are torn down when the window
closes (before it stops its engine).  A hidden panel takes the latest decode when it is shown, not
at every decode: filling the four panels costs ~13 ms a decode that no one would see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from engine import DecodeResult
from gui.tools.beam_view import BeamExplorer
from gui.tools.compare_view import CompareView
from gui.tools.perturbation_table import PerturbationPanel
from gui.tools.whatif_panel import WhatIfPanel

TOOLS_OBJECT_NAME = "whatif_tools"


class WhatIfTools(QObject):
    """Owns the tool panels and their docks; a child of the window (find it with `findChild`)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setObjectName(TOOLS_OBJECT_NAME)
        self.window = window
        self._torn_down = False
        theme, zoom = window.theme_name, window.effective_zoom()
        self.whatif = WhatIfPanel(window.controller, window, theme, zoom)
        self.perturbation = PerturbationPanel(window.controller, window, theme, zoom)
        self.beam = BeamExplorer(window.controller, window, theme, zoom)
        self.compare = CompareView(window, theme, zoom)
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = [
            self._dock("What-if: edit attention", self.whatif, right),
            self._dock("What-if: perturb the input", self.perturbation, right),
            self._dock("Beam explorer", self.beam, bottom),
            self._dock("Compare", self.compare, bottom),
        ]
        self._shown: QDockWidget | None = None
        self._pending: dict[QWidget, Callable[[], None]] = {}  # hidden panels: the update they get when shown
        self._tabify(right)
        self.menu_actions = self._build_menu()
        self._wire()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName("whatif_" + title.split(":")[-1].strip().replace(" ", "_").lower())  # for saveState
        dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        dock.hide()
        return dock

    def _tabify(self, right: Qt.DockWidgetArea) -> None:
        """Pairs of tabs; the right pair joins a right-hand dock of the window, so it opens full height."""
        neighbour = next(
            (
                d
                for d in self.window.findChildren(QDockWidget)
                if d not in self.docks and self.window.dockWidgetArea(d) == right
            ),
            None,
        )
        if neighbour is not None:
            self.window.tabifyDockWidget(neighbour, self.docks[0])
        self.window.tabifyDockWidget(self.docks[0], self.docks[1])
        self.window.tabifyDockWidget(self.docks[2], self.docks[3])

    def _build_menu(self) -> list[QAction]:
        menu = self.window.menuBar().addMenu("&What-if")
        actions = []
        for dock, text in zip(
            self.docks,
            ("&Edit attention…", "&Perturb every word…", "&Beam explorer…", "&Compare with another model or input…"),
            strict=True,
        ):
            action = menu.addAction(text)
            action.setData(self.docks.index(dock))
            action.triggered.connect(self._on_show_requested)
            actions.append(action)
        menu.addSeparator()
        for dock in self.docks:
            menu.addAction(dock.toggleViewAction())
        return actions

    def _connections(self) -> list[tuple[Any, Any]]:
        """(window signal, our slot) pairs: connected once, disconnected at teardown."""
        w, m = self.window, self.window.menus
        pairs: list[tuple[Any, Any]] = [
            (w.flow.finished, self.set_result),
            (w.controller.model_loaded, self._on_model_loaded),
            (w.heatmap.step_selected, self._on_step_selected),
            *((dock.visibilityChanged, self._on_dock_visibility) for dock in self.docks),
            (m.presentation.toggled, self._on_presentation),
        ]
        pairs += [(a.triggered, self.apply_look) for a in (*m.themes.values(), m.zoom_in, m.zoom_out, m.zoom_reset)]
        return pairs

    def _wire(self) -> None:
        for signal, slot in self._connections():
            signal.connect(slot)
        self.window.closing.connect(self.teardown)

    # -- following the window ----------------------------------------------------------------
    @Slot(object)
    def set_result(self, result: DecodeResult) -> None:
        """The window's new decode: shown panels take it now, hidden ones when they are shown."""
        if self._torn_down:
            return
        source, path = self.window.flow.submitted_source, self.window.model_path
        updates: dict[QWidget, Callable[[], None]] = {
            self.whatif: lambda: self._whatif_takes(result, source),
            self.perturbation: lambda: self.perturbation.set_original(result, source),
            self.beam: lambda: self.beam.set_original(result, source),
            self.compare: lambda: self.compare.set_reference(result, path, source),
        }
        for panel, update in updates.items():
            self._pending.pop(panel, None)
            if panel.isVisible():
                update()
            else:
                self._pending[panel] = update

    def _whatif_takes(self, result: DecodeResult, source: str) -> None:
        self.whatif.set_original(result, source)
        selected = self.window.heatmap.selected_step()
        if selected is not None:
            self.whatif.set_step(selected)

    @Slot(bool)
    def _on_dock_visibility(self, visible: bool) -> None:
        dock = self.sender()
        if visible and not self._torn_down and isinstance(dock, QDockWidget):
            update = self._pending.pop(dock.widget(), None)
            if update is not None:
                update()

    @Slot(int)
    def _on_step_selected(self, i: int) -> None:
        if self.whatif not in self._pending:  # a pending decode takes the selected step when shown
            self.whatif.set_step(i)

    @Slot(object)
    def _on_model_loaded(self, _info: object) -> None:
        """The decode shown belongs to the previous model until the new one's decode ends."""
        if self._torn_down:
            return
        self._pending.clear()
        for panel in (self.whatif, self.perturbation, self.beam, self.compare):
            panel.clear()

    @Slot()
    def _on_show_requested(self) -> None:
        action = self.sender()
        dock = self.docks[int(action.data())] if isinstance(action, QAction) else self.docks[0]
        self.show_dock(dock)

    def show_dock(self, dock: QDockWidget) -> None:
        """Show and raise a dock; once laid out, give it room for its plots (docks open small)."""
        dock.show()
        dock.raise_()
        self._shown = dock
        QTimer.singleShot(0, self._make_room)

    @Slot()
    def _make_room(self) -> None:
        w, dock = self.window, self._shown
        if self._torn_down or dock is None or dock.isHidden():
            return
        if w.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
            w.resizeDocks([dock], [int(w.height() * 0.45)], Qt.Orientation.Vertical)
        else:
            w.resizeDocks([dock], [int(w.width() * 0.4)], Qt.Orientation.Horizontal)

    @Slot()
    def apply_look(self) -> None:
        """After the window's own slot: read the theme and zoom it has just applied."""
        if self._torn_down:  # closing leaves presentation mode after the tools are gone
            return
        theme, zoom = self.window.theme_name, self.window.effective_zoom()
        for panel in (self.whatif, self.perturbation, self.beam, self.compare):
            panel.set_theme(theme)
            panel.set_zoom(zoom)

    @Slot(bool)
    def _on_presentation(self, on: bool) -> None:
        # The window saved its layout before this runs: leaving presentation mode restores these docks too.
        if on and not self._torn_down:
            for dock in self.docks:
                dock.hide()
        self.apply_look()

    # -- lifetime ----------------------------------------------------------------------------
    @Slot()
    def teardown(self) -> None:
        """Stop the compare view's engine and release the plots (safe to call twice)."""
        if self._torn_down:
            return
        self._torn_down = True
        for signal, slot in self._connections():
            signal.disconnect(slot)
        for panel in (self.whatif, self.perturbation, self.beam, self.compare):
            panel.teardown()


def install_whatif_tools(window: Any) -> None:
    """Add the "What-if" menu and docks to `window` (see the module docstring for what it needs)."""
    WhatIfTools(window)
