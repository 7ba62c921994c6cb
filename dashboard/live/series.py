"""Growable float arrays for the per-step curves of :mod:`adaft_dashboard.live.state` (no widget, no torch)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class Series:
    """A growable float64 array (amortised O(1) append; ``view`` is the filled part, no copy)."""

    def __init__(self, capacity: int = 256):
        self._data = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, value: Any) -> None:
        if self.n == len(self._data):
            self._data = np.concatenate([self._data, np.empty(len(self._data), dtype=np.float64)])
        self._data[self.n] = to_float(value)
        self.n += 1

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` values."""
        self.n = max(0, min(self.n, n))


def to_float(value: Any) -> float:
    """A float; ``None`` / non-numbers / infinities become NaN (a gap in a curve)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan
