"""The Sweeps tab: the sweeps of the runs folder, the grid filling in live, the aggregate table and figure.

Sweeps are found as ``<runs>/sweeps/*/sweep.json`` (the manifests ``adaft sweep`` rewrites
atomically after every point). ``update(now)`` is called by the UI pump: the folder is listed
every ``scan_interval`` seconds, the shown sweep's manifest is stat-ed every tick and read again
only when its modification time or size changed; each point's row then comes from the manifest
and the live run state the dashboard already holds for its run (:mod:`.sweep_rows`). The
points table is redrawn when a row changes, the aggregate table and figure when a point's result
changes. The figure is ``adaft_core.sweep.aggregate.figure`` over every cell of the grid, built
once per grid as a ``FigureWidget`` and then updated in place (whole arrays, one
``batch_update``). Picking a point in the list opens its run in the Live tab (``on_open``).
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Callable

import ipywidgets as W
import plotly.graph_objects as go

from adaft_core.errors import ConfigError
from adaft_core.sweep.aggregate import figure
from adaft_core.sweep.paired import default_baseline
from adaft_core.sweep.manifest import MANIFEST, Manifest, load_manifest

from adaft_dashboard.views.plotting import ViewWatcher
from adaft_dashboard.live.state import RunState
from adaft_dashboard.views.sweep_rows import cells_html, cells_table, point_rows, points_html, results, sweep_table


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class SweepsView:
    """The sweep chooser, the points table and list, the per-cell table and the figure."""

    def __init__(self, runs_dir: str | Path, runs: Callable[[], dict[str, RunState]],
                 on_open: Callable[[str], str | None] | None = None, scan_interval: float = 2.0):
        self.root = Path(runs_dir) / "sweeps"
        self.runs = runs
        self.on_open = on_open
        self.scan_interval = scan_interval
        self.choose = W.Dropdown(options=[], description="sweep", layout=W.Layout(width="420px"))
        self.summary = W.HTML()
        self.points = W.HTML()
        self.pick = W.Select(options=[], rows=6, description="open run", layout=W.Layout(width="520px"),
                             tooltip="a point's run opens in the Live tab")
        self.message = W.HTML()
        self.export_page = W.Button(description="Export page", icon="file", layout=W.Layout(width="auto"),
                                    tooltip="this sweep's table and figure as one HTML page (opens offline) in the "
                                            "runs folder's exports/")
        self.export_page.on_click(lambda _b: self.export())
        self.cells = W.HTML()
        self.figure_box = W.Box(layout=W.Layout(width="100%"))
        self.widget = W.VBox([self.choose, self.summary, self.points, self.pick, self.export_page, self.message,
                              self.cells,
                              self.figure_box], layout=W.Layout(width="100%"))
        for widget, name in ((self.widget, "adaft-sweeps"), (self.pick, "adaft-sweep-pick"),
                             (self.figure_box, "adaft-sweep-fig")):
            widget.add_class(name)  # for the browser test
        self.choose.observe(self._on_choose, names="value")
        self.pick.observe(self._on_pick, names="value")
        self.manifests: dict[str, Manifest] = {}
        self.problems: dict[str, str] = {}  # sweep name -> why its manifest cannot be read
        self.fig: go.FigureWidget | None = None
        self.rows: list[dict] = []
        self._stamps: dict[str, tuple[int, int] | None] = {}
        self._next_scan = -float("inf")
        self._syncing = False
        self._chosen = False  # the user picked a sweep: stop following the newest
        self._shown = False
        self._drawn: tuple | None = None
        self._drawn_results: tuple | None = None
        self._fig_grid: tuple | None = None
        self._watcher: ViewWatcher | None = None

    # ------------------------------------------------------------------ reading
    def _read(self, name: str) -> bool:
        """Read ``name``'s manifest again if its file changed; True if it did."""
        stamp = _stamp(self.root / name / MANIFEST)
        if stamp is None or stamp == self._stamps.get(name):
            return False
        self._stamps[name] = stamp
        try:
            manifest = load_manifest(self.root.parent, name)
        except ConfigError as exc:  # keep the last good one; say why
            self.problems[name] = str(exc)
            return False
        self.problems.pop(name, None)
        if manifest is not None:
            self.manifests[name] = manifest
        return True

    def _scan(self) -> None:
        """Find new sweeps; follow the newest one until the user picks one."""
        try:
            names = sorted(p.parent.name for p in self.root.glob(f"*/{MANIFEST}"))
        except OSError:
            names = []
        for name in names:
            if name not in self.manifests:
                self._read(name)
        ordered = sorted(self.manifests, key=lambda n: -self.manifests[n].created)
        if ordered == list(self.choose.options):
            return
        self._syncing = True
        try:
            current = self.choose.value
            self.choose.options = ordered
            self.choose.value = current if (self._chosen and current in ordered) else (ordered[0] if ordered else None)
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ events
    def _on_choose(self, change) -> None:
        if not self._syncing:
            self._chosen = True
            self._drawn = None

    def _on_pick(self, change) -> None:
        run_id = change["new"]
        if self._syncing or not run_id:
            return
        said = self.on_open(run_id) if self.on_open is not None else None
        self.message.value = html.escape(said) if said else ""

    def export(self) -> Path | None:
        """Write the chosen sweep's page (``report_page``) into ``<runs>/exports/`` and say where."""
        from adaft_dashboard.views.report_page import export_page

        if self.choose.value is None:
            self.message.value = "no sweep to export yet"
            return None
        try:
            path = export_page(self.root.parent, sweep=self.choose.value)
        except Exception as exc:  # noqa: BLE001 - a damaged manifest or run log must not break the page
            self.message.value = html.escape(f"no page for sweep {self.choose.value}: {exc}")
            return None
        self.message.value = f"page written to <code>{html.escape(str(path))}</code>"
        return path

    def shown(self) -> None:
        """The tab became visible: put the figure on the page (a plotly view made inside a hidden
        tab has no size)."""
        self._shown = True
        if self.fig is not None and self.figure_box.children != (self.fig,):
            self.figure_box.children = [self.fig]

    # ------------------------------------------------------------------ drawing
    def update(self, now: float | None = None) -> bool:
        """Called from the UI pump; True if anything was redrawn."""
        now = time.monotonic() if now is None else now
        if now >= self._next_scan:
            self._scan()
            self._next_scan = now + self.scan_interval
        if self._watcher is not None:
            self._watcher.flush()
        name = self.choose.value
        if name is not None:
            self._read(name)
        problems = tuple(sorted(self.problems.items()))
        if name is None:
            if self._drawn != problems:
                self.summary.value = (f"<i>No sweeps yet in <code>{html.escape(str(self.root))}</code>: start one "
                                      "with <code>adaft sweep</code>.</i>" + self._problems_html())
                self._drawn = problems
                return True
            return False
        manifest = self.manifests[name]
        rows = point_rows(manifest, self.runs())
        key = (name, self._stamps.get(name), problems,
               tuple((r["status"], r["epoch"], r["score"], r["reason"]) for r in rows))
        if key == self._drawn:
            return False
        self._draw(manifest, rows)
        self._drawn = key
        return True

    def _draw(self, manifest: Manifest, rows: list[dict]) -> None:
        factors = list(manifest.grid.get("factors", {}))
        metric = self._metric(manifest, rows)
        self.rows = rows
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        self.summary.value = (f"<b>{html.escape(manifest.name)}</b> · {len(rows)} points: "
                              + ", ".join(f"{n} {html.escape(s)}" for s, n in counts.items())
                              + f" · <code>{html.escape(str(self.root / manifest.name / MANIFEST))}</code>"
                              + self._problems_html())
        self.points.value = points_html(rows, factors, metric)
        ids = [r["run_id"] for r in rows]
        if list(self.pick.options) != ids:
            self._syncing = True
            try:
                keep = self.pick.value if self.pick.value in ids else None
                self.pick.options, self.pick.value = ids, keep
            finally:
                self._syncing = False
        done = (manifest.name, tuple(factors), results(rows))
        if done != self._drawn_results:
            self._draw_results(manifest, rows, metric)
            self._drawn_results = done

    def _problems_html(self) -> str:
        """Manifests that cannot be read (a damaged file): one red line each."""
        return "".join(f"<br><span style='color:#dc2626'>{html.escape(why)}</span>"
                       for _, why in sorted(self.problems.items()))

    def _metric(self, manifest: Manifest, rows: list[dict]) -> str:
        """The headline metric: the manifest's, else the first started run's."""
        if manifest.metric:
            return manifest.metric
        runs = self.runs()
        started = (runs.get(r["run_id"]) for r in rows)
        return next((run.metric for run in started if run is not None and run.started), "score")

    def _draw_results(self, manifest: Manifest, rows: list[dict], metric: str) -> None:
        cells = cells_table(manifest.grid.get("factors", {}), sweep_table(manifest, rows))
        self.cells.value = cells_html(cells, metric, default_baseline(manifest.grid.get("factors", {})))
        fresh = figure(cells, metric)
        grid = (manifest.name, len(fresh.data), tuple(t.name for t in fresh.data))
        if self.fig is None or grid != self._fig_grid:  # a new grid: a new figure, built once
            self.fig = go.FigureWidget(fresh)
            self._watcher = ViewWatcher(self.fig)
            self._fig_grid = grid
            if self._shown:
                self.figure_box.children = [self.fig]
            return
        with self.fig.batch_update():
            for trace, new in zip(self.fig.data, fresh.data):
                trace.update(x=new.x, y=new.y, error_y=new.error_y)
            for note, new in zip(self.fig.layout.annotations, fresh.layout.annotations):
                note.text = new.text
