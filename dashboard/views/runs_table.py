"""The runs table: every run in the runs folder (and started here), overlay selection, CSV export.

``rows(runs)`` and ``to_csv(rows)`` are pure; :class:`RunsTable` shows them as an HTML table with
a multi-select that picks the runs whose curves are overlaid, an export button that writes the
selected rows (and their per-epoch values) to CSV files in the runs folder and offers them as
downloads, a button that asks the selected live runs to stop (``STOP`` file; an interrupted run
is said to be one) and one that resumes the selected interrupted, stopped or failed runs. Folders of the
runs folder that hold no readable run are listed as ``unreadable`` with the reason (the source's
``problems``); runs whose process is gone show ``interrupted`` and when they were last seen.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import time
from pathlib import Path
from typing import Any, Callable

import ipywidgets as W

from adaft_core.events.display import epoch_label
from adaft_core.store.runs import RESUMABLE, request_stop

from adaft_dashboard.views.panels import status_badge
from adaft_dashboard.views.plotting import fmt
from adaft_dashboard.live.state import RunState

COLUMNS = ("name", "status", "task", "mode", "strategy", "model", "seed", "train_size", "epochs", "steps",
           "best_epoch", "metric", "best_val_loss", "best_val_score", "final_val_score", "test_score",
           "wall_time", "started", "note")
SHOWN = (("name", "name"), ("status", "status"), ("mode", "mode"), ("strategy", "strategy"),
         ("epochs", "epochs"), ("best_epoch", "best"), ("best_val_score", "best val"),
         ("final_val_score", "final val"), ("test_score", "test"), ("wall_time", "time"), ("note", "note"))
HEADER_TIPS = {  # what a column means, as the header's tooltip
    "status": "completed / early_stopped: ended normally; stopped: by a person; failed: an error; "
              "interrupted: its process is gone",
    "epochs": "epochs validated", "best": "the epoch with the lowest validation loss (counted from 1)",
    "best val": "validation score at the best epoch (lowest validation loss)",
    "final val": "validation score of the final model (final_model: the last epoch's, or the best epoch's)",
    "test": "test score of the final model", "time": "wall time",
}
TABLE_NOTE = ("<b>best val</b>: the validation score at the epoch with the lowest validation loss (<b>best</b>); "
              "<b>final val</b>: the score of the model the run kept (its <code>final_model</code>: the last "
              "epoch's by default), which <b>test</b> also scores.")
EPOCH_COLUMNS = ("name", "epoch", "step", "val_loss", "metric", "score", "phase", "action", "reason")


def rows(runs: list[RunState], problems: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A row per run; ``problems`` (folder → why unreadable) marks runs and adds the folders
    that hold no run at all."""
    problems = problems or {}
    out = []
    for r in runs:
        rec = r.summary()
        if r.run_id in problems:
            rec["status"], rec["note"] = "unreadable", problems[r.run_id]
        elif r.status == "interrupted":
            rec["note"] = "process gone, last seen " + (time.strftime("%H:%M:%S", time.localtime(r.last_seen))
                                                        if r.last_seen else "never")
        out.append(rec)
    known = {r.run_id for r in runs}
    out += [{"name": name, "status": "unreadable", "note": why} for name, why in sorted(problems.items())
            if name not in known]
    return out


def epoch_rows(runs: list[RunState]) -> list[dict[str, Any]]:
    out = []
    for r in runs:
        decisions = {d["epoch"]: d for d in r.decisions}
        for epoch in sorted(r.evals):
            ev, d = r.evals[epoch], decisions.get(epoch, {})
            out.append({"name": r.run_id, "epoch": epoch, "step": ev.get("step"), "val_loss": ev.get("loss"),
                        "metric": ev.get("metric"), "score": ev.get("score"), "phase": d.get("phase"),
                        "action": d.get("action"), "reason": d.get("reason")})
    return out


EPOCH_NUMBERS = ("epoch", "best_epoch")  # 0-based in the records (as in the events), 1-based when shown


def to_csv(records: list[dict[str, Any]], columns=COLUMNS) -> str:
    """The records as CSV, epochs counted from 1 as on the page (``epoch_label``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rec in records:
        rec = dict(rec)
        if isinstance(rec.get("started"), (int, float)):
            rec["started"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec["started"]))
        for key in EPOCH_NUMBERS:
            if key in rec:
                rec[key] = epoch_label(rec[key])
        writer.writerow({k: ("" if rec.get(k) is None else rec.get(k)) for k in columns})
    return buf.getvalue()


def _cell(key: str, value: Any) -> str:
    if key == "status":
        return status_badge(str(value))
    if key == "wall_time":
        return "–" if value is None else f"{value:.0f} s"
    if key == "best_epoch":
        value = epoch_label(value)
    if key in ("best_val_score", "final_val_score", "test_score"):
        return fmt(value)
    if key == "note":
        return f"<span style='color:#b45309'>{html.escape(value or '')}</span>"
    return html.escape("–" if value is None else str(value))


def table_html(records: list[dict[str, Any]], selected: set[str]) -> str:
    if not records:
        return "<i>No runs yet in this runs folder.</i>"
    head = "".join(f"<th style='text-align:left;padding:2px 8px' title='{html.escape(HEADER_TIPS.get(label, label))}'>"
                   f"{label}</th>" for _, label in SHOWN)
    body = []
    for rec in records:
        bg = "#eef2ff" if rec["name"] in selected else "transparent"
        cells = "".join(f"<td style='padding:2px 8px'>{_cell(k, rec.get(k))}</td>" for k, _ in SHOWN)
        body.append(f"<tr class='adaft-run' data-run='{html.escape(rec['name'])}' style='background:{bg}'>{cells}</tr>")
    return (f"<table class='adaft-runs' style='border-collapse:collapse;font-size:13px'><tr>{head}</tr>"
            + "".join(body) + "</table>"
            + f"<div class='adaft-runs-note' style='font-size:12px;color:#6b7280;margin:4px 8px'>{TABLE_NOTE}</div>")


def download_link(text: str, filename: str, label: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (f'<a download="{html.escape(filename)}" href="data:text/csv;base64,{data}" '
            f'style="margin-right:12px">{html.escape(label)}</a>')


class RunsTable:
    def __init__(self, runs_dir: Path | None, run_dir_of: Callable[[str], Path | None] = lambda _r: None,
                 problems: Callable[[], dict[str, str]] = dict, on_resume: Callable[[str], str] | None = None):
        self.runs_dir = runs_dir
        self.run_dir_of = run_dir_of
        self.problems = problems
        self.on_resume = on_resume
        self.table = W.HTML()
        self.select = W.SelectMultiple(options=[], rows=8, description="overlay",
                                       style={"description_width": "initial"},
                                       layout=W.Layout(width="95%", max_width="640px"))
        whole = W.Layout(width="auto")  # a button as wide as its label (no "Stop selected (S…")
        self.export = W.Button(description="Export selection to CSV", icon="download", layout=whole)
        self.stop_selected = W.Button(description="Stop selected (STOP file)", icon="stop", layout=whole,
                                      tooltip="ask the selected running runs to stop after their current step")
        self.resume_selected = W.Button(description="Resume selected", icon="play", layout=whole,
                                        tooltip="continue interrupted, stopped or failed runs from their last checkpoint")
        self.export_page = W.Button(description="Export page", icon="file", layout=whole,
                                    tooltip="each selected run as one HTML page (opens offline) in the runs folder's "
                                            "exports/")
        self.message = W.HTML()
        self.export.on_click(lambda _b: self.export_csv())
        self.export_page.on_click(lambda _b: self.export_pages())
        self.stop_selected.on_click(lambda _b: self.request_stop())
        self.resume_selected.on_click(lambda _b: self.request_resume())
        self.widget = W.VBox([self.table, self.select,
                              W.HBox([self.export, self.export_page, self.stop_selected, self.resume_selected],
                                     layout=W.Layout(flex_flow="row wrap")), self.message])
        self.records: list[dict[str, Any]] = []
        self._runs: list[RunState] = []
        self._drawn: tuple | None = None

    @property
    def selected(self) -> list[str]:
        return list(self.select.value)

    def update(self, runs: list[RunState], force: bool = False) -> bool:
        self._runs = runs
        ids = [r.run_id for r in runs]
        if list(self.select.options) != ids:
            keep = tuple(v for v in self.select.value if v in ids)
            self.select.options = ids
            self.select.value = keep
        problems = dict(self.problems())
        key = (tuple((r.run_id, r.version) for r in runs), tuple(self.select.value), tuple(sorted(problems.items())))
        if key == self._drawn and not force:
            return False
        self.records = rows(runs, problems)
        self.table.value = table_html(self.records, set(self.select.value))
        self._drawn = key
        return True

    def export_csv(self) -> list[Path]:
        """Write the selected rows (all rows if none is selected) and their epochs to CSV."""
        chosen = set(self.selected) or {r.run_id for r in self._runs}
        runs = [r for r in self._runs if r.run_id in chosen]
        summary, epochs = to_csv(rows(runs)), to_csv(epoch_rows(runs), EPOCH_COLUMNS)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        written = []
        if self.runs_dir is not None:
            out = Path(self.runs_dir) / "exports"
            out.mkdir(parents=True, exist_ok=True)
            for name, text in ((f"runs-{stamp}.csv", summary), (f"epochs-{stamp}.csv", epochs)):
                (out / name).write_text(text, encoding="utf-8")
                written.append(out / name)
        where = f" (saved in {html.escape(str(written[0].parent))})" if written else ""
        self.message.value = (f"{len(runs)} run(s) exported{where}: "
                              + download_link(summary, f"runs-{stamp}.csv", "runs.csv")
                              + download_link(epochs, f"epochs-{stamp}.csv", "epochs.csv"))
        return written

    def export_pages(self) -> list[Path]:
        """Write each selected run's page (``report_page``) into ``<runs>/exports/`` and say where."""
        from adaft_dashboard.views.report_page import export_page

        chosen = [r.run_id for r in self._runs if r.run_id in self.selected]
        if not chosen or self.runs_dir is None:
            self.message.value = "select a run to export its page" if chosen == [] else "no runs folder to write to"
            return []
        written, said = [], []
        for run_id in chosen:
            try:
                path = export_page(self.runs_dir, run=str(self.run_dir_of(run_id) or run_id))
            except Exception as exc:  # noqa: BLE001 - one run's damaged log must not break the page
                said.append(html.escape(f"{run_id}: no page ({exc})"))
                continue
            written.append(path)
            said.append(f"page of {html.escape(run_id)} written to <code>{html.escape(str(path))}</code>")
        self.message.value = "<br>".join(said)
        return written

    def request_stop(self) -> list[str]:
        """Create ``STOP`` in the folder of every selected run whose process is there (any
        process stops there); say so for a run that is interrupted or not running."""
        stopped, said = [], []
        for r in self._runs:
            path = self.run_dir_of(r.run_id)
            if r.run_id not in self.selected or path is None:
                continue
            asked, text = request_stop(path)
            stopped += [r.run_id] if asked else []
            said.append(html.escape(text))
        self.message.value = "<br>".join(said) if said else "select a running run to stop it"
        return stopped

    def request_resume(self) -> list[str]:
        """Resume every selected interrupted, stopped or failed run (each as its own process)."""
        said, resumed = [], []
        for r in self._runs:
            if r.run_id not in self.selected:
                continue
            if r.status not in RESUMABLE or self.on_resume is None:
                said.append(html.escape(f"{r.run_id} is {r.status}: only interrupted, stopped or failed runs can be resumed"))
                continue
            said.append(html.escape(self.on_resume(r.run_id)))
            resumed.append(r.run_id)
        self.message.value = "<br>".join(said) if said else "select an interrupted, stopped or failed run to resume it"
        return resumed
