"""Small helpers shared by the figures: downsampling, smoothing, colours, full re-sends.

Two habits of live Plotly views: a displayed trace holds at most ~5 k points (the run log keeps every
step), and a figure is re-sent whole when a new browser view attaches, because Voila drops the
edits a FigureWidget received before the page connected.
"""

from __future__ import annotations

import math
import time
import zlib

import numpy as np

MAX_POINTS = 5000
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
PHASE_COLORS = {"warmup": "#fde68a", "constant": "#bbf7d0", "cooldown": "#bfdbfe", "decay": "#e9d5ff"}
STAGE_COLORS = {"I": "#fca5a5", "II": "#a5b4fc"}
EXTRA_PHASE_COLORS = ("#fecaca", "#c7d2fe", "#fbcfe8", "#99f6e4", "#fed7aa", "#d9f99d", "#ddd6fe", "#bae6fd")


def phase_color(phase: str) -> str:
    """The shading of an LR phase: its own colour, or (a phase of a mode the dashboard does not
    know) one picked by its name, the same in every session."""
    if phase in PHASE_COLORS:
        return PHASE_COLORS[phase]
    return EXTRA_PHASE_COLORS[zlib.crc32(str(phase).encode()) % len(EXTRA_PHASE_COLORS)]


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points: the ends, and per bucket the min and the max of ``y``
    (spikes survive, the x order is kept)."""
    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(1, (max_points - 2) // 2)
    size = math.ceil(n / buckets)
    pad = buckets * size - n
    yy = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, size)
    finite = np.isfinite(yy)
    lo = np.where(finite, yy, np.inf).argmin(axis=1)
    hi = np.where(finite, yy, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * size
    idx = np.unique(np.concatenate([[0, n - 1], base + lo, base + hi]))  # ends always shown
    idx = idx[idx < n]
    return x[idx], y[idx]


class Smoother:
    """Debiased exponential moving average (TensorBoard's slider), extended incrementally.

    ``smooth(key, y, weight)`` returns the EMA of ``y``; only points added since the last call
    for ``key`` are computed, unless the weight changed (then it starts over).
    """

    def __init__(self):
        self._cache: dict[object, tuple[float, int, float, int, list[float]]] = {}

    def smooth(self, key: object, y: np.ndarray, weight: float) -> np.ndarray:
        if weight <= 0:
            return y
        state = self._cache.get(key)
        if state is None or state[0] != weight or state[1] > len(y):
            state = (weight, 0, 0.0, 0, [])
        _, done, last, count, out = state
        for v in y[done:].tolist():
            if v == v:  # not NaN
                last = last * weight + (1 - weight) * v
                count += 1
                out.append(last / (1 - weight ** count))
            else:
                out.append(math.nan)
        self._cache[key] = (weight, len(y), last, count, out)
        return np.asarray(out, dtype=float)

    def forget(self, keep: set) -> None:
        for key in list(self._cache):
            if key not in keep:
                del self._cache[key]


def resend_whole(fig) -> None:
    """Send every trace and the layout again, as one Plotly.update, to views that missed edits."""
    full = fig.to_plotly_json()
    traces = full.get("data", [])
    keys = set().union(*(t.keys() for t in traces)) - {"type", "uid", "xaxis", "yaxis"} if traces else set()
    restyle = {k: [t.get(k) for t in traces] for k in keys}
    try:
        fig._send_update_msg(restyle, full.get("layout", {}), list(range(len(traces))))
    except AttributeError:  # a plotly without the private message: re-sync the whole state
        fig._widget_data = fig._data
        fig._widget_layout = fig._layout


def resend_visibility(fig) -> None:
    """Send every trace's ``visible`` again, as one small restyle. Plotly sends only what changed,
    so a view that rendered after a trace was made visible would keep it hidden for good; sent
    with every redraw, the next redraw after a late first render shows what the model holds."""
    try:
        fig._send_restyle_msg({"visible": [t.visible for t in fig.data]}, trace_indexes=list(range(len(fig.data))))
    except AttributeError:  # a plain go.Figure (tests) or a plotly without the private message
        pass


RESEND_AFTER = (0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 25.0, 40.0)  # seconds after a view attaches: a
# re-send that reaches the view before its first render is lost (and later edits, sending only
# what changed, never make the traces visible), so the whole figure goes again a few more times —
# on a loaded machine the first render can take tens of seconds. Each re-send is one message of
# at most a few hundred kB (<= 5 k points per trace).


class ViewWatcher:
    """Marks a figure for whole re-sends when a browser view attaches (``_view_count`` grows)."""

    def __init__(self, fig):
        self.fig = fig
        self.due: list[float] = []  # monotonic times of the re-sends still to do
        try:
            if fig._view_count is None:
                fig._view_count = 0
            fig.observe(self._on_views, names="_view_count")
        except Exception:  # noqa: BLE001 - not a widget (tests with plain figures)
            pass

    def _on_views(self, change) -> None:
        if (change.get("new") or 0) > (change.get("old") or 0):
            now = time.monotonic()
            self.due = sorted(self.due + [now + delay for delay in RESEND_AFTER])

    @property
    def pending(self) -> bool:
        return bool(self.due) and self.due[0] <= time.monotonic()

    def flush(self) -> bool:
        """Re-send if a re-send is due (a view attached); True if it did."""
        if not self.pending:
            return False
        now = time.monotonic()
        self.due = [t for t in self.due if t > now]
        resend_whole(self.fig)
        return True


def fmt(value, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)
