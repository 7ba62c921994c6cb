"""A sweep's results per cell (every factor but the seed) as a pandas DataFrame, and its figure.

Per cell: ``runs`` (points with a test score), ``mean`` and ``std`` (sample standard deviation,
ddof 1; NaN for a single run) of the headline test metric, ``converged`` (runs scoring > 0: the
adaptive paper counts seeds whose F1 stays at 0 as failed), and the mean ``epochs`` and
``wall_time`` (seconds). pandas does the grouping (no hand-written statistics).
"""

from __future__ import annotations

from typing import Any, Sequence

SIZE_FACTORS = ("train_fraction", "train_size")  # the data-size axis of the figure
STAT_COLUMNS = ("runs", "mean", "std", "converged", "epochs", "wall_time")


def aggregate(rows: Sequence[dict[str, Any]], factors: Sequence[str], baseline: tuple[str, Any] | None = None):
    """``rows``: one dict per point with its factor values and ``score``, ``epochs``, ``wall_time``.
    With ``baseline`` (``("strategy", "vanilla")``), the paired columns of
    :func:`adaft_core.sweep.paired.paired` follow the statistics."""
    import pandas as pd

    if baseline is not None:
        from adaft_core.sweep.paired import paired

        table = aggregate(rows, factors)
        extra = paired(rows, factors, baseline)
        cell = [f for f in factors if f != "seed"]
        return table.merge(extra, on=cell, how="left") if cell else table

    cell = [f for f in factors if f != "seed"]
    frame = pd.DataFrame(list(rows), columns=[*factors, "score", "epochs", "wall_time"])
    frame = frame[frame["score"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=[*cell, *STAT_COLUMNS])
    if not cell:  # only seeds vary: one cell
        frame = frame.assign(_all="all")
        cell_keys = ["_all"]
    else:
        cell_keys = cell
    grouped = frame.groupby(cell_keys, sort=False, dropna=False)
    out = grouped.agg(runs=("score", "size"), mean=("score", "mean"), std=("score", "std"),
                      converged=("score", lambda s: int((s > 0).sum())),
                      epochs=("epochs", "mean"), wall_time=("wall_time", "mean")).reset_index()
    return out.drop(columns=["_all"], errors="ignore")[[*cell, *STAT_COLUMNS]]


def to_markdown(table, metric: str = "score", baseline: tuple[str, Any] | None = None) -> str:
    """A Markdown table; mean ± std in one column as a paper would print it; the paired columns
    (wins/ties/losses, mean difference, p, std ratio) when the table has them."""
    from adaft_core.sweep.paired import PAIRED_COLUMNS, paired_headers, paired_text

    cell = [c for c in table.columns if c not in STAT_COLUMNS and c not in PAIRED_COLUMNS]
    compared = baseline is not None and "pairs" in table.columns
    head = [*cell, "runs", f"{metric} mean ± std", "converged", "epochs", "wall time (s)"]
    if compared:
        head += paired_headers(baseline)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in table.iterrows():
        std = "" if row["std"] != row["std"] else f" ± {row['std']:.3f}"  # NaN: one run
        lines.append("| " + " | ".join([*(str(row[c]) for c in cell), str(int(row["runs"])),
                                        f"{row['mean']:.3f}{std}", f"{int(row['converged'])}/{int(row['runs'])}",
                                        f"{row['epochs']:.1f}", f"{row['wall_time']:.0f}",
                                        *(paired_text(row.to_dict()) if compared else ())])
                     + " |")
    return "\n".join(lines)


def figure(table, metric: str = "score", split: str = "test"):
    """Score against data size with error bars, one line per method; epochs against data size beside it
    (a grid without a size factor: one category per cell on the x axis)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    size = next((f for f in SIZE_FACTORS if f in table.columns), None)
    from adaft_core.sweep.paired import PAIRED_COLUMNS

    methods = [c for c in table.columns if c not in STAT_COLUMNS and c not in PAIRED_COLUMNS and c != size]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"{split} {metric}", "epochs"))
    groups = table.groupby(methods, sort=False) if methods else [((), table)]
    for i, (key, part) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        label = " / ".join(map(str, key)) or "runs"
        x = part[size] if size else [label] * len(part)  # no size axis: one category per cell
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        fig.add_trace(go.Scatter(x=x, y=part["mean"], error_y=dict(type="data", array=part["std"].fillna(0)),
                                 mode="lines+markers", name=label, legendgroup=label, line=dict(color=color)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=part["epochs"], mode="lines+markers", name=label, legendgroup=label,
                                 showlegend=False, line=dict(color=color)), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text=size or " / ".join(methods), type="log" if size else "category", row=1, col=col)
    fig.update_layout(height=420, width=980, template="plotly_white", margin=dict(t=40))
    return fig
