"""The heatmap's colour bar: pyqtgraph's ColorBarItem, with axes that keep their pictures for recent sizes."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QPicture

MAX_PICTURES = 8  # sizes remembered per axis


class RememberingAxis(pg.AxisItem):
    """An axis that keeps the picture of each of its last few sizes.

    The colour bar is as tall as the heatmap's image, so it changes height whenever the heatmap's top
    axis changes depth (labels rotate, shrink or grow): a few depths, visited again and again while
    typing.  pyqtgraph regenerates an axis picture through per-tick Python at every size (~1 ms for the
    bar's four axes); a size seen before now costs a replay.  Anything else that changes the picture
    (pens, font, style, ticks) forgets them all.
    """

    picture: QPicture | None  # pyqtgraph's: the recorded drawing paint() replays; None: record anew

    def __init__(self, orientation: str) -> None:
        self._pictures: dict[tuple[float, float, float, float], QPicture] = {}
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)  # else every range change re-sets the title (HTML) and drops the picture

    def paint(self, p: Any, *args: Any) -> None:
        if self.picture is None:
            key = (self.width(), self.height(), float(self.range[0]), float(self.range[1]))
            kept = self._pictures.get(key)
            if kept is None:
                super().paint(p, *args)  # records self.picture and replays it
                self._keep(key)
                return
            self.picture = kept
        self.picture.play(p)

    def _keep(self, key: tuple[float, float, float, float]) -> None:
        if len(self._pictures) >= MAX_PICTURES:
            self._pictures.clear()
        if self.picture is not None:
            self._pictures[key] = self.picture

    def forget_pictures(self) -> None:
        self._pictures.clear()
        self.picture = None

    def setPen(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802 (pyqtgraph's name)
        self.forget_pictures()
        super().setPen(*args, **kwargs)

    def setTextPen(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        self.forget_pictures()
        super().setTextPen(*args, **kwargs)

    def setTickPen(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        self.forget_pictures()
        super().setTickPen(*args, **kwargs)

    def setTickFont(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        self.forget_pictures()
        super().setTickFont(*args, **kwargs)

    def setStyle(self, **kwargs: Any) -> None:  # noqa: N802
        self.forget_pictures()
        super().setStyle(**kwargs)

    def setTicks(self, ticks: Any) -> None:  # noqa: N802
        self.forget_pictures()
        super().setTicks(ticks)


class ColourBar(pg.ColorBarItem):
    """A ColorBarItem whose four axes (its value axis and the three that frame it) are RememberingAxis."""

    def setAxisItems(self, axisItems: dict[str, pg.AxisItem] | None = None) -> None:  # noqa: N802, N803
        if axisItems is None and not getattr(self, "axes", None):  # PlotItem.__init__ making the first ones
            axisItems = {side: RememberingAxis(side) for side in ("left", "right", "top", "bottom")}
        super().setAxisItems(axisItems)
