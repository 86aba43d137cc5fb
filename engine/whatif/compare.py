"""Comparing two decodes (two models, two inputs, or an edit against the original): numpy only.

Matrices of different shapes are aligned by output step (rows) and source position (columns) and
padded with NaN, so a cell only one side has shows as "no data" rather than as a difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def padded(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`matrix` in the top-left corner of a NaN array of `shape` (float64)."""
    out = np.full(shape, np.nan)
    m = np.asarray(matrix, dtype=np.float64)
    out[: m.shape[0], : m.shape[1]] = m
    return out


def alpha_difference(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """after − before, cell by cell; NaN where either matrix has no such cell."""
    shape = (max(before.shape[0], after.shape[0]), max(before.shape[1], after.shape[1]))
    return padded(after, shape) - padded(before, shape)


def changed_positions(before: Sequence[str], after: Sequence[str]) -> tuple[int, ...]:
    """Output positions whose token differs, counting positions only one side reaches."""
    return tuple(
        i for i in range(max(len(before), len(after))) if i >= min(len(before), len(after)) or before[i] != after[i]
    )


def step_labels(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """Row labels for a difference: the token, or "a → b" where the two differ ("–": no token)."""
    labels = []
    for i in range(max(len(before), len(after))):
        a = before[i] if i < len(before) else "–"
        b = after[i] if i < len(after) else "–"
        labels.append(a if a == b else f"{a} → {b}")
    return labels
