"""The dashboard's Sweeps tab without a browser (issue 10, "Live"): a synthetic manifest and run
logs in a runs folder, the pump stepped by hand, the test reading what the widgets hold.

A four-point sweep (mode × seed) with one point done, one running, one whose launch failed and
one queued; then the running point finishes (its log and the manifest are written as the sweep
would) and the next tick shows it done and the aggregate moves; picking a point opens its run in
the Live tab."""

from __future__ import annotations

import json
import math
import statistics
import time

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from run_folders import write_finished_run  # noqa: E402

from adaft_core.store.liveness import owner_info  # noqa: E402
from adaft_core.sweep import Manifest, make_grid  # noqa: E402
from adaft_dashboard.views import sweeps_view  # noqa: E402
from adaft_dashboard.app import SWEEPS_TAB, App  # noqa: E402

GRID = {"mode": ["original", "adaptive"], "train_fraction": [0.1], "seed": [1, 2]}
DONE_ID, RUNNING_ID, FAILED_ID, QUEUED_ID = ("syn-original-tf0.1-s1", "syn-original-tf0.1-s2",
                                             "syn-adaptive-tf0.1-s1", "syn-adaptive-tf0.1-s2")


def _event(run_id, seq, event, **fields):
    return {"event": event, "run_id": run_id, "seq": seq, "time": time.time(), **fields}


def _start_running(runs, run_id):
    """A live run (owned by this test's process) in its second of three epochs."""
    folder = runs / run_id
    folder.mkdir(parents=True)
    events = [_event(run_id, 0, "run_started", task="ner", mode="original", strategy="vanilla", metric="f1",
                     steps_per_epoch=2, config={"max_epochs": 3, "mode": "original"}),
              _event(run_id, 1, "step", step=1, epoch=0, loss=1.0, lr=1e-3, grad_norm=1.0),
              _event(run_id, 2, "step", step=2, epoch=0, loss=0.9, lr=1e-3, grad_norm=1.0),
              _event(run_id, 3, "eval", epoch=0, step=2, split="validation", loss=0.8, metric="f1", score=0.3),
              _event(run_id, 4, "step", step=3, epoch=1, loss=0.8, lr=1e-3, grad_norm=1.0)]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": "running", "owner": owner_info(),
                                                 "config": {"max_epochs": 3}}))
    return folder


def _finish(folder, run_id, score):
    """The running run ends: its last events, as the engine writes them."""
    tail = [_event(run_id, 5, "eval", epoch=1, step=4, split="validation", loss=0.7, metric="f1", score=score),
            _event(run_id, 6, "eval", epoch=1, step=4, split="test", loss=0.7, metric="f1", score=score),
            _event(run_id, 7, "run_ended", status="completed", epochs=2, steps=4, best_epoch=1, final_model="last",
                   val={"f1": score}, test={"f1": score}, wall_time=30.0, error=None)]
    with open(folder / "events.jsonl", "a") as f:
        f.write("".join(json.dumps(e) + "\n" for e in tail))
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": "completed", "config": {}}))


@pytest.fixture
def sweep(tmp_path):
    """The runs folder with sweep ``syn`` and its manifest as a running ``adaft sweep`` left it."""
    runs = tmp_path / "runs"
    manifest = Manifest.for_grid(make_grid(GRID, {"max_epochs": 3}, name="syn"))
    assert [p.run_id for p in manifest.points] == [DONE_ID, RUNNING_ID, FAILED_ID, QUEUED_ID]
    done, _, failed, _ = manifest.points
    write_finished_run(runs, DONE_ID, score=0.5, epochs=3, wall=20.0)
    done.status, done.score, done.epochs, done.wall_time = "completed", 0.5, 3, 20.0
    failed.status, failed.reason = "failed", "DataError: no such data folder"
    manifest.metric = "f1"
    manifest.save(runs)
    running = _start_running(runs, RUNNING_ID)
    return runs, manifest, running


@pytest.fixture
def app(sweep):
    a = App(sweep[0], autostart=False, table_interval=0.0, scan_interval=0.0)
    yield a
    a.close()


def _statuses(view):
    return [r["status"] for r in view.rows]


def test_no_sweep_yet_says_how_to_start_one(tmp_path):
    a = App(tmp_path / "runs", autostart=False, scan_interval=0.0)
    a.tick()
    assert "No sweeps yet" in a.sweeps.summary.value and "adaft sweep" in a.sweeps.summary.value
    assert a.tabs.titles[SWEEPS_TAB] == "Sweeps"
    a.close()


def test_grid_rows_show_each_points_state(app):
    drew = app.tick()
    view = app.sweeps
    assert drew["sweeps"] is True and view.choose.value == "syn"
    assert _statuses(view) == ["done", "running", "failed", "queued"]
    running = view.rows[1]
    assert running["epoch"] == 2 and running["max_epochs"] == 3  # from the live run state
    table = view.points.value
    assert "epoch 2/3" in table and "f1 0.5000" in table and "no such data folder" in table
    assert table.count("class='adaft-point'") == 4
    assert "1 done, 1 running, 1 failed, 1 queued" in view.summary.value
    cells = view.cells.value
    assert cells.count("class='adaft-cell'") == 2 and "0.500" in cells
    score_original, _, score_adaptive, _ = view.fig.data  # (score, epochs) per method line
    assert list(score_original.y) == [0.5] and math.isnan(score_adaptive.y[0])
    assert list(view.pick.options) == [DONE_ID, RUNNING_ID, FAILED_ID, QUEUED_ID]


def test_manifest_is_read_again_only_when_it_changed(app, sweep, monkeypatch):
    runs, manifest, _ = sweep
    app.tick()
    reads = []
    real = sweeps_view.load_manifest
    monkeypatch.setattr(sweeps_view, "load_manifest", lambda *a: reads.append(a) or real(*a))
    assert app.tick()["sweeps"] is False and app.tick()["sweeps"] is False
    assert reads == []
    manifest.points[3].reason = "touched"
    manifest.save(runs)
    app.tick()
    assert len(reads) == 1


def test_a_point_finishing_updates_the_table_and_the_aggregate(app, sweep):
    runs, manifest, running = sweep
    app.tick()
    view = app.sweeps
    fig = view.fig
    _finish(running, RUNNING_ID, 0.7)
    manifest.points[1].status, manifest.points[1].score, manifest.points[1].epochs = "completed", 0.7, 2
    manifest.save(runs)
    drew = app.tick()
    assert drew["sweeps"] is True
    assert _statuses(view) == ["done", "done", "failed", "queued"]
    assert view.rows[1]["score"] == 0.7 and "f1 0.7000" in view.points.value
    assert "2 done" in view.summary.value
    assert view.fig is fig  # updated in place, not rebuilt
    mean, std = statistics.mean([0.5, 0.7]), statistics.stdev([0.5, 0.7])
    assert math.isclose(fig.data[0].y[0], mean) and math.isclose(fig.data[0].error_y.array[0], std)
    assert f"{mean:.3f} ± {std:.3f}" in view.cells.value and "2/2" in view.cells.value
    assert list(fig.data[1].y) == [2.5]  # mean epochs: 3 and 2


def test_picking_a_point_opens_its_run_in_the_live_tab(app):
    app.tick()
    assert app.shown_runs()[0].run_id == RUNNING_ID  # the newest run, before any choice
    app.tabs.selected_index = SWEEPS_TAB
    assert app.sweeps.figure_box.children == (app.sweeps.fig,)  # put on the page when the tab shows
    app.sweeps.pick.value = QUEUED_ID
    assert "has not started yet" in app.sweeps.message.value and app.tabs.selected_index == SWEEPS_TAB
    app.sweeps.pick.value = DONE_ID
    assert app.tabs.selected_index == 0 and app.table.selected == [DONE_ID]
    app.tick()
    assert app.shown_runs()[0].run_id == DONE_ID
    assert app.curves.fig.data[1].name == DONE_ID and app.curves.fig.data[1].visible


def test_a_gone_process_and_an_end_the_manifest_recorded_win_over_a_live_state():
    from adaft_dashboard.live.state import RunState
    from adaft_dashboard.views.sweep_rows import point_rows

    manifest = Manifest.for_grid(make_grid({"seed": [1, 2]}, name="g"))
    gone, stale = (RunState(p.run_id) for p in manifest.points)
    for run in (gone, stale):
        run.apply(_event(run.run_id, 0, "run_started", metric="f1", config={"max_epochs": 3}))
    gone.mark_gone(last_seen=5.0)
    manifest.points[1].status, manifest.points[1].reason = "failed", "worker lost"
    rows = point_rows(manifest, {gone.run_id: gone, stale.run_id: stale})
    assert [(r["status"], r["reason"]) for r in rows] == [("interrupted", "process gone"), ("failed", "worker lost")]
    assert stale.live  # the page has not noticed yet; the manifest has


def test_a_damaged_manifest_is_named_and_the_last_good_one_kept(app, sweep):
    runs, _, _ = sweep
    app.tick()
    (runs / "sweeps" / "syn" / "sweep.json").write_text('{"name": "syn", "po')
    app.tick()
    assert "sweep.json is unreadable" in app.sweeps.summary.value
    assert _statuses(app.sweeps) == ["done", "running", "failed", "queued"]  # as last read
    (runs / "sweeps" / "broken").mkdir()
    (runs / "sweeps" / "broken" / "sweep.json").write_text("not json")
    app.tick()
    assert list(app.sweeps.choose.options) == ["syn"] and "broken" in app.sweeps.summary.value


def test_the_newest_sweep_is_followed_until_one_is_picked(app, sweep):
    runs, manifest, _ = sweep
    app.tick()
    newer = Manifest.for_grid(make_grid({"seed": [1, 2, 3]}, name="later"))
    newer.created = manifest.created + 1
    newer.save(runs)
    app.tick()
    assert app.sweeps.choose.value == "later" and len(app.sweeps.rows) == 3
    assert _statuses(app.sweeps) == ["queued"] * 3
    app.sweeps.choose.value = "syn"  # the user's choice
    app.tick()
    assert len(app.sweeps.rows) == 4
    newest = Manifest.for_grid(make_grid({"seed": [4]}, name="newest"))
    newest.created = manifest.created + 2
    newest.save(runs)
    app.tick()
    assert list(app.sweeps.choose.options) == ["newest", "later", "syn"] and app.sweeps.choose.value == "syn"


def test_the_cells_table_shows_the_paired_columns_against_vanilla():
    """Strategies × seeds: the Sweeps tab's aggregate carries `adaft sweep report --baseline`'s columns."""
    from adaft_dashboard.views.sweep_rows import cells_html, cells_table, sweep_table

    manifest = Manifest.for_grid(make_grid({"strategy": ["vanilla", "dps-dense"], "seed": [1, 2, 3]}, name="p"))
    scores = {"vanilla": [0.50, 0.60, 0.55], "dps-dense": [0.52, 0.58, 0.60]}
    rows = [{"values": p.values, "status": "done", "score": scores[p.values["strategy"]][p.values["seed"] - 1],
             "epochs": 3, "wall_time": 10.0} for p in manifest.points]
    cells = cells_table(manifest.grid["factors"], sweep_table(manifest, rows))
    page = cells_html(cells, "accuracy", ("strategy", "vanilla"))
    assert "wins/ties/losses vs vanilla" in page and "p (Wilcoxon)" in page
    dense = page.split("<tr class='adaft-cell'>")[2]
    assert "2/0/1" in dense and "+0.017" in dense  # (0.02 - 0.02 + 0.05) / 3
    assert "0.83" in dense  # std of the dense scores / vanilla's: 0.0416 / 0.05
