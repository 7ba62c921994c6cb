"""A sweep's points as table rows filled in from the live run states, and its cells (pure, no widgets).

The manifest (``<runs>/sweeps/<name>/sweep.json``, rewritten by ``adaft sweep`` after every
point) says which points exist, their run ids and how each one ended; the dashboard's store
(:mod:`.state`, fed by the run logs) says what a point's run is doing right now. ``point_rows``
merges the two: a run the store knows is shown from its events (``running`` with its current
epoch, ``done`` with its test score, ``failed`` with its error, ``interrupted`` when its process
is gone), except that a run the store still sees as live while the manifest has recorded its end
shows the manifest's word (the page learns of a dead process a scan later); a point without a run
log shows the manifest's status (``queued``, or ``failed`` with why its launch failed).

``cells_table`` lays the aggregate (``adaft_core.sweep.aggregate``) over every cell of the grid,
so the table and figure keep one row / one line per cell while the points finish.
"""

from __future__ import annotations

import html
import itertools
import math
from typing import Any

from adaft_core.events.display import epoch_label
from adaft_core.sweep.aggregate import STAT_COLUMNS, aggregate
from adaft_core.sweep.paired import PAIRED_COLUMNS, default_baseline, paired_headers, paired_text
from adaft_core.sweep.manifest import DONE, Manifest, Point

from adaft_dashboard.views.panels import status_badge
from adaft_dashboard.views.plotting import fmt
from adaft_dashboard.live.state import RunState

ENDED = (*DONE, "failed", "stopped", "interrupted", "unreadable")  # the manifest has recorded the end


def _blank(point: Point) -> dict[str, Any]:
    return {"run_id": point.run_id, "values": dict(point.values), "status": point.status, "detail": point.status,
            "epoch": None, "max_epochs": None, "score": None, "epochs": None, "wall_time": None, "reason": None}


def _from_manifest(point: Point) -> dict[str, Any]:
    row = _blank(point)
    row.update(score=point.score, epochs=point.epochs, wall_time=point.wall_time, reason=point.reason)
    if point.status in DONE:
        row["status"] = "done"
    elif point.status == "running":  # the manifest of a sweep still running: no run log read yet
        row["status"] = "running"
    return row


def _from_run(point: Point, run: RunState) -> dict[str, Any]:
    row, ended = _blank(point), run.ended or {}
    row.update(detail=run.status, max_epochs=run.config.get("max_epochs") or run.started.get("max_epochs"),
               wall_time=ended.get("wall_time"))
    if run.live:
        steps = run.series["epoch"].view
        row.update(status="running", epoch=epoch_label(int(steps[-1]) if len(steps) else len(run.evals)))
        return row
    row["epochs"] = ended.get("epochs", len(run.evals))
    if run.status in DONE:
        test = run.test.get("score") if run.test else (ended.get("test") or {}).get(run.metric)
        row.update(status="done", score=test)
    else:
        row["status"] = run.status
        row["reason"] = ended.get("error") or point.reason or (
            "process gone" if run.status == "interrupted" else None)
    return row


def point_rows(manifest: Manifest, runs: dict[str, RunState]) -> list[dict[str, Any]]:
    """One row per point, in grid order (see the module docstring for where each fact comes from)."""
    out = []
    for point in manifest.points:
        run = runs.get(point.run_id)
        known = run is not None and bool(run.started)
        if known and not (run.live and point.status in ENDED):
            out.append(_from_run(point, run))
        else:
            out.append(_from_manifest(point))
    return out


def results(rows: list[dict[str, Any]]) -> tuple:
    """What the aggregate depends on: the finished points' results (a redraw key)."""
    return tuple((r["run_id"], r["score"], r["epochs"], r["wall_time"]) for r in rows if r["status"] == "done")


def sweep_table(manifest: Manifest, rows: list[dict[str, Any]]):
    """``adaft_core.sweep.aggregate`` of the points done so far (a pandas DataFrame per cell), with
    the paired columns against the grid's natural baseline (vanilla, else the original mode)."""
    records = [{**r["values"], "score": r["score"] if r["status"] == "done" else None, "epochs": r["epochs"],
                "wall_time": r["wall_time"]} for r in rows]
    factors = manifest.grid.get("factors", {})
    return aggregate(records, list(factors), default_baseline(factors))


def cells_table(factors: dict[str, list], table):
    """Every cell of the grid (every factor but the seed) with its statistics; NaN where no point
    of the cell is done yet, so a figure built from it has all its lines from the start."""
    import pandas as pd

    cell = [f for f in factors if f != "seed"]
    stats = [c for c in (*STAT_COLUMNS, *PAIRED_COLUMNS) if c in table.columns]
    known = {tuple(rec[c] for c in cell): rec for rec in table.to_dict("records")}
    empty = {"runs": 0, "pairs": 0, **{c: math.nan for c in stats if c not in ("runs", "pairs")}}
    rows = [{**dict(zip(cell, combo)), **{c: known.get(combo, empty)[c] for c in stats}}
            for combo in itertools.product(*(factors[c] for c in cell))]
    return pd.DataFrame(rows, columns=[*cell, *stats])


# ---------------------------------------------------------------------- HTML
_TH = "<th style='text-align:left;padding:2px 8px'>{}</th>"
_TD = "<td style='padding:2px 8px'>{}</td>"


def _progress(row: dict[str, Any], metric: str) -> str:
    if row["status"] == "running":
        if row["epoch"] is None:
            return "starting"
        of = f"/{row['max_epochs']}" if row["max_epochs"] else ""
        return f"epoch {row['epoch']}{of}"
    if row["status"] == "done":
        epochs = f" · {row['epochs']} epochs" if row["epochs"] is not None else ""
        return f"<b>{html.escape(metric)} {fmt(row['score'])}</b>{epochs}"
    if row["reason"]:
        return f"<span style='color:#b45309'>{html.escape(str(row['reason']))}</span>"
    return ""


def points_html(rows: list[dict[str, Any]], factors: list[str], metric: str) -> str:
    """The grid as a table: one row per point, its factor values, status and progress or result."""
    if not rows:
        return "<i>This sweep has no points.</i>"
    head = "".join(_TH.format(html.escape(h)) for h in ("run", *factors, "status", ""))
    body = []
    for r in rows:
        cells = [html.escape(r["run_id"]), *(html.escape(str(r["values"].get(f, "–"))) for f in factors),
                 status_badge(r["status"]), _progress(r, metric)]
        body.append(f"<tr class='adaft-point' data-run='{html.escape(r['run_id'])}' "
                    f"data-status='{html.escape(r['status'])}'>" + "".join(_TD.format(c) for c in cells) + "</tr>")
    return (f"<table class='adaft-sweep-points' style='border-collapse:collapse;font-size:13px'><tr>{head}</tr>"
            + "".join(body) + "</table>")


def cells_html(cells, metric: str, baseline: tuple[str, Any] | None = None) -> str:
    """The aggregate per cell, as ``adaft sweep report`` prints it (mean ± sample std; with
    ``baseline``, the paired columns of ``adaft sweep report --baseline``)."""
    cell = [c for c in cells.columns if c not in STAT_COLUMNS and c not in PAIRED_COLUMNS]
    compared = baseline is not None and "pairs" in cells.columns
    head = "".join(_TH.format(html.escape(h)) for h in (*cell, "runs", f"test {metric} mean ± std", "converged",
                                                         "epochs", "wall time",
                                                         *(paired_headers(baseline) if compared else ())))
    body = []
    for rec in cells.to_dict("records"):
        runs = int(rec["runs"])
        std = "" if not math.isfinite(rec["std"]) else f" ± {rec['std']:.3f}"
        stats = [str(runs), f"{fmt(rec['mean'], '.3f')}{std}" if runs else "–",
                 f"{int(rec['converged'])}/{runs}" if runs else "–", fmt(rec["epochs"], ".1f"),
                 "–" if not math.isfinite(rec["wall_time"]) else f"{rec['wall_time']:.0f} s",
                 *(paired_text(rec) if compared else ())]
        body.append("<tr class='adaft-cell'>" + "".join(_TD.format(html.escape(str(rec[c]))) for c in cell)
                    + "".join(_TD.format(s) for s in stats) + "</tr>")
    return (f"<table class='adaft-sweep-cells' style='border-collapse:collapse;font-size:13px'><tr>{head}</tr>"
            + "".join(body) + "</table>")
