"""The tools attached to a main window: the "What-if" menu with four docks (hidden until asked for), the
quality-vs-length view behind Tools → Quality vs length… and the head ranking behind Tools → Which head to trust….

    install_tools(window)  # gui.app does this before it restores the layout

The tools follow the window's decode, theme and zoom, hide in presentation mode, and are torn down when the
window closes (before it stops its engine).  A hidden panel takes the latest decode when it is shown, not
at every decode: filling the four panels costs ~13 ms a decode that no one would see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from engine import DecodeResult
from gui.tools.beam_view import BeamExplorer
from gui.tools.compare_view import CompareView
from gui.tools.head_ranking_view import HeadRankingView
from gui.tools.perturbation_table import PerturbationPanel
from gui.tools.quality_view import QualityView
from gui.tools.whatif_panel import WhatIfPanel
from gui.window.docks import add_dock, dock_content
from gui.window.main_window import MainWindow

TOOLS_OBJECT_NAME = "whatif_tools"
QUALITY_OBJECT_NAME = "quality_tool"
HEADS_OBJECT_NAME = "head_ranking_tool"
V = TypeVar("V", QualityView, HeadRankingView)  # a tool window: set_look, show, teardown


class WhatIfTools(QObject):
    """Owns the tool panels and their docks; a child of the window (find it with `findChild`)."""

    def __init__(self, window: MainWindow) -> None:
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
        self._on_head_choice()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        name = "whatif_" + title.split(":")[-1].strip().replace(" ", "_").lower()
        dock = add_dock(self.window, title, name, widget, area)
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
            (w.heads.choice_changed, self._on_head_choice),
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
            update = self._pending.pop(dock_content(dock), None)
            if update is not None:
                update()

    @Slot(int)
    def _on_step_selected(self, i: int) -> None:
        if self.whatif not in self._pending:  # a pending decode takes the selected step when shown
            self.whatif.set_step(i)

    @Slot()
    def _on_head_choice(self) -> None:
        """The beam explorer shows a transformer's hypotheses the way the main heatmap shows its heads."""
        if not self._torn_down:
            heads = self.window.heads
            self.beam.set_head_view(heads.choice(), heads.sinks_hidden(), heads.describe())

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


class _ViewTool(QObject, Generic[V]):
    """Opens one of the window's tool windows from its menu action (made on first use, in the window's look);
    a child of the window, and torn down when the window closes."""

    def __init__(self, window: MainWindow, name: str, action: QAction) -> None:
        super().__init__(window)
        self.setObjectName(name)
        self.window: MainWindow = window
        self.view: V | None = None
        action.triggered.connect(self.open_view)
        window.closing.connect(self.teardown)

    def _make(self) -> V:
        raise NotImplementedError

    def _offer(self, view: V) -> None:
        """What the view is given each time it is shown (nothing by default)."""

    @Slot()
    def open_view(self) -> V:
        w = self.window
        if self.view is None:
            self.view = self._make()
        else:
            self.view.set_look(w.theme_name, w.effective_zoom())
        self._offer(self.view)
        self.view.show()
        self.view.raise_()
        self.view.activateWindow()
        return self.view

    @Slot()
    def teardown(self) -> None:
        """Before the window stops its engine: the view lets go of the controller and its plots go before the
        application does."""
        if self.view is not None:
            self.view.teardown()
            self.view.hide()


class QualityTool(_ViewTool[QualityView]):
    """Tools → Quality vs length…: offers the window's model and the compare view's model."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, QUALITY_OBJECT_NAME, window.menus.quality_vs_length)

    def _make(self) -> QualityView:
        w = self.window
        return QualityView(w.controller, w, theme=w.theme_name, zoom=w.effective_zoom(), settings=w.settings)

    def _offer(self, view: QualityView) -> None:
        if not view.running:
            view.add_models(window_models(self.window))


class HeadRankingTool(_ViewTool[HeadRankingView]):
    """Tools → Which head to trust…, on the model the window has loaded; a row clicked there shows that head in
    the main heatmap through the Heads panel."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, HEADS_OBJECT_NAME, window.menus.which_head)

    def _make(self) -> HeadRankingView:
        w = self.window
        view = HeadRankingView(w.controller, w, theme=w.theme_name, zoom=w.effective_zoom(), settings=w.settings)
        view.head_chosen.connect(w.heads.show_head)
        view.mean_chosen.connect(w.heads.show_mean)
        return view


def window_models(window: MainWindow) -> list[str]:
    """The model the window decodes with, then the compare view's model B (if one was loaded)."""
    tools = window.findChild(WhatIfTools)
    paths = [window.model_path, tools.compare.loaded_model_path if tools is not None else ""]
    return [p for p in dict.fromkeys(paths) if p]


def install_tools(window: MainWindow) -> None:
    """Tools → Quality vs length… and Which head to trust…, then the "What-if" menu and docks (the Tools views
    tear down first on close)."""
    QualityTool(window)
    HeadRankingTool(window)
    WhatIfTools(window)
