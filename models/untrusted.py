"""What every loader of untrusted model files shares: the boundary that turns any failure into the one
CheckpointError (models/errors.py), and JSON read within nesting and number limits checked before parsing.

A loader raises CheckpointError for every problem it anticipates; whatever else escapes it (a third-party
library's KeyError, a RecursionError) is caught by `loading(path)` at the loader boundary and becomes an
UnexpectedLoadError, a CheckpointError that names the file and the original exception. MemoryError,
torch's OutOfMemoryError and KeyboardInterrupt pass through: they are about the machine, not the file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from models.errors import CheckpointError, UnexpectedLoadError
from models.hygiene import printable_message

MAX_JSON_DEPTH = 64  # attnscope metadata nests 3 deep, a tutorial vocabulary 2
MAX_INT_DIGITS = 30  # far above any size or offset, far below int()'s 4,300-digit limit

# About the machine, not the file: never turned into CheckpointError.
MACHINE_ERRORS: tuple[type[BaseException], ...] = (MemoryError, torch.OutOfMemoryError)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_PAIR = re.compile(r"\[\]|\{\}")


@contextmanager
def loading(path: str | os.PathLike[str]) -> Iterator[None]:
    """The loader boundary: inside it, any failure on the file at `path` ends as one CheckpointError naming it.

    Nested boundaries add nothing: a CheckpointError that already names the file passes through.
    """
    name = Path(path).name or str(path)
    try:
        yield
    except CheckpointError as exc:
        message = printable_message(str(exc))
        if name in message and message == str(exc):
            raise
        named = message if name in message else f"{name}: {message}"
        raise type(exc)(named) from (exc.__cause__ if isinstance(exc, UnexpectedLoadError) else exc)
    except MACHINE_ERRORS:
        raise
    except Exception as exc:
        detail = printable_message(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 200)
        raise UnexpectedLoadError(f"{name}: cannot be read ({detail})") from exc


def load_json(text: str, what: str) -> Any:
    """json.loads for untrusted text: nesting deeper than MAX_JSON_DEPTH and integers longer than MAX_INT_DIGITS
    are refused (the first before parsing, so the parser never recurses deeply) with a CheckpointError."""
    if _nested_deeper_than(text, MAX_JSON_DEPTH):
        raise CheckpointError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels: the file is corrupt or hostile")
    try:
        return json.loads(text, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:  # bad JSON, a lone surrogate, a huge number
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{what} is not valid JSON ({first})") from exc


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a number with {len(digits):,} digits")
    return int(digits)


def _nested_deeper_than(text: str, limit: int) -> bool:
    """Strings dropped, then innermost bracket pairs removed `limit` times: a pair left means deeper nesting.

    Unbalanced brackets (not JSON at all) are not "deep": json.loads reports them.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        brackets, found = _PAIR.subn("", brackets)
        if not found:
            return False
    return _PAIR.search(brackets) is not None
