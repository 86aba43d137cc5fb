"""Tab-separated rows for the synthetic corpora: one writer, one reader, shared by every generator."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from models.atomic import atomic_write_text


def _format_row(row: Sequence[str]) -> str:
    for field in row:
        # A tab or newline inside a field would silently shift columns or split the line.
        if "\t" in field or "\n" in field or "\r" in field:
            raise ValueError(f"TSV field contains a tab or line break: {field!r}")
    return "\t".join(row) + "\n"


def write_tsv_atomic(rows: Iterable[Sequence[str]], path: str | os.PathLike[str]) -> int:
    """Write UTF-8 rows atomically (temp file in the same folder, then os.replace); returns the row count."""
    lines = [_format_row(row) for row in rows]
    atomic_write_text(path, "".join(lines))
    return len(lines)


def read_tsv(path: str | os.PathLike[str]) -> list[list[str]]:
    """Rows of a UTF-8 TSV file, blank lines skipped."""
    text = Path(path).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.split("\n") if line]
