"""The live curves: training loss, learning rate (phases shaded), validation loss and metric.

One ``FigureWidget`` with three rows sharing the x axis, built once with every trace it will
ever need: :data:`SLOTS` runs × (raw loss, smoothed loss, LR, val loss, val metric) plus one
trace per marker kind (best / cooldown / restart / stop) that holds the markers of all shown
runs. ``update(runs)`` re-sends whole (downsampled) arrays inside one ``batch_update``; the LR
phases and DPS stages of every shown run are drawn as shaded rectangles behind the LR row (one
lane per run when several are overlaid), and every run's decisions are markers.
"""

from __future__ import annotations

import numpy as np
import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adaft_core.events.display import epoch_label

from adaft_dashboard.views.plotting import (MAX_POINTS, PALETTE, STAGE_COLORS, Smoother, ViewWatcher, downsample, phase_color,
                                            resend_visibility)
from adaft_dashboard.live.state import RunState

SLOTS = 6
PER_SLOT = 5  # raw loss, smoothed loss, lr, val loss, val metric
MARKERS = {
    "best": dict(symbol="star", size=15, color="#f59e0b", line=dict(width=1, color="#78350f")),
    "cooldown": dict(symbol="triangle-down", size=13, color="#2563eb"),
    "restart": dict(symbol="triangle-up", size=13, color="#16a34a"),
    "stop": dict(symbol="x", size=14, color="#1f2937"),  # the monitor's stop: a normal end, not red
    "stopped": dict(symbol="square-open", size=13, color="#6b7280", line=dict(width=2)),  # by a person
    "failed": dict(symbol="x-open", size=14, color="#dc2626", line=dict(width=2)),  # only failures are red
}
PHASE_NAMES = {"warmup": "warm-up"}  # display names where they differ from the event's phase
LABEL_MIN = 0.06  # a phase or stage band gets its name written in it when this share of the x axis wide


def short(run_id: str, n: int = 40) -> str:  # a generated run id (time-task-mode-seed) is whole
    return run_id if len(run_id) <= n else "…" + run_id[-(n - 1):]


class CurvesView:
    """Controls + the three-row figure; call ``update(runs)`` from the UI pump."""

    def __init__(self, max_points: int = MAX_POINTS):
        self.max_points = max_points
        self.smoother = Smoother()
        base = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                             specs=[[{}], [{}], [{"secondary_y": True}]],
                             subplot_titles=("training loss per step", "learning rate per step",
                                             "validation (per epoch)"))
        for slot in range(SLOTS):
            color = PALETTE[slot % len(PALETTE)]
            group = f"run{slot}"
            kw = dict(x=[], y=[], legendgroup=group, visible=False, mode="lines")
            base.add_trace(go.Scatter(name="loss (raw)", line=dict(color=color, width=1), opacity=0.3,
                                      showlegend=False, hoverinfo="skip", **kw), row=1, col=1)
            base.add_trace(go.Scatter(name="loss", line=dict(color=color, width=2), **kw), row=1, col=1)
            base.add_trace(go.Scatter(name="lr", line=dict(color=color, width=2), showlegend=False, **kw),
                           row=2, col=1)
            kw["mode"] = "lines+markers"
            base.add_trace(go.Scatter(name="val loss", line=dict(color=color, width=2), showlegend=False,
                                      **kw), row=3, col=1)
            base.add_trace(go.Scatter(name="val metric", line=dict(color=color, width=2, dash="dot"),
                                      marker=dict(symbol="diamond"), showlegend=False, **kw),
                           row=3, col=1, secondary_y=True)
        for kind, marker in MARKERS.items():
            base.add_trace(go.Scatter(name=kind, x=[], y=[], mode="markers", marker=marker, text=[],
                                      hovertemplate="%{text}<extra>" + kind + "</extra>", visible=False),
                           row=3, col=1)
        # the legend under the plot, with room for two lines of run names (not cut off)
        base.update_layout(height=760, margin=dict(l=60, r=30, t=40, b=110), hovermode="x unified",
                           legend=dict(orientation="h", x=0, xanchor="left", y=-0.07, yanchor="top",
                                       font=dict(size=11)), hoverlabel=dict(namelength=-1),  # whole run names
                           template="plotly_white")
        base.update_yaxes(title_text="val loss", row=3, col=1, secondary_y=False)
        base.update_yaxes(title_text="metric", row=3, col=1, secondary_y=True, rangemode="tozero",
                          tickmode="auto", nticks=6, showgrid=False)
        self.title_annotations = tuple(base.layout.annotations)
        self.fig = go.FigureWidget(base)
        self.watcher = ViewWatcher(self.fig)
        self.x_mode = W.ToggleButtons(options=[("step", "step"), ("epoch", "epoch")], value="step",
                                      style={"button_width": "56px"}, layout=W.Layout(width="auto"))
        self.smoothing = W.FloatSlider(value=0.6, min=0.0, max=0.99, step=0.01, description="smoothing",
                                       readout_format=".2f", continuous_update=False)
        auto = dict(indent=False, layout=W.Layout(width="auto", margin="0 12px 0 0"))
        self.log_loss = W.Checkbox(value=False, description="log loss", **auto)
        self.log_lr = W.Checkbox(value=False, description="log LR", **auto)
        self.log_val = W.Checkbox(value=False, description="log val loss", **auto)
        for control in (self.x_mode, self.smoothing, self.log_loss, self.log_lr, self.log_val):
            control.observe(lambda _change: self.invalidate(), names="value")
        self.controls = W.HBox([W.Label("x axis"), self.x_mode, self.smoothing, self.log_loss, self.log_lr,
                                self.log_val],
                               layout=W.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = W.VBox([self.controls, self.fig])
        self._drawn: tuple | None = None

    def invalidate(self) -> None:
        self._drawn = None

    def _key(self, runs: list[RunState]) -> tuple:
        return (tuple((r.run_id, r.version) for r in runs), self.x_mode.value, self.smoothing.value,
                self.log_loss.value, self.log_lr.value, self.log_val.value)

    def update(self, runs: list[RunState], force: bool = False) -> bool:
        """Redraw for ``runs`` (first = primary) if anything changed; True if it redrew."""
        runs = runs[:SLOTS]
        self.watcher.flush()
        key = self._key(runs)
        if key == self._drawn and not force:
            return False
        by_epoch = self.x_mode.value == "epoch"
        with self.fig.batch_update():
            for slot in range(SLOTS):
                self._draw_slot(slot, runs[slot] if slot < len(runs) else None, by_epoch)
            self._draw_markers(runs, by_epoch)
            self._draw_shading(runs, by_epoch)
            layout = self.fig.layout
            layout.yaxis.type = "log" if self.log_loss.value else "linear"
            layout.yaxis2.type = "log" if self.log_lr.value else "linear"
            layout.yaxis3.type = "log" if self.log_val.value else "linear"
            layout.xaxis3.title.text = "epoch (training progress)" if by_epoch else "optimizer step"
            metrics = sorted({r.metric for r in runs}) or ["metric"]
            layout.yaxis4.title.text = "val " + "/".join(metrics)
        resend_visibility(self.fig)  # a view that rendered late still gets the traces shown
        self.smoother.forget({r.run_id for r in runs})
        self._drawn = key
        return True

    def _draw_slot(self, slot: int, run: RunState | None, by_epoch: bool) -> None:
        traces = self.fig.data[slot * PER_SLOT:(slot + 1) * PER_SLOT]
        if run is None:
            for t in traces:
                if t.visible:
                    t.update(x=[], y=[], visible=False)
            return
        spe = run.steps_per_epoch
        steps = run.series["step"].view
        xs = steps / spe if by_epoch else steps
        loss, lr = run.series["loss"].view, run.series["lr"].view
        smooth = self.smoother.smooth(run.run_id, loss, float(self.smoothing.value))
        name = short(run.run_id)
        raw, sm, lrt, vl, vm = traces
        x1, y1 = downsample(xs, loss, self.max_points)
        raw.update(x=x1, y=y1, visible=True, name=f"{name} raw")
        x2, y2 = downsample(xs, smooth, self.max_points)
        sm.update(x=x2, y=y2, visible=True, name=name, mode="lines" if len(x2) > 1 else "markers")
        x3, y3 = downsample(xs, lr, self.max_points)
        lrt.update(x=x3, y=y3, visible=True, name=f"{name} lr")
        epochs, estep, vloss, score = run.eval_arrays()
        ex = (epochs + 1) if by_epoch else estep
        vl.update(x=ex, y=vloss, visible=True, name=f"{name} val loss",
                  text=[f"epoch {epoch_label(int(e))}" for e in epochs],  # the hover names the epoch
                  hovertemplate="%{text}: val loss %{y:.4f}<extra>" + name + "</extra>")
        vm.update(x=ex, y=score, visible=True, name=f"{name} val {run.metric}", text=vl.text,
                  hovertemplate="%{text}: val " + run.metric + " %{y:.4f}<extra>" + name + "</extra>")

    def _draw_markers(self, runs: list[RunState], by_epoch: bool) -> None:
        traces = self.fig.data[SLOTS * PER_SLOT:]
        points: dict[str, tuple[list, list, list]] = {k: ([], [], []) for k in MARKERS}
        for run in runs:
            for m in run.markers():
                if m["kind"] not in points:
                    continue
                xs, ys, texts = points[m["kind"]]
                if by_epoch:
                    xs.append((m["epoch"] + 1) if m["epoch"] is not None else m["step"] / run.steps_per_epoch)
                else:
                    xs.append(m["step"])
                value = m["value"]
                if not np.isfinite(value):  # no validation yet: put it on the last loss value
                    loss = run.series["loss"].view
                    value = float(loss[-1]) if len(loss) else 0.0
                ys.append(value)
                texts.append(f"{short(run.run_id)} · epoch {epoch_label(m['epoch'])}: {m['text']}")
        for trace, kind in zip(traces, MARKERS):
            xs, ys, texts = points[kind]
            trace.update(x=xs, y=ys, text=texts, visible=bool(xs))

    def _draw_shading(self, runs: list[RunState], by_epoch: bool) -> None:
        """Every shown run's LR phases (as its events name them) behind the LR row, and its DPS
        stages as a band on top, each labelled where it is wide enough. One run fills the row;
        several share it in lanes, the first at the bottom, each lane named in its run's colour."""
        shapes, notes = [], list(self.title_annotations)
        lanes = max(len(runs), 1)
        total = max((max(r.n_steps, 1) * (1.0 / r.steps_per_epoch if by_epoch else 1.0) for r in runs), default=1.0)
        stage_names: dict[str, None] = {}
        for lane, run in enumerate(runs):
            scale = 1.0 / run.steps_per_epoch if by_epoch else 1.0
            low, high = lane / lanes, (lane + 1) / lanes

            def at(y: float) -> float:  # a height inside this run's lane
                return low + y * (high - low)

            def band(x0, x1, y0, y1, color, opacity, label, y_text):
                shapes.append(dict(type="rect", xref="x2", yref="y2 domain", x0=x0 * scale, x1=x1 * scale,
                                   y0=at(y0), y1=at(y1), fillcolor=color, opacity=opacity, layer="below",
                                   line_width=0))
                if (x1 - x0) * scale >= LABEL_MIN * total:
                    notes.append(dict(xref="x2", yref="y2 domain", x=(x0 + x1) / 2 * scale, y=at(y_text),
                                      text=label, showarrow=False,
                                      font=dict(size=11 if y_text < 0.9 and lanes == 1 else 9, color="#374151")))

            for x0, x1, phase in run.phase_spans():
                band(x0, x1, 0, 0.88, phase_color(phase), 0.55, PHASE_NAMES.get(phase, phase),
                     0.82 if lanes == 1 else 0.5)
            stages = run.stage_spans()
            for x0, x1, stage in stages[-400:]:
                band(x0, x1, 0.9, 1.0, STAGE_COLORS.get(stage, "#d1d5db"), 0.8, f"stage {stage}", 0.95)
            stage_names.update(dict.fromkeys(st for _, _, st in stages))
            if lanes > 1:  # which lane is which run
                notes.append(dict(xref="x2 domain", yref="y2 domain", x=0.005, y=at(0.5), xanchor="left",
                                  text=short(run.run_id, 20), showarrow=False, bgcolor="rgba(255,255,255,0.7)",
                                  font=dict(size=9, color=PALETTE[lane % len(PALETTE)])))
        if stage_names:  # a key for the band, also when every stage is too narrow to be named
            key = " ".join(f"<span style='color:{STAGE_COLORS.get(s, '#9ca3af')}'>■</span> {s}" for s in stage_names)
            notes.append(dict(xref="x2 domain", yref="y2 domain", x=1.0, y=1.0, xanchor="right",
                              yanchor="bottom", text=f"DPS stage {key}", showarrow=False,
                              font=dict(size=10, color="#374151")))
        self.fig.layout.shapes = shapes
        self.fig.layout.annotations = notes
