"""The study notebooks' Plotly figures, built from the tables of :mod:`.sweeps`,
:mod:`.masks_compare` and :mod:`.drift` (they draw, they compute nothing new)."""

from __future__ import annotations

from typing import Mapping

from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def _colors(names) -> dict:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(dict.fromkeys(names))}


def _layer_label(group) -> str:
    """A layer as the figures show it, counted from 1 like the epochs (the tables count from 0);
    other groups (``pooler``, ``head``) as they are."""
    text = str(group)
    return str(int(text) + 1) if text.isdigit() else text


def modes_figure(table, metric: str = "f1", method: str = "mode", row: str = "data"):
    """Score (mean ± std over seeds) and epochs against the training-set size: one row per dataset,
    one line per mode; x is the number of training examples the runs used (log scale)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = list(dict.fromkeys(table[row])) or ["(none)"]
    size = "train_examples" if table["train_examples"].notna().all() else "train_fraction"
    fig = make_subplots(rows=len(rows), cols=2, horizontal_spacing=0.1, vertical_spacing=0.16,
                        subplot_titles=[t for r in rows for t in (f"{r}: test {metric}", f"{r}: epochs trained")])
    colors = _colors(table[method])
    for i, name in enumerate(rows, start=1):
        part = table[table[row] == name]
        for m, runs in part.groupby(method, sort=False):
            runs = runs.sort_values(size)
            x = runs[size].astype(float)
            text = [f"{f:g} of the training set" for f in runs["train_fraction"]]
            fig.add_trace(go.Scatter(x=x, y=runs["mean"], error_y=dict(type="data", array=runs["std"].fillna(0)),
                                     mode="lines+markers", name=str(m), legendgroup=str(m), showlegend=i == 1,
                                     line=dict(color=colors[m]), text=text,
                                     hovertemplate="%{x} examples (%{text}): %{y:.3f}<extra>" + str(m) + "</extra>"),
                          row=i, col=1)
            fig.add_trace(go.Scatter(x=x, y=runs["epochs"], mode="lines+markers", name=str(m), legendgroup=str(m),
                                     showlegend=False, line=dict(color=colors[m], dash="dot"), text=text,
                                     hovertemplate="%{x} examples (%{text}): %{y:.1f} epochs<extra>" + str(m)
                                     + "</extra>"), row=i, col=2)
        for col in (1, 2):
            fig.update_xaxes(type="log", title_text="training examples" if size == "train_examples"
                             else "train fraction", row=i, col=col)
        fig.update_yaxes(rangemode="tozero", row=i, col=1)
        fig.update_yaxes(rangemode="tozero", row=i, col=2)
    fig.update_layout(height=300 * len(rows) + 80, width=980, template="plotly_white",
                      margin=dict(t=50, l=60, r=20, b=50), legend=dict(title=method))
    return fig


def overlap_figure(overlap):
    """Jaccard overlap per transformer layer, one line per pair of runs, with its chance level dashed.
    The axis counts the layers from 1, like the epochs (the table's ``layer`` column counts from 0)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    colors = _colors(overlap["pair"])
    for pair, part in overlap.groupby("pair", sort=False):
        layer = part["layer"] + 1
        fig.add_trace(go.Scatter(x=layer, y=part["jaccard"], mode="lines+markers", name=pair,
                                 legendgroup=pair, line=dict(color=colors[pair])))
        fig.add_trace(go.Scatter(x=layer, y=part["chance"], mode="lines", name=f"{pair}: chance",
                                 legendgroup=pair, showlegend=False,
                                 line=dict(color=colors[pair], dash="dash", width=1),
                                 hovertemplate="chance level %{y:.3f}<extra>" + pair + "</extra>"))
    fig.update_layout(title="Masks in common per layer (Jaccard; dashed: two random masks of the same sizes)",
                      xaxis=dict(title="transformer layer (from 1)", dtick=1),
                      yaxis=dict(title="Jaccard overlap", range=[0, 1]),
                      height=380, width=980, template="plotly_white", margin=dict(t=50, l=60, r=20, b=50))
    return fig


def head_maps_figure(maps: Mapping[str, object]):
    """One heatmap per labelled run: layers × (Q, K, V, O heads), the kept fraction of each head."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = list(maps)
    cols = 2 if len(labels) > 1 else 1
    n_rows = (len(labels) + cols - 1) // cols
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=labels, horizontal_spacing=0.08,
                        vertical_spacing=0.18)
    for i, label in enumerate(labels):
        frame = maps[label]
        fig.add_trace(go.Heatmap(z=frame.values, x=list(frame.columns),
                                 y=[f"layer {_layer_label(r)}" for r in frame.index],
                                 zmin=0, zmax=1, colorscale="Viridis", showscale=i == 0,
                                 colorbar=dict(title="kept"),
                                 hovertemplate="%{y}, head %{x}: %{z:.2f} kept<extra>" + label + "</extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(tickangle=-90, tickfont=dict(size=8))
    fig.update_layout(height=260 * n_rows + 80, width=980, template="plotly_white",
                      margin=dict(t=50, l=60, r=20, b=40),
                      title="Kept fraction per attention head (q/k/v: row blocks, o: column blocks)")
    return fig


def drift_figure(final, over_epochs, by: str = "strategy"):
    """Left: ‖W − W⁰‖/‖W⁰‖ per layer at the end (mean ± std over seeds); right: the layers' mean
    drift after every epoch; one colour per strategy."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("drift per layer at the end", "mean layer drift per epoch"),
                        horizontal_spacing=0.1)
    colors = _colors(list(final[by]) + list(over_epochs[by]))
    for name, part in final.groupby(by, sort=False):
        fig.add_trace(go.Scatter(x=[_layer_label(g) for g in part["group"]], y=part["mean"], mode="lines+markers",
                                 name=str(name),
                                 legendgroup=str(name), line=dict(color=colors[name]),
                                 error_y=dict(type="data", array=part["std"].fillna(0))), row=1, col=1)
    for name, part in over_epochs.groupby(by, sort=False):
        fig.add_trace(go.Scatter(x=part["epoch"], y=part["mean"], mode="lines+markers", name=str(name),
                                 legendgroup=str(name), showlegend=False, line=dict(color=colors[name]),
                                 error_y=dict(type="data", array=part["std"].fillna(0))), row=1, col=2)
    fig.update_xaxes(title_text="layer from 1 (pooler, head: outside the layers)", type="category", row=1, col=1)
    fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=2)
    fig.update_yaxes(title_text="‖W − W⁰‖ / ‖W⁰‖", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(height=400, width=980, template="plotly_white", margin=dict(t=50, l=70, r=20, b=50),
                      legend=dict(title=by))
    return fig
