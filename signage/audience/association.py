"""Optimal one-to-one matching of tracks to faces under a gated cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

A = TypeVar("A")
B = TypeVar("B")

_FORBIDDEN = 1e9  # stands in for "gated out" so the solver can still run on a full matrix


def assign(
    rows: Sequence[A], cols: Sequence[B], cost: Callable[[A, B], float | None]
) -> list[tuple[int, int]]:
    """(row, column) index pairs of the cheapest matching; pairs whose cost is None never match.

    Optimal rather than greedy: when two people cross, the greedy choice for one steals the
    other's face, whereas the total cost picks the consistent pair.
    """
    if not rows or not cols:
        return []
    matrix = np.full((len(rows), len(cols)), _FORBIDDEN)
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            value = cost(row, col)
            if value is not None:
                matrix[i, j] = value
    row_idx, col_idx = linear_sum_assignment(matrix)
    return [(int(i), int(j)) for i, j in zip(row_idx, col_idx, strict=True) if matrix[i, j] < _FORBIDDEN]
