"""Text hygiene: terminal escape sequences and control characters taken out of text before it is tokenised or shown."""

from __future__ import annotations

import re

# ECMA-48, whole sequences: CSI (ESC [ or 0x9B, parameters, intermediates, final byte); the string commands OSC,
# DCS, SOS, PM and APC up to their terminator (BEL or ST; an unterminated one runs to the end, as a terminal reads
# it); every other escape (ESC, intermediates, final byte: "ESC c", "ESC ( B").
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc: C0, DEL, C1
SHOWN_TOKEN_CHARS = 40  # a longer token is shown by its start and its length
MAX_MESSAGE_CHARS = 600
MAX_SOURCE_CHARS = 100_000  # a source (or reference) is cut here before any work: ~15,000 words, far above any model


def clean_text(text: str) -> str:
    """`text` without escape sequences, every other control character (tabs and newlines too) made a space."""
    return _CONTROLS.sub(" ", _ESCAPES.sub("", text))


def shown_token(token: str) -> str:
    """A token as a message shows it: cleaned, and a long one cut to its start with its length."""
    token = clean_text(token)
    if len(token) <= SHOWN_TOKEN_CHARS:
        return token
    return f"{token[: SHOWN_TOKEN_CHARS - 16]}… ({len(token):,} characters)"


def shown_value(value: object, limit: int = 80) -> str:
    """repr() of a value a user or a file gave (a string cleaned first), cut to `limit` characters."""
    text = repr(clean_text(value) if isinstance(value, str) else value)
    return text if len(text) <= limit else f"{text[: limit - 24]}… ({len(text):,} characters)"


def printable_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message safe to print or show: cleaned, on one line, at most `limit` characters."""
    line = " ".join(clean_text(message).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
