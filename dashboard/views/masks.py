"""Subnetwork masks (DPS / ChildTuning ``mask`` events): heatmaps, inside view, run vs run.

- A heatmap of layers × matrix kinds for run A's selected mask: kept fraction, and the overlap
  (Jaccard) with the previous selection; a slider walks back through the selections.
- For one chosen matrix, where inside it the kept entries lie, from the optional per-module
  lists ``per_head`` (kept fraction per attention head) and ``per_neuron`` (per output row).
- Run A and run B side by side at the same step, with their per-matrix overlap (Jaccard).

The event fields (``adaft_core/strategies/telemetry.py``) give kept fractions, the overlap with
the previous selection and ``per_head``. Per-neuron fractions and the run-vs-run overlap need the
bit-packed mask files the strategies save (``file`` in the event; ``latest`` unless the run used
``save_masks="every"``): reading them uses ``adaft_core.strategies.masks`` and so torch, which
the page loads only when the user ticks "read saved mask files". Without them the A-vs-B panel
shows the difference of the kept fractions, labelled as such.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Callable

import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adaft_dashboard.views.plotting import ViewWatcher, fmt
from adaft_dashboard.live.state import RunState

KIND_ORDER = ("q", "k", "v", "qkv", "o", "ffn_in", "ffn_out", "pooler", "head")  # weight-matrix kinds
NO_LAYER = "top"  # row of matrices outside the transformer blocks (pooler, head)

# fn(run_dir_a, mask_event_a, run_dir_b, mask_event_b) -> {module name: Jaccard overlap}
OverlapProvider = Callable[[Path, dict, Path, dict], dict]
_overlap_provider: OverlapProvider | None = None


def set_overlap_provider(fn: OverlapProvider | None) -> None:
    """Replace how two runs' per-matrix mask overlap is computed (default: their saved files)."""
    global _overlap_provider
    _overlap_provider = fn


_saved_cache: dict[tuple[str, float], tuple[Any, dict]] = {}


def read_saved(run_dir: Path | None, event: dict):
    """(MaskSet, summary) of the mask file an event names; cached by path and mtime."""
    if run_dir is None or not event.get("file"):
        raise FileNotFoundError("this selection has no saved mask file (save_masks='none'?)")
    path = Path(run_dir) / event["file"]
    key = (str(path), path.stat().st_mtime)
    if key not in _saved_cache:
        from adaft_core.strategies.masks import load_masks, mask_summary  # torch, on request only

        masks = load_masks(path)
        _saved_cache.clear()  # keep one or two files in memory, not every run's
        _saved_cache[key] = (masks, mask_summary(masks))
    return _saved_cache[key]


def saved_overlap(run_dir_a: Path | None, ev_a: dict, run_dir_b: Path | None, ev_b: dict) -> dict:
    """Per-matrix Jaccard overlap of two runs' saved masks."""
    from adaft_core.strategies.masks import mask_overlap

    masks_a, _ = read_saved(run_dir_a, ev_a)
    masks_a = masks_a.masks  # hold A while B is read (the cache keeps one file)
    masks_b, _ = read_saved(run_dir_b, ev_b)
    return mask_overlap(masks_a, masks_b.masks)


def _row(module: dict) -> str:
    layer = module.get("layer")
    return f"layer {int(layer)}" if isinstance(layer, (int, float)) and not isinstance(layer, bool) else NO_LAYER


def mask_grid(event: dict, value: str = "kept", values: dict | None = None) -> dict[str, Any]:
    """Rows (layers, then ``top``), columns (kinds present) and z (None where no matrix).

    ``value`` is a module field (``kept`` / ``overlap_prev``); ``values`` overrides it by module
    name (cross-run overlaps). Several matrices in one cell are averaged.
    """
    modules = [m for m in event.get("modules") or [] if m.get("kind") in KIND_ORDER]
    weights = [m for m in modules if str(m.get("name", "")).endswith("weight")]
    modules = weights or modules  # a cell is its weight matrix; biases would skew the fraction
    kinds = [k for k in KIND_ORDER if any(m.get("kind") == k for m in modules)]
    layers = sorted({int(m["layer"]) for m in modules if _row(m) != NO_LAYER})
    rows = [f"layer {i}" for i in layers] + ([NO_LAYER] if any(_row(m) == NO_LAYER for m in modules) else [])
    cells: dict[tuple[str, str], list[float]] = {}
    names: dict[tuple[str, str], list[str]] = {}
    for m in modules:
        v = values.get(m.get("name")) if values is not None else m.get(value)
        key = (_row(m), str(m.get("kind")))
        names.setdefault(key, []).append(str(m.get("name")))
        if isinstance(v, (int, float)) and math.isfinite(v):
            cells.setdefault(key, []).append(float(v))
    z = [[(sum(cells[(r, k)]) / len(cells[(r, k)])) if (r, k) in cells else None for k in kinds] for r in rows]
    hover = [[", ".join(names.get((r, k), [])) for k in kinds] for r in rows]
    return {"rows": rows, "cols": kinds, "z": z, "names": hover}


def inside_view(event: dict, name: str) -> dict[str, list[float]]:
    """The per-head / per-neuron kept fractions of one matrix, where the strategy reported them."""
    for m in event.get("modules") or []:
        if m.get("name") == name:
            return {k: list(m[k]) for k in ("per_head", "per_neuron") if isinstance(m.get(k), list)}
    return {}


def matrix_names(event: dict) -> list[str]:
    """The weight matrices of a mask event that the heatmap shows, in model order."""
    return [str(m.get("name")) for m in event.get("modules") or []
            if m.get("kind") in KIND_ORDER and str(m.get("name", "")).endswith("weight")]


NO_MASKS = "<i>No mask events yet: masks appear for DPS / ChildTuning runs.</i>"


def _heatmap(**kw) -> go.Heatmap:
    kw = {"showscale": False, **kw}
    return go.Heatmap(z=[], x=[], y=[], zmin=0, zmax=1, colorscale="Viridis", texttemplate="%{z:.2f}",
                      hovertemplate="%{y} · %{x}: %{z:.3f}<br>%{customdata}<extra></extra>", **kw)


class MasksView:
    def __init__(self):
        wide = dict(style={"description_width": "initial"}, layout=W.Layout(width="360px"))  # whole run ids
        self.run_a = W.Dropdown(options=[], description="run A", **wide)
        self.run_b = W.Dropdown(options=[("none", "")], value="", description="run B", **wide)
        # counted from 1, like "selection k of n" beside it
        self.selection = W.IntSlider(value=1, min=1, max=1, description="selection", continuous_update=False)
        self.follow = W.Checkbox(value=True, description="follow latest", indent=False)
        self.module = W.Dropdown(options=[], description="matrix", layout=W.Layout(width="520px"))
        self.use_saved = W.Checkbox(value=False, indent=False, layout=W.Layout(width="auto"),
                                    description="read saved mask files (per neuron, A-vs-B overlap)")
        self.info = W.HTML(NO_MASKS)
        main = make_subplots(rows=1, cols=2, subplot_titles=("kept fraction", "overlap with previous selection"),
                             horizontal_spacing=0.12)
        main.add_trace(_heatmap(), row=1, col=1)
        main.add_trace(_heatmap(showscale=True, colorbar=dict(len=0.9)), row=1, col=2)
        main.update_layout(height=420, margin=dict(l=80, r=20, t=40, b=40), template="plotly_white")
        self.fig = go.FigureWidget(main)
        bar = dict(marker=dict(color="#2563eb", line=dict(width=0)), showlegend=False)
        inside = go.Figure([go.Bar(name="per head", x=[], y=[], **bar),
                            go.Bar(name="per neuron", x=[], y=[], xaxis="x2", yaxis="y2", **bar)])
        inside.update_layout(height=260, bargap=0.05, margin=dict(l=60, r=20, t=30, b=40), template="plotly_white",
                             xaxis=dict(domain=[0, 0.3], title="head"),
                             xaxis2=dict(domain=[0.38, 1], title="neuron"),
                             yaxis=dict(range=[0, 1], title="kept"), yaxis2=dict(range=[0, 1], anchor="x2"))
        self.fig_inside = go.FigureWidget(inside)
        cmp_ = make_subplots(rows=1, cols=3, subplot_titles=("run A kept", "run B kept", "A vs B (choose run B)"),
                             horizontal_spacing=0.08)
        for col in (1, 2, 3):
            cmp_.add_trace(_heatmap(), row=1, col=col)
        cmp_.update_layout(height=380, margin=dict(l=80, r=20, t=40, b=40), template="plotly_white")
        self.fig_cmp = go.FigureWidget(cmp_)
        self.inside_note = W.HTML()
        self.watchers = [ViewWatcher(f) for f in (self.fig, self.fig_cmp, self.fig_inside)]
        for control in (self.run_a, self.run_b, self.selection, self.follow, self.module, self.use_saved):
            control.observe(lambda _c: self.invalidate(), names="value")
        self.widget = W.VBox([W.HBox([self.run_a, self.run_b, self.use_saved]),
                              W.HBox([self.selection, self.follow]), self.info, self.fig,
                              self.module, self.inside_note, self.fig_inside, self.fig_cmp])
        self._drawn: tuple | None = None
        self.runs: dict[str, RunState] = {}
        self.paths: Callable[[str], Path | None] = lambda _run_id: None

    def invalidate(self) -> None:
        self._drawn = None

    def update(self, runs: list[RunState], preferred: str | None = None) -> bool:
        """Refresh choices and figures from the runs that have mask events."""
        for w in self.watchers:
            w.flush()
        self.runs = {r.run_id: r for r in runs if r.masks}
        ids = list(self.runs)
        if list(self.run_a.options) != ids:
            current = self.run_a.value if self.run_a.value in ids else (preferred if preferred in ids else
                                                                        (ids[0] if ids else None))
            self.run_a.options = ids
            self.run_a.value = current
            b = self.run_b.value if self.run_b.value in ids else ""
            self.run_b.options = [("none", "")] + [(i, i) for i in ids]
            self.run_b.value = b
        a = self.runs.get(self.run_a.value)
        if a is not None:
            last = max(len(a.masks), 1)
            if self.selection.max != last:
                self.selection.max = last
            if self.follow.value and self.selection.value != last:
                self.selection.value = last
        key = (tuple((r, self.runs[r].version) for r in ids), self.run_a.value, self.run_b.value,
               self.selection.value, self.module.value, self.use_saved.value)
        if key == self._drawn:
            return False
        self._draw(a, self.runs.get(self.run_b.value or ""))
        self._drawn = key
        return True

    def _draw(self, a: RunState | None, b: RunState | None) -> None:
        if a is None:
            self.info.value = NO_MASKS
            return
        k = min(max(self.selection.value, 1), len(a.masks))  # 1-based, as shown
        ev = a.masks[k - 1]
        self.info.value = (f"selection {k} of {len(a.masks)} · step {ev.get('step')} · "
                           f"stage {ev.get('stage') or '–'} · {ev.get('strategy', '')} · keep fraction "
                           f"{fmt(ev.get('keep_fraction'), '.2f')} · kept overall {fmt(ev.get('kept_total'), '.3f')}")
        kept, overlap = mask_grid(ev, "kept"), mask_grid(ev, "overlap_prev")
        with self.fig.batch_update():
            for trace, grid in zip(self.fig.data, (kept, overlap)):
                trace.update(z=grid["z"], x=grid["cols"], y=grid["rows"], customdata=grid["names"])
        self._draw_inside(a, ev)
        self._draw_compare(a, ev, b)

    def _draw_inside(self, a: RunState, ev: dict) -> None:
        names = matrix_names(ev)
        if list(self.module.options) != names:
            keep = self.module.value if self.module.value in names else (names[0] if names else None)
            self.module.options = names
            self.module.value = keep
        detail = inside_view(ev, self.module.value) if self.module.value else {}
        note = ""
        if self.use_saved.value and self.module.value:
            try:
                masks, summary = read_saved(self.paths(a.run_id), ev)
                saved = summary.get(self.module.value, {})
                detail = {**{k: v for k, v in saved.items() if k in ("per_head", "per_neuron") and v}, **detail}
                note = f"per-neuron values from the saved mask file (its step {masks.meta.get('step')})"
            except Exception as exc:  # noqa: BLE001 - a missing file must not break the page
                note = f"saved masks unavailable: {html.escape(str(exc))}"
        elif "per_neuron" not in detail:
            note = "tick \"read saved mask files\" for per-neuron fractions (FFN matrices)"
        with self.fig_inside.batch_update():
            for trace, k in zip(self.fig_inside.data, ("per_head", "per_neuron")):
                ys = detail.get(k) or []
                trace.update(x=list(range(len(ys))), y=ys)
        self.inside_note.value = f"<i>{note}</i>" if note else ""

    def _draw_compare(self, a: RunState, ev: dict, b: RunState | None) -> None:
        if b is None:
            with self.fig_cmp.batch_update():
                for trace in self.fig_cmp.data:
                    trace.update(z=[], x=[], y=[], customdata=[])
                self.fig_cmp.layout.annotations[2].text = "A vs B (choose run B)"
            return
        step = ev.get("step") or 0
        before = [m for m in b.masks if (m.get("step") or 0) <= step]
        evb = before[-1] if before else b.masks[0]
        grid_a, grid_b = mask_grid(ev, "kept"), mask_grid(evb, "kept")
        provider = _overlap_provider or (saved_overlap if self.use_saved.value else None)
        overlaps, title = None, "A vs B: |kept A − kept B| (tick: read saved mask files)"
        if provider is not None:
            try:
                overlaps = provider(self.paths(a.run_id), ev, self.paths(b.run_id), evb)
                title = "A vs B: mask overlap (Jaccard)"
            except Exception as exc:  # noqa: BLE001 - a missing file must not break the page
                title = f"A vs B: overlap unavailable ({type(exc).__name__})"
        if overlaps is None:
            kb = {m.get("name"): m.get("kept") for m in evb.get("modules") or []}
            overlaps = {m.get("name"): abs(m["kept"] - kb[m.get("name")]) for m in ev.get("modules") or []
                        if isinstance(m.get("kept"), (int, float)) and isinstance(kb.get(m.get("name")), (int, float))}
        grid_c = mask_grid(ev, values=overlaps)
        with self.fig_cmp.batch_update():
            for trace, grid in zip(self.fig_cmp.data, (grid_a, grid_b, grid_c)):
                trace.update(z=grid["z"], x=grid["cols"], y=grid["rows"], customdata=grid["names"])
            self.fig_cmp.layout.annotations[2].text = title
