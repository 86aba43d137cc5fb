"""Find graphics items that are alive in C++ but in no scene: left for Python's cycle collector, or leaked.

The collector deletes the ones Python owns at whatever allocation triggers it; once that was in the
middle of building a ViewBox, and the process died (SIGSEGV in ViewBox.itemChange).  The ones C++ owns
are never deleted at all.  See gui/matrix/plot_lifetime.py.
"""

from __future__ import annotations

import gc
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import shiboken6
from PySide6.QtWidgets import QGraphicsItem


def orphaned_graphics_items() -> Counter[str]:
    found: Counter[str] = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance() on every live object wakes lazy modules' deprecations
        for obj in gc.get_objects():
            if isinstance(obj, QGraphicsItem) and shiboken6.isValid(obj) and obj.scene() is None:
                found[type(obj).__name__] += 1
    return found


@contextmanager
def collector_paused() -> Iterator[Counter[str]]:
    """Hold the collector off (so orphans stay visible) and yield the orphans that existed before."""
    gc.disable()
    try:
        yield orphaned_graphics_items()
    finally:
        gc.enable()
