"""The end of a pyqtgraph view: its graphics items are deleted by Qt now, not by Python's collector later.

Taking items out of a scene first (`removeItem`, `PlotItem.clear`, `GraphicsLayout.clear`) hands them
to Python, and reference cycles keep them until the cycle collector runs — at any allocation, once
in the middle of building another ViewBox, where their destructors re-entered pyqtgraph and crashed
the process (the test suite's intermittent SIGSEGV in `ViewBox.itemChange`).  So nothing is removed:
the scene is cleared, Qt deletes every item with its children, and Python keeps only empty shells.
Items a live view drops (old labels, curves, legend rows) are deleted on the spot for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
import shiboken6
from PySide6.QtWidgets import QGraphicsItem, QMenu


def release_view(view: pg.GraphicsView) -> None:
    """Delete the view's items and their parentless context menus; the view shows nothing afterwards."""
    menus = [_menu_of(item) for item in view.scene().items()]
    view.close()  # GraphicsView.close() clears the scene: Qt deletes each item, parents before children
    for menu in menus:
        if menu is not None:
            menu.deleteLater()  # pyqtgraph keeps these without a parent: they would wait for the collector too


def _menu_of(item: object) -> QMenu | None:
    if isinstance(item, pg.ViewBox):
        return item.menu
    if isinstance(item, pg.PlotItem):
        return item.ctrlMenu
    return None


def discard_items(plot: pg.PlotItem, items: Iterable[QGraphicsItem]) -> None:
    """Take `items` off `plot` and delete them now (removed, they would otherwise wait for the collector)."""
    for item in list(items):
        plot.removeItem(item)
        shiboken6.delete(item)


def clear_legend(legend: pg.LegendItem) -> None:
    """Empty `legend` and delete its sample and label items now."""
    parts = [part for pair in legend.items for part in pair]
    legend.clear()
    for part in parts:
        shiboken6.delete(part)
