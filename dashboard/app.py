"""The dashboard: ``App(runs_dir)`` — form, live curves, decisions, masks, the runs table and sweeps.

Data flows one way: event source (queue + run-log tails) → :class:`~adaft_dashboard.live.state.Store` →
views. One UI pump calls :meth:`App.tick` 2–5 times a second on the kernel's event loop (an
asyncio task, so a cell is never blocked and training, in its own thread, never waits for
drawing); each view redraws only when its runs changed, inside ``batch_update``. Tests and the
benchmark call ``tick()`` by hand (``App(..., autostart=False)``).

Runs are processes, pages are views: Start launches ``adaft train`` as its own process and the
page reads its log like any other run's, so closing or reloading the page, a second tab or a
culled kernel changes nothing for the run; a new App on the same folder shows it live and its
form follows (and can stop) the newest run launched there. ``App(..., in_process=True)`` trains
in a thread of this kernel instead, for notebook users who want the model object back.

In Jupyter: ``from adaft_dashboard import App; App("runs")``. As a web page: ``adaft dashboard``
(Voila serving ``app.ipynb``, which calls :meth:`App.from_env`).
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections import deque
from pathlib import Path

import ipywidgets as W

from adaft_dashboard.views.figures import SLOTS, CurvesView
from adaft_dashboard.launch.form import RunForm
from adaft_dashboard.launch.trainer import Trainer
from adaft_dashboard.views.masks import MasksView
from adaft_dashboard.views.panels import DecisionPanel
from adaft_dashboard.views.plotting import MAX_POINTS
from adaft_dashboard.views.runs_table import RunsTable
from adaft_dashboard.live.source import EventSource
from adaft_dashboard.live.state import RunState, Store
from adaft_dashboard.views.sweeps_view import SweepsView

RUNS_ENV = "ADAFT_RUNS_DIR"
SWEEPS_TAB = 3  # the Sweeps tab's index


class App:
    def __init__(self, runs_dir: str | Path = "runs", *, pump_hz: float = 4.0, autostart: bool = True,
                 max_points: int = MAX_POINTS, scan_interval: float = 2.0, table_interval: float = 1.0,
                 trainer: Trainer | None = None, in_process: bool = False):
        self.runs_dir = Path(runs_dir).expanduser().resolve()
        self.pump_hz = min(max(pump_hz, 0.5), 10.0)
        self.table_interval = table_interval
        self.source = EventSource(self.runs_dir, scan_interval=scan_interval)
        self.store = Store()
        trainer = trainer or Trainer(in_process=in_process)
        if not trainer.in_process and not trainer.busy and trainer.run_id is None:
            self._reattach(trainer)
        self.form = RunForm(self.runs_dir, make_sinks=lambda: [self.source.sink()], trainer=trainer)
        self.curves = CurvesView(max_points=max_points)
        self.decisions = DecisionPanel()
        self.masks = MasksView()
        self.masks.paths = self.source.run_dir
        self.table = RunsTable(self.runs_dir, self.source.run_dir, problems=lambda: self.source.problems,
                               on_resume=self.resume)
        self.table.select.observe(lambda _c: self._invalidate_table(), names="value")
        self.sweeps = SweepsView(self.runs_dir, lambda: self.store.runs, on_open=self.open_run,
                                 scan_interval=scan_interval)
        self.header = W.HTML()
        self.pump_error = W.HTML()
        # developer figures (the pump's cost per tick), folded away and only drawn while unfolded
        self.diagnostics = W.HTML()
        self.developer = W.Accordion(children=[self.diagnostics], titles=("diagnostics (developers)",),
                                     selected_index=None, layout=W.Layout(width="100%"))
        self._failed_start: str | None = None  # the error of a Start that failed before its run began
        live = W.VBox([self.decisions.widget, self.curves.widget], layout=W.Layout(width="100%"))
        # The masks page gets its figures when first shown: a plotly view created inside a hidden
        # tab has no size and draws nothing until the page is resized.
        self.masks_page = W.VBox(layout=W.Layout(width="100%"))
        self.tabs = W.Tab(children=[live, self.masks_page, self.table.widget, self.sweeps.widget],
                          titles=("Live", "Masks", "Runs", "Sweeps"), layout=W.Layout(width="100%"))
        self.tabs.observe(self._on_tab, names="selected_index")
        self.widget = W.VBox([self.header, W.HBox([self.form.widget, self.tabs]), self.pump_error, self.developer],
                             layout=W.Layout(width="100%"))
        self.tick_ms: deque[float] = deque(maxlen=200)
        self.ticks = 0
        self._auto_selected: str | None = None
        self._next_table = -float("inf")
        self._task: asyncio.Task | None = None
        self._closed = False
        self._render_header()
        if autostart:
            self.start_pump()

    @classmethod
    def from_env(cls, **kw) -> "App":
        """The runs folder from ``$ADAFT_RUNS_DIR`` (set by ``adaft dashboard``), else ``runs``."""
        return cls(os.environ.get(RUNS_ENV, "runs"), **kw)

    def _reattach(self, trainer: Trainer) -> None:
        """Follow the newest run launched into this folder that still runs (a reloaded page)."""
        from adaft_core.store.launcher import running_launched

        live = running_launched(self.runs_dir)
        if live:
            trainer.attach(live[0])

    def resume(self, run_id: str) -> str:
        """Resume an interrupted, stopped or failed run as its own process; what happened, in words."""
        from adaft_core.errors import AdaftError
        from adaft_core.store.launcher import launch_run

        trainer = self.form.trainer
        try:
            if not trainer.in_process and not trainer.busy:
                trainer.resume(run_id, self.runs_dir)  # the form follows it (and can stop it)
                if trainer.error:
                    return trainer.error
                return f"resuming {run_id} (process {trainer.launched.pid})"
            launched = launch_run(resume=run_id, output_dir=self.runs_dir)
            return f"resuming {run_id} (process {launched.pid})"
        except AdaftError as exc:
            return str(exc)

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _render_header(self) -> None:
        header = (f"<div style='display:flex;gap:16px;align-items:baseline'><h3 style='margin:4px 0'>"
                  f"adaft — fine-tuning dashboard</h3><span style='color:#6b7280'>runs folder "
                  f"<code>{html.escape(str(self.runs_dir))}</code> · {len(self.store.runs)} runs</span></div>")
        if self.header.value != header:
            self.header.value = header
        if self.developer.selected_index == 0:  # unfolded: the developer figures (else nothing is sent)
            avg = sum(self.tick_ms) / len(self.tick_ms) if self.tick_ms else 0.0
            self.diagnostics.value = (f"<span style='color:#6b7280;font-size:12px'>UI tick {avg:.1f} ms "
                                      f"(mean of the last {len(self.tick_ms)}) · {self.ticks} ticks</span>")

    # ------------------------------------------------------------------ the pump
    def shown_runs(self) -> list[RunState]:
        """The runs whose curves are drawn: the table selection, else the newest run (none right
        after a Start that failed before its run began: plots and decisions agree, both empty)."""
        chosen = [self.store.runs[r] for r in self.table.selected if r in self.store.runs]
        if chosen:
            return chosen[:SLOTS]
        if self._failed_start:
            return []
        ordered = self.store.ordered()
        return ordered[:1]

    def _follow_form(self) -> None:
        """Show the run just started from the form; if it failed before it began (no run log), show
        nothing rather than the previous run, until another run is picked or started."""
        trainer = self.form.trainer
        own = trainer.run_id
        if own and own in self.store.runs and self._auto_selected != own:
            self._auto_selected, self._failed_start = own, None  # follow the run just started from the form
            self.table.update(self.store.ordered(), force=True)
            self.table.select.value = (own,)
            return
        failed = trainer.error if trainer.state in ("invalid", "failed") and own not in self.store.runs else None
        if failed and self._failed_start != failed and self._auto_selected != ("failed", own):
            self._auto_selected, self._failed_start = ("failed", own), failed
            self.table.select.value = ()
        elif not failed and self._failed_start and (trainer.busy or self.table.selected):
            self._failed_start = None

    def _on_tab(self, change) -> None:
        if change["new"] == 1 and not self.masks_page.children:
            self.masks_page.children = [self.masks.widget]
        elif change["new"] == SWEEPS_TAB:
            self.sweeps.shown()

    def open_run(self, run_id: str) -> str | None:
        """Show ``run_id`` in the Live tab (a sweep point picked in the Sweeps tab); why not, in words."""
        if run_id not in self.store.runs:
            return f"{run_id} has not started yet"
        self.table.update(self.store.ordered(), force=True)
        self.table.select.value = (run_id,)
        self.tabs.selected_index = 0
        return None

    def _invalidate_table(self) -> None:
        self._next_table = -float("inf")

    def tick(self, now: float | None = None) -> dict:
        """Read new events, fold them in, redraw what changed. Returns what happened (tests)."""
        t0 = time.perf_counter()
        now = time.monotonic() if now is None else now
        events = self.source.poll()
        changed = self.store.apply_all(events)
        for run_id, last_seen in self.source.gone.items():  # not ended, process gone: interrupted
            run = self.store.runs.get(run_id)
            if run is not None and run.mark_gone(last_seen):
                changed.add(run_id)
        self._follow_form()
        own = self.form.trainer.run_id
        self.form.refresh(self.store.runs.get(own) if own else None)
        drew = {"events": len(events), "changed": sorted(changed)}
        if now >= self._next_table or changed - {r.run_id for r in self.store.runs.values() if r.live}:
            drew["table"] = self.table.update(self.store.ordered())
            self._next_table = now + self.table_interval
        shown = self.shown_runs()
        drew["curves"] = self.curves.update(shown)
        note = f"The run did not start: {self._failed_start}" if self._failed_start and not shown else None
        drew["decisions"] = self.decisions.update(shown[0] if shown else None, others=shown[1:], note=note)
        drew["masks"] = self.masks.update(self.store.ordered(), preferred=shown[0].run_id if shown else None)
        drew["sweeps"] = self.sweeps.update(now)
        self.ticks += 1
        self.tick_ms.append((time.perf_counter() - t0) * 1000)
        if self.ticks % 8 == 0 or changed:
            self._render_header()
        return drew

    def start_pump(self) -> bool:
        """Run ``tick`` on the kernel's event loop; False where no loop runs (plain scripts)."""
        if self._task is not None and not self._task.done():
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._closed = False
        self._task = loop.create_task(self._pump())
        return True

    async def _pump(self) -> None:
        period = 1.0 / self.pump_hz
        while not self._closed:
            start = time.perf_counter()
            try:
                self.tick()
                if self.pump_error.value:
                    self.pump_error.value = ""
            except Exception as exc:  # noqa: BLE001 - keep the page alive, say what broke
                self.pump_error.value = (f"<span style='color:#dc2626'>dashboard update failed: "
                                         f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>")
            await asyncio.sleep(max(0.02, period - (time.perf_counter() - start)))

    def close(self) -> None:
        """Stop the pump (a run started here goes on; ``form.stop()`` stops it)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
