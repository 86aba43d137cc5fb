"""Output tokens as rich text with the changed ones marked, for "original vs edited" lines."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from gui.style.theme import Theme

# Marker colours readable on both themes' panels; text on them stays dark.
CHANGED_BACKGROUND = {"light": "#ffd54f", "dark": "#b8860b"}
CHANGED_TEXT = {"light": "#1b1b1b", "dark": "#ffffff"}


def marked_tokens(tokens: Sequence[str], changed: Iterable[int], theme: Theme) -> str:
    """HTML: tokens separated by spaces, those at `changed` positions on a marker background."""
    marked = set(changed)
    background, text = CHANGED_BACKGROUND[theme.name], CHANGED_TEXT[theme.name]
    parts = []
    for i, token in enumerate(tokens):
        shown = html.escape(token)
        if i in marked:
            shown = f'<span style="background:{background}; color:{text}; font-weight:bold">&nbsp;{shown}&nbsp;</span>'
        parts.append(shown)
    return " ".join(parts) if parts else "<i>(nothing)</i>"
