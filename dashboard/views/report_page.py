"""A finished run or sweep as one self-contained HTML page (``adaft report``, the tabs' "export page").

The page is the dashboard's own views, drawn once from the run log and frozen: the Live tab's
figure (:class:`~.figures.CurvesView`: training loss, LR with its phases and DPS stages, validation
with the best epoch, cooldowns, restarts and the stop), its decision panel in words
(:func:`~.panels.render`), the scores per split and per entity type, and for strategy runs the
Masks tab's heatmaps of the last selection (:class:`~.masks.MasksView`). A sweep's page holds
``adaft sweep report``'s table and figure (``adaft_core.sweep``). The figures are the views'
``FigureWidget``\\ s copied to plain ``plotly.graph_objects.Figure``\\ s, so what the page shows is
what the events say, drawn by the same code as the live page; nothing is re-derived here.

Plotly's JavaScript is inlined once, in the first figure; the page needs no server, no kernel and
no network. Curves are downsampled to :data:`PAGE_POINTS` per trace (a 50-epoch run's page stays
well under 5 MB, most of it Plotly itself).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from adaft_core.errors import ConfigError
from adaft_core.report import RunFacts, per_type_rows

from adaft_dashboard.views.figures import CurvesView
from adaft_dashboard.views.masks import MasksView
from adaft_dashboard.views.panels import render, status_badge
from adaft_dashboard.views.plotting import fmt
from adaft_dashboard.live.state import Store

PAGE_POINTS = 1000  # per trace: the page's curves (the run log keeps every step)
EXPORTS = "exports"  # <runs>/exports/: where the tabs' "export page" writes
STYLE = ("body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827}"
         "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #e5e7eb;"
         "text-align:right}td:first-child,th:first-child{text-align:left}h2{margin-top:28px}"
         ".adaft-note{color:#6b7280;font-size:12px}")


# ---------------------------------------------------------------------- one run
def run_page(run_dir: str | Path) -> str:
    """The HTML page of the run in ``run_dir``."""
    from adaft_core.store.run_log import read_events
    from adaft_core.store.runs import EVENTS_FILE

    run_dir = Path(run_dir)
    events = read_events(run_dir / EVENTS_FILE)
    if not events:
        raise ConfigError(f"{run_dir / EVENTS_FILE} holds no events; there is nothing to report")
    store = Store()
    store.apply_all(events)
    run = store.ordered()[0]
    facts = RunFacts.from_events(events, run_dir.name)
    figures = [_curves(run)]
    parts = [f"<h1>{html.escape(run.run_id)} {status_badge(run.status)}</h1>", _about(facts),
             "<h2>Training</h2>", "{figure0}", "<h2>Decisions</h2>", render(run, history=10 ** 6),
             _scores_html(facts)]
    if run.masks:
        kept, inside = _masks(run, run_dir)
        figures += [kept, inside]
        parts += ["<h2>Masks</h2>", f"<p class='adaft-note'>the last of {len(run.masks)} selections "
                  f"(step {run.masks[-1].get('step')}); every selection is in the run log's mask events</p>",
                  "{figure1}", "{figure2}"]
    return _page(f"adaft run {run.run_id}", parts, figures)


def _curves(run) -> go.Figure:
    view = CurvesView(max_points=PAGE_POINTS)
    view.update([run], force=True)
    fig = go.Figure(view.fig)
    for trace in fig.data:  # half the bytes, no visible difference
        if trace.type == "scatter" and trace.x is not None and len(trace.x) > 50:
            trace.update(x=_f32(trace.x), y=_f32(trace.y))
    return fig


def _f32(values):
    import numpy as np

    return np.asarray(values, dtype=np.float32)


def _masks(run, run_dir: Path) -> tuple[go.Figure, go.Figure]:
    view = MasksView()
    view.paths = lambda _run_id: run_dir
    view.update([run])
    return go.Figure(view.fig), go.Figure(view.fig_inside)


def _about(facts: RunFacts) -> str:
    s, cfg = facts.started, facts.config
    items = [("task", s.get("task")), ("model", cfg.get("model")), ("data", cfg.get("data")),
             ("mode", s.get("mode")), ("strategy", s.get("strategy")), ("seed", s.get("seed")),
             ("epochs", facts.epochs), ("end", facts.end_text()),
             ("adaft", (s.get("versions") or {}).get("adaft"))]
    rows = "".join(f"<tr><th>{k}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                   for k, v in items if v not in (None, ""))
    return f"<table class='adaft-about'>{rows}</table>"


def _scores_html(facts: RunFacts) -> str:
    scores = facts.scores()
    if not scores:
        return ""
    names = list(dict.fromkeys(n for m in scores.values() for n, v in m.items()
                               if isinstance(v, (int, float)) and not isinstance(v, bool)))[:8]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = "".join(f"<tr><td>{html.escape(split)}</td>" + "".join(f"<td>{fmt(m.get(n))}</td>" for n in names)
                   + "</tr>" for split, m in scores.items())
    out = [f"<h2>Scores</h2><table class='adaft-scores'><tr><th>split</th>{head}</tr>{rows}</table>"]
    for split, metrics in scores.items():
        per_type = per_type_rows(metrics)
        if per_type:
            body = "".join(f"<tr><td>{html.escape(t)}</td><td>{fmt(m.get('f1'))}</td><td>{fmt(m.get('precision'))}"
                           f"</td><td>{fmt(m.get('recall'))}</td><td>{m.get('support', '')}</td></tr>"
                           for t, m in per_type)
            out.append(f"<h3>per type, {html.escape(split)}</h3><table class='adaft-per-type'><tr><th>type</th>"
                       f"<th>f1</th><th>precision</th><th>recall</th><th>support</th></tr>{body}</table>")
    return "".join(out)


# ---------------------------------------------------------------------- a sweep
def sweep_page(name: str, runs_dir: str | Path) -> str:
    """The HTML page of sweep ``name``: ``adaft sweep report``'s table and figure, and its points."""
    from adaft_core.sweep import report, sweep_status
    from adaft_core.sweep.aggregate import figure, to_markdown

    manifest = sweep_status(name, runs_dir)
    table = report(name, runs_dir)
    metric = manifest.metric or "score"
    cells = _markdown_table_html(to_markdown(table, metric))
    points = "".join(f"<tr><td>{html.escape(p.run_id)}</td>"
                     f"<td>{html.escape(str(p.status))}</td><td>{fmt(p.score)}</td><td>{p.epochs or ''}</td></tr>"
                     for p in manifest.points)
    parts = [f"<h1>sweep {html.escape(name)}</h1>", "<h2>Per cell</h2>", cells, "{figure0}",
             f"<h2>Points</h2><table class='adaft-points'><tr><th>point</th><th>status</th><th>test {metric}</th>"
             f"<th>epochs</th></tr>{points}</table>"]
    return _page(f"adaft sweep {name}", parts, [figure(table, metric)])


def _markdown_table_html(md: str) -> str:
    """``aggregate.to_markdown``'s table as HTML (the same rows and columns as ``adaft sweep report``)."""
    lines = [line.strip().strip("|").split("|") for line in md.splitlines() if line.strip()]
    head, body = lines[0], lines[2:]
    th = "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
    tr = "".join("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>" for row in body)
    return f"<table class='adaft-cells'><tr>{th}</tr>{tr}</table>"


# ---------------------------------------------------------------------- the page and its file
def _page(title: str, parts: list[str], figures: list[go.Figure]) -> str:
    body = "\n".join(parts)
    for i, fig in enumerate(figures):
        div = pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), div_id=f"adaft-figure-{i}",
                          config={"responsive": True, "displaylogo": False})
        body = body.replace("{figure%d}" % i, f"<div class='adaft-figure'>{div}</div>")
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}<p class='adaft-note'>written by adaft on {stamp} from the "
            "run log; opens offline</p></body></html>")


def write_page(page: str, out: str | Path) -> Path:
    """Write ``page`` to ``out`` (folders created); a path that cannot be written is one ConfigError."""
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise ConfigError(f"cannot write the page to {out}: {exc.strerror or exc}") from exc
    return out


def export_page(runs_dir: str | Path, *, run: str | None = None, sweep: str | None = None) -> Path:
    """The tabs' "export page": the page of ``run`` (a run folder name) or ``sweep`` into
    ``<runs>/exports/``; the path written."""
    from adaft_core.store.runs import find_run

    stamp = time.strftime("%Y%m%d-%H%M%S")
    if sweep is not None:
        page, name = sweep_page(sweep, runs_dir), f"sweep-{sweep}-{stamp}.html"
    else:
        path = find_run(runs_dir, run or "")
        page, name = run_page(path), f"{path.name}-{stamp}.html"
    return write_page(page, Path(runs_dir) / EXPORTS / name)
