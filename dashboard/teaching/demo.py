"""The teaching demo's first part: move the settings, edit a validation-loss curve, and see the LR
of every step and the decision after every epoch of original, stable and adaptive side by side.

``TeachingView().widget`` is the whole page part. Every number it shows comes from
:func:`adaft_core.modes.teaching.compare`, which drives the engine's own ``lr_at`` and ``decide``
(``adaft_core.modes``) with the learner's curve: the view draws, it decides nothing. The curve is
chosen from presets (``adaft_core.modes.teaching.PRESETS``), typed as comma-separated numbers, or
edited one epoch at a time with two sliders. Redraws are instant (pure functions, no training).

The figure is created with its first drawing already in it (:func:`sync_state`): Voila connects
the page after every cell has run and drops the edits a FigureWidget received before that.
"""

from __future__ import annotations

import asyncio
import html
from copy import deepcopy

import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from adaft_core.events.display import epoch_label
from adaft_core.errors import ConfigError
from adaft_core.modes.teaching import (COMPARED, CURVE_EPOCHS, PRESETS, Knobs, Simulation, compare, curve_text,
                                       parse_curve, preset_curve)

from adaft_dashboard.views.figures import MARKERS
from adaft_dashboard.views.panels import ACTION_COLORS

MODE_COLORS = {"original": "#9ca3af", "stable": "#7c3aed", "adaptive": "#1f77b4"}
EDITED = "(edited)"
STYLE = {"description_width": "130px"}
LR_CHOICES = (1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)  # the slider's stops


def later(delay: float, fn) -> None:
    """Call ``fn`` after ``delay`` s on the kernel's event loop (where widget messages are handled),
    or at once without a running loop (plain scripts, tests)."""
    try:
        asyncio.get_running_loop().call_later(delay, fn)
    except RuntimeError:
        fn()


def sync_state(fig) -> None:
    """Make the widget state a browser view is created from (``_widget_data``/``_widget_layout``) the
    figure as drawn now. Plotly does this itself only when a FigureWidget is displayed on its own,
    not inside a box; and Voila connects the page after every cell has run, so the edits sent
    before that are lost. Call it after the first drawing, before the figure is displayed."""
    fig._widget_data = deepcopy(fig._data)
    fig._widget_layout = deepcopy(fig._layout_obj._props)


def summary_html(sims: dict[str, Simulation], curve_epochs: int) -> str:
    """Per mode, how long it trained and why it ended (the last decision's reason)."""
    rows = []
    for mode, sim in sims.items():
        last = sim.decisions[-1] if sim.decisions else None
        if last is None:
            why = "no epochs"
        elif sim.stopped:
            why = html.escape(last.reason.split(": ", 1)[-1])
        else:
            why = f"the curve ends after epoch {curve_epochs}; {html.escape(mode)} would go on"
        early = " <b style='color:#dc2626'>(early stop)</b>" if last is not None and last.early_stop else ""
        rows.append(f"<li><b style='color:{MODE_COLORS.get(mode, '#374151')}'>{html.escape(mode)}</b>: "
                    f"{sim.epochs} epochs{early} — {why}</li>")
    return f"<ul class='adaft-teaching-summary' style='margin:4px 0'>{''.join(rows)}</ul>"


def table_html(sims: dict[str, Simulation], curve) -> str:
    """Epoch by epoch: the curve's value, each mode's action (its reason on hover) and adaptive's
    reason in words; '—' once a mode has stopped."""
    modes = list(sims)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in modes)
    reason_of = "adaptive" if "adaptive" in sims else modes[-1]
    rows = []
    for e, value in enumerate(curve):
        cells = []
        for m in modes:
            d = sims[m].decisions[e] if e < len(sims[m].decisions) else None
            if d is None:
                cells.append("<td style='color:#9ca3af'>—</td>")
                continue
            color = ACTION_COLORS.get(d.action, "#374151")
            weight = "bold" if d.action != "continue" else "normal"
            cells.append(f"<td title='{html.escape(d.reason, quote=True)}' style='color:{color};"
                         f"font-weight:{weight}'>{html.escape(d.action)}</td>")
        r = sims[reason_of].decisions[e] if e < len(sims[reason_of].decisions) else None
        rows.append(f"<tr><td>{epoch_label(e)}</td><td>{value:.3f}</td>{''.join(cells)}"
                    f"<td style='text-align:left'>{html.escape(r.reason) if r else ''}</td></tr>")
    return ("<div style='max-height:260px;overflow-y:auto'><table class='adaft-teaching-decisions' "
            "style='font-size:12px;line-height:1.25'><tr><th>epoch</th><th>val loss</th>"
            f"{head}<th style='text-align:left'>{html.escape(reason_of)}: why</th></tr>{''.join(rows)}</table></div>")


def base_figure() -> go.Figure:
    """Two rows sharing the epoch axis: the LR of every step per mode; the curve with the decisions."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.5, 0.5],
                        subplot_titles=("learning rate of every optimizer step",
                                        "validation loss after every epoch, and what each mode decided"))
    for mode in COMPARED:
        fig.add_trace(go.Scatter(name=f"{mode} LR", x=[], y=[], mode="lines", line_shape="hv",
                                 line=dict(color=MODE_COLORS[mode], width=2.5 if mode == "adaptive" else 2)),
                      row=1, col=1)
    fig.add_trace(go.Scatter(name="val loss", x=[], y=[], mode="lines+markers", line=dict(color="#111827"),
                             hovertemplate="epoch %{x}: %{y:.3f}<extra></extra>"), row=2, col=1)
    for mode in COMPARED:
        fig.add_trace(go.Scatter(name=f"{mode} stops", x=[], y=[], mode="markers", text=[],
                                 marker=dict(**{**MARKERS["stop"], "color": MODE_COLORS[mode]}),
                                 hovertemplate="%{text}<extra>" + mode + "</extra>"), row=2, col=1)
    for kind in ("cooldown", "restart"):
        fig.add_trace(go.Scatter(name=f"adaptive {kind}", x=[], y=[], mode="markers", text=[], marker=MARKERS[kind],
                                 hovertemplate="%{text}<extra>adaptive</extra>"), row=2, col=1)
    fig.update_layout(height=560, margin=dict(l=60, r=30, t=40, b=40), template="plotly_white",
                      legend=dict(orientation="h", y=-0.1), hovermode="closest")
    fig.update_xaxes(title_text="epochs of training", row=2, col=1)
    fig.update_yaxes(title_text="LR", exponentformat="e", row=1, col=1)
    fig.update_yaxes(title_text="val loss", row=2, col=1)
    return fig


def draw(fig, sims: dict[str, Simulation], curve) -> None:
    """Fill ``fig`` (a ``base_figure``, plain or widget) from the simulations; x in epochs: step i
    starts at i / S, epoch e's validation is at e + 1 (its end)."""
    data = fig.data
    for i, mode in enumerate(COMPARED):
        sim = sims[mode]
        S = sim.steps_per_epoch
        data[i].update(x=[s / S for s in range(len(sim.lrs))] + [len(sim.lrs) / S],
                       y=list(sim.lrs) + [sim.lrs[-1] if sim.lrs else 0.0])
    data[3].update(x=[e + 1 for e in range(len(curve))], y=list(curve))
    for i, mode in enumerate(COMPARED):
        stops = [d for d in sims[mode].decisions if d.action == "stop"]
        data[4 + i].update(x=[d.epoch + 1 for d in stops], y=[d.value for d in stops],
                           text=[d.reason for d in stops])
    adaptive = sims["adaptive"].decisions
    for i, kind in enumerate(("cooldown", "restart")):
        ds = [d for d in adaptive if d.action == kind]
        data[7 + i].update(x=[d.epoch + 1 for d in ds], y=[d.value for d in ds], text=[d.reason for d in ds])


class TeachingView:
    """Sliders for the modes' settings, a curve editor, the figure, the summary and the table."""

    def __init__(self, preset: str = "overfits", knobs: Knobs = Knobs(), epochs: int = CURVE_EPOCHS):
        self.curve = preset_curve(preset, epochs)
        lrs = sorted({*LR_CHOICES, float(knobs.lr)})
        self.lr = W.SelectionSlider(options=[(f"{v:.0e}", v) for v in lrs], value=float(knobs.lr),
                                    description="learning rate", style=STYLE, layout=W.Layout(width="420px"))
        self.warmup = W.IntSlider(value=knobs.warmup_epochs, min=0, max=10, description="warm-up epochs",
                                  style=STYLE, layout=W.Layout(width="420px"))
        self.cooldown = W.IntSlider(value=knobs.cooldown_epochs, min=0, max=15, description="cooldown epochs",
                                    style=STYLE, layout=W.Layout(width="420px"))
        self.patience = W.IntSlider(value=knobs.patience, min=0, max=10, description="patience", style=STYLE,
                                    layout=W.Layout(width="420px"))
        self.restarts = W.Checkbox(value=knobs.restarts, description="restarts (adaptive)", indent=False)
        self.steps = W.IntSlider(value=knobs.steps_per_epoch, min=1, max=50, description="steps per epoch",
                                 style=STYLE, layout=W.Layout(width="420px"))
        self.preset = W.Dropdown(options=[*PRESETS, EDITED], value=preset, description="curve preset", style=STYLE)
        self.text = W.Text(value=curve_text(self.curve), description="val losses", continuous_update=False,
                           style=STYLE, layout=W.Layout(width="98%"))
        self.edit_epoch = W.IntSlider(value=1, min=1, max=len(self.curve), description="edit epoch", style=STYLE)
        self.edit_value = W.FloatSlider(value=self.curve[0], min=0.0, max=2.0, step=0.005, readout_format=".3f",
                                        description="its val loss", style=STYLE)
        self.message = W.HTML()
        self.summary = W.HTML()
        self.table = W.HTML()
        self.sims = compare(self.curve, self.knobs())
        base = base_figure()
        draw(base, self.sims, self.curve)
        self.fig = go.FigureWidget(base)  # created with its first drawing
        sync_state(self.fig)
        self._render_text()
        self._quiet = False
        for w in (self.lr, self.warmup, self.cooldown, self.patience, self.restarts, self.steps):
            w.observe(lambda _c: self.redraw(), names="value")
        self.preset.observe(lambda c: self._on_preset(c["new"]), names="value")
        self.text.observe(lambda c: self._on_text(c["new"]), names="value")
        self.edit_epoch.observe(lambda _c: self._sync_edit(), names="value")
        self.edit_value.observe(lambda c: self._on_edit(c["new"]), names="value")
        settings = W.VBox([W.HTML("<b>Settings</b> (warm-up applies to every mode; cooldown, patience and "
                                  "restarts to adaptive)"), self.lr, self.warmup, self.cooldown, self.patience,
                           self.restarts, self.steps], layout=W.Layout(width="450px", min_width="450px"))
        editor = W.VBox([W.HTML("<b>Validation loss</b>: pick a preset, type the values, or edit one epoch"),
                         self.preset, self.text, W.HBox([self.edit_epoch, self.edit_value]), self.message],
                        layout=W.Layout(flex="1 1 auto", min_width="0"))
        self.widget = W.VBox([W.HBox([settings, editor]), self.summary, self.fig, self.table],
                             layout=W.Layout(width="100%"))

    def knobs(self) -> Knobs:
        return Knobs(lr=float(self.lr.value), warmup_epochs=int(self.warmup.value),
                     cooldown_epochs=int(self.cooldown.value), patience=int(self.patience.value),
                     restarts=bool(self.restarts.value), steps_per_epoch=int(self.steps.value))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ curve edits
    def set_curve(self, values, preset: str | None = None) -> None:
        """Use ``values`` as the curve (from a preset, the text box or the point editor) and redraw."""
        self.curve = list(values)
        self._quiet = True
        try:
            if preset is not None or self.preset.value != EDITED:
                self.preset.value = preset or EDITED
            self.text.value = curve_text(self.curve)
            self.edit_epoch.max = len(self.curve)
            self._sync_edit()
        finally:
            self._quiet = False
        self.message.value = ""
        self.redraw()

    def _on_preset(self, name: str) -> None:
        if not self._quiet and name in PRESETS:
            self.set_curve(preset_curve(name, len(self.curve) or CURVE_EPOCHS), preset=name)

    def _on_text(self, text: str) -> None:
        if self._quiet:
            return
        try:
            values = parse_curve(text)
        except ConfigError as exc:
            self.message.value = f"<span style='color:#dc2626'>{html.escape(str(exc))}</span>"
            return
        self.set_curve(values)

    def _sync_edit(self) -> None:
        quiet, self._quiet = self._quiet, True
        try:
            self.edit_value.value = self.curve[self.edit_epoch.value - 1]
        finally:
            self._quiet = quiet

    def _on_edit(self, value: float) -> None:
        if self._quiet:
            return
        curve = list(self.curve)
        curve[self.edit_epoch.value - 1] = round(float(value), 3)
        self.set_curve(curve)

    # ------------------------------------------------------------------ drawing
    def _render_text(self) -> None:
        self.summary.value = summary_html(self.sims, len(self.curve))
        self.table.value = table_html(self.sims, self.curve)

    def redraw(self) -> None:
        """Simulate every mode on the curve with the current settings and redraw everything."""
        self.sims = compare(self.curve, self.knobs())
        with self.fig.batch_update():
            draw(self.fig, self.sims, self.curve)
        self._render_text()
