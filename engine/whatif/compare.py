"""Comparing two decodes (two models, two inputs, or an edit against the original): numpy only.

Token sequences are aligned by edit distance (Levenshtein: keep, substitute, insert, delete, each change
costing 1) before anything is marked, so a word inserted early does not mark every later word as
changed.  Matrices are compared over the same alignment: rows by the output tokens, columns by the
source tokens; a row or column only one side has is NaN ("no data") rather than a difference.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

Pair = tuple[int | None, int | None]  # (position in before, position in after); None: that side has none


def align(before: Sequence[Hashable], after: Sequence[Hashable]) -> tuple[Pair, ...]:
    """A minimal edit script between the sequences, as aligned pairs in order.

    Among equally short scripts, substitutions come first and insertions or deletions as late as possible:
    ("a", "b") against ("a", "x", "y") gives a=a, b→x, –→y, as comparing position by position would.
    """
    back, forth = before[::-1], after[::-1]  # the walk back through the reversed table runs from the start
    n, m = len(before), len(after)
    return tuple((None if i is None else n - 1 - i, None if j is None else m - 1 - j) for i, j in _walk(back, forth))


def _walk(before: Sequence[Hashable], after: Sequence[Hashable]) -> list[Pair]:
    """Levenshtein table, then the walk back from its end, preferring the diagonal (keep or substitute)."""
    n, m = len(before), len(after)
    cost = np.zeros((n + 1, m + 1), dtype=np.int64)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        a, row, prev = before[i - 1], cost[i], cost[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (a != after[j - 1]), prev[j] + 1, row[j - 1] + 1)
    pairs: list[Pair] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (before[i - 1] != after[j - 1]):
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif j and cost[i, j] == cost[i, j - 1] + 1:
            j -= 1
            pairs.append((None, j))
        else:
            i -= 1
            pairs.append((i, None))
    return pairs


def changed_sides(before: Sequence[str], after: Sequence[str]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(positions of `before` not kept as they are, positions of `after` that are new or different)."""
    pairs = align(before, after)
    kept = {(i, j) for i, j in pairs if i is not None and j is not None and before[i] == after[j]}
    lost = tuple(i for i, j in pairs if i is not None and (i, j) not in kept)
    new = tuple(j for i, j in pairs if j is not None and (i, j) not in kept)
    return lost, new


def changed_positions(before: Sequence[str], after: Sequence[str]) -> tuple[int, ...]:
    """Positions of `after` whose token is new or different from the one aligned to it in `before`."""
    return changed_sides(before, after)[1]


def step_labels(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """One label per aligned pair: the token, or "a → b" where the two differ ("–": no token on that side)."""
    labels = []
    for i, j in align(before, after):
        a = before[i] if i is not None else "–"
        b = after[j] if j is not None else "–"
        labels.append(a if a == b else f"{a} → {b}")
    return labels


def alpha_difference(
    before: np.ndarray,
    after: np.ndarray,
    rows: Sequence[Pair] | None = None,
    columns: Sequence[Pair] | None = None,
) -> np.ndarray:
    """after − before over aligned rows and columns (None: by position); NaN where a side has no such cell.

    Pass `align(before_output, after_output)` and `align(before_source, after_source)`: row k of the
    difference belongs to the k-th aligned pair of output tokens, as step_labels names them.
    """
    b, a = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    rows = rows if rows is not None else _by_position(b.shape[0], a.shape[0])
    columns = columns if columns is not None else _by_position(b.shape[1], a.shape[1])
    return _spread(a, rows, columns, side=1) - _spread(b, rows, columns, side=0)


def _by_position(n: int, m: int) -> list[Pair]:
    return [(k if k < n else None, k if k < m else None) for k in range(max(n, m))]


def _spread(matrix: np.ndarray, rows: Sequence[Pair], columns: Sequence[Pair], side: int) -> np.ndarray:
    """`matrix` laid out on the aligned grid, NaN where this side has no row or column."""
    out = np.full((len(rows), len(columns)), np.nan)
    r = [(k, i) for k, pair in enumerate(rows) if (i := pair[side]) is not None]
    c = [(k, j) for k, pair in enumerate(columns) if (j := pair[side]) is not None]
    if r and c:
        (to_rows, from_rows), (to_columns, from_columns) = zip(*r, strict=True), zip(*c, strict=True)
        out[np.ix_(to_rows, to_columns)] = matrix[np.ix_(from_rows, from_columns)]
    return out
