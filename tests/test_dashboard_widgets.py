"""Acceptance 1 of the dashboard issue, without a browser: recorded events go in through the
app's event source, the pump is stepped by hand, and the test reads what the widgets hold."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from dashboard_events import mask_event, synthetic_run, write_log  # noqa: E402
from test_modes import EXAMPLE_1, EXAMPLE_2  # noqa: E402

from dashboard.app import App  # noqa: E402
from dashboard.figures import MARKERS, PER_SLOT, SLOTS  # noqa: E402
from dashboard.masks import mask_grid  # noqa: E402
from dashboard.plotting import downsample  # noqa: E402
from dashboard.runs_table import COLUMNS  # noqa: E402
from dashboard.source import LogTail  # noqa: E402
from dashboard.state import Store  # noqa: E402


@pytest.fixture
def app(tmp_path):
    a = App(tmp_path / "runs", autostart=False, table_interval=0.0)
    yield a
    a.close()


def slot(app, i=0):
    """The five traces of curve slot ``i``: raw loss, smoothed loss, lr, val loss, val metric."""
    return app.curves.fig.data[i * PER_SLOT:(i + 1) * PER_SLOT]


def marker_trace(app, kind):
    return app.curves.fig.data[SLOTS * PER_SLOT + list(MARKERS).index(kind)]


def test_dashboard_imports_no_torch():
    import subprocess

    code = "import sys, dashboard.app, dashboard.serve; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_curves_markers_and_decisions_from_recorded_events(app):
    events = synthetic_run("r-restart", EXAMPLE_2)
    app.source.feed(events)
    drew = app.tick()
    assert drew["curves"] and drew["decisions"] and drew["events"] == len(events)
    raw, smooth, lr, vloss, vmetric = slot(app)
    steps = [e for e in events if e["event"] == "step"]
    assert list(raw.x) == [e["step"] for e in steps]
    assert list(raw.y) == pytest.approx([e["loss"] for e in steps])
    assert list(lr.y) == pytest.approx([e["lr"] for e in steps])
    assert list(vloss.y) == pytest.approx(EXAMPLE_2[:14]) and list(vloss.x) == [4 * (e + 1) for e in range(14)]
    assert list(vmetric.y) == pytest.approx([1 - v for v in EXAMPLE_2[:14]])
    assert len(smooth.y) == len(steps) and smooth.y[0] == pytest.approx(steps[0]["loss"])  # debiased EMA
    # markers at the right epochs (step axis: the step of that epoch's validation)
    assert list(marker_trace(app, "cooldown").x) == [4 * 4, 4 * 7]  # after epochs 3 and 6
    assert list(marker_trace(app, "restart").x) == [4 * 6]  # epoch 5
    assert list(marker_trace(app, "stop").x) == [4 * 14]  # epoch 13
    assert list(marker_trace(app, "best").x) == [4 * 6] and list(marker_trace(app, "best").y) == [0.69]
    assert "restart, the LR returns to constant" in marker_trace(app, "restart").text[0]
    assert not marker_trace(app, "stopped").visible
    # LR phases shaded behind the LR row: warm-up, constant, cooldown, constant (restart), cooldown
    phases = [(s.x0, s.x1, s.fillcolor) for s in app.curves.fig.layout.shapes]
    from dashboard.plotting import PHASE_COLORS as C

    assert phases == [(0, 8, C["warmup"]), (8, 16, C["constant"]), (16, 24, C["cooldown"]),
                      (24, 28, C["constant"]), (28, 56, C["cooldown"])]
    # the decision in words, and the patience/cooldown indicator
    text = app.decisions.widget.value
    assert "after epoch 13: no improvement for 8 epochs (best 0.6900 at epoch 5): stop" in text
    assert "non-improving epochs: <b>8</b> of 8 (patience 0 + cooldown 7 + 1)" in text
    assert "early_stopped" in text
    # nothing new: the pump does not redraw
    assert app.tick() == {"events": 0, "changed": [], "table": False, "curves": False, "decisions": False,
                          "masks": False}


def test_live_decision_text_patience_indicator_and_epoch_axis(app):
    events = synthetic_run("r-live", EXAMPLE_1)
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 4) + 1
    app.source.feed(events[:cut])
    app.tick()
    text = app.decisions.widget.value
    assert "after epoch 4: no improvement for 2 epochs (best 0.7000 at epoch 2): cooldown continues, 6 epochs left" in text
    assert "<b>2</b> of 8" in text and "6 epochs left" in text and ">running<" in text
    # the epoch still running is shaded with the phase the last decision foresees
    app.source.feed(events[cut:cut + 2])  # two steps of epoch 5
    app.tick()
    last = app.curves.fig.layout.shapes[-1]
    assert (last.x0, last.x1) == (16, 22)  # cooldown from step 16 (epoch 4 on) to the last step seen
    app.curves.x_mode.value = "epoch"
    app.tick()
    raw, _, _, vloss, _ = slot(app)
    assert raw.x[-1] == pytest.approx(22 / 4) and list(vloss.x) == [1, 2, 3, 4, 5]
    assert list(marker_trace(app, "cooldown").x) == [4]  # after epoch 3 → x = 4 epochs done
    assert app.curves.fig.layout.xaxis3.title.text.startswith("epoch")


def test_log_toggles_smoothing_and_downsampling(app):
    n = 20_000
    events = synthetic_run("r-long", [1.0] * 1, spe=n, loss=lambda s: 1.0 + (5.0 if s == 12_345 else 0.0))
    app.source.feed(events)
    app.tick()
    raw, smooth, lr, _, _ = slot(app)
    assert len(raw.x) <= 5000 and len(smooth.x) <= 5000 and len(lr.x) <= 5000
    assert max(raw.y) == 6.0 and 12_345 in list(raw.x)  # the spike survives downsampling
    assert raw.x[0] == 1 and raw.x[-1] == n
    app.curves.log_loss.value = True
    app.curves.log_lr.value = True
    app.tick()
    assert app.curves.fig.layout.yaxis.type == "log" and app.curves.fig.layout.yaxis2.type == "log"
    assert app.curves.fig.layout.yaxis3.type == "linear"
    app.curves.smoothing.value = 0.0
    app.tick()
    assert list(slot(app)[1].y) == list(slot(app)[0].y)


def test_downsample_keeps_extremes_and_order():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500)
    y[777] = 9.0
    dx, dy = downsample(x, y, 5000)
    assert len(dx) <= 5000 and np.all(np.diff(dx) > 0) and 9.0 in dy and dx[0] == 0


def test_overlay_of_selected_runs_and_hover_names(app):
    a = synthetic_run("run-a", EXAMPLE_1, t0=1000)
    b = synthetic_run("run-b", EXAMPLE_2, t0=2000)
    app.source.feed(a + b)
    app.tick()
    assert [r.run_id for r in app.shown_runs()] == ["run-b"]  # default: the newest run
    app.table.select.value = ("run-a", "run-b")
    app.tick()
    assert slot(app, 0)[1].name == "run-a" and slot(app, 1)[1].name == "run-b"
    assert slot(app, 0)[1].visible and slot(app, 1)[1].visible and not slot(app, 2)[1].visible
    assert len(marker_trace(app, "stop").x) == 2
    assert app.curves.fig.layout.hovermode == "x unified"


def test_masks_heatmap_slider_inside_and_compare(app):
    run = synthetic_run("dps", [1.0, 0.9], strategy="dps-dense", stage_every=4)
    masks = [mask_event("dps", 100 + i, step=4 * (i + 1), kept=lambda l, k, i=i: 0.3 + 0.1 * l + 0.01 * i,
                        overlap=(lambda l, k: None) if i == 0 else (lambda l, k: 0.5 + 0.1 * l), selection=i + 1)
             for i in range(3)]
    other = synthetic_run("dps-b", [1.0, 0.9], strategy="dps-dense")
    other_masks = [mask_event("dps-b", 100, step=4, kept=lambda l, k: 0.2)]
    app.source.feed(run + masks + other + other_masks)
    app.tick()
    view = app.masks
    assert view.run_a.value in ("dps", "dps-b")
    view.run_a.value = "dps"
    app.tick()
    kept, overlap = view.fig.data
    assert list(kept.y) == ["layer 0", "layer 1", "top"] and list(kept.x) == ["q", "k", "v", "o", "ffn_in", "ffn_out", "head"]
    assert kept.z[0][0] == pytest.approx(0.32) and kept.z[1][5] == pytest.approx(0.42)  # biases not averaged in
    assert kept.z[2][6] == 0.5 and kept.z[2][0] is None
    assert overlap.z[1][0] == pytest.approx(0.6)
    assert view.selection.max == 2 and view.selection.value == 2 and "selection 3 of 3" in view.info.value
    view.follow.value = False
    view.selection.value = 0  # back in time
    app.tick()
    assert view.fig.data[0].z[0][0] == pytest.approx(0.30) and view.fig.data[1].z[0][0] is None
    view.module.value = "encoder.layer.1.q.weight"
    app.tick()
    assert list(view.fig_inside.data[0].y) == pytest.approx([0.4] * 4)
    view.run_b.value = "dps-b"
    app.tick()
    a_kept, b_kept, diff = view.fig_cmp.data
    assert b_kept.z[0][0] == pytest.approx(0.2) and diff.z[0][0] == pytest.approx(0.1)
    assert "|kept A − kept B|" in view.fig_cmp.layout.annotations[2].text
    # the DPS stages are drawn as a band on the LR row
    app.table.select.value = ("dps",)
    app.tick()
    stage_shapes = [s for s in app.curves.fig.layout.shapes if s.y0 == 0.9]
    assert [(s.x0, s.x1) for s in stage_shapes] == [(0, 4), (4, 8)]


def test_mask_grid_cross_run_values():
    ev = mask_event("x", 0, 1)
    grid = mask_grid(ev, values={"encoder.layer.0.q.weight": 0.9})
    assert grid["z"][0][0] == 0.9 and grid["z"][0][1] is None


def test_runs_table_tails_logs_and_exports_csv(app, tmp_path):
    runs = tmp_path / "runs"
    done = synthetic_run("20250101-done", EXAMPLE_1, t0=1000)
    live = synthetic_run("20250102-live", EXAMPLE_2, t0=2000)
    cut = 30
    write_log(runs, done)
    write_log(runs, live[:cut], partial_tail=json.dumps(live[cut])[:20])  # a line being written
    app.source._next_scan = -1  # scan now
    app.tick()
    records = {r["name"]: r for r in app.table.records}
    assert set(records) == {"20250101-done", "20250102-live"}
    assert records["20250101-done"]["status"] == "early_stopped" and records["20250101-done"]["epochs"] == 11
    assert records["20250101-done"]["best_epoch"] == 2 and records["20250101-done"]["test_score"] == 0.55
    assert records["20250102-live"]["status"] == "running"
    html = app.table.table.value
    assert "20250101-done" in html and "early_stopped" in html and "running" in html
    # the live run's log grows (the half line completes): tailed from its offset
    with open(runs / "20250102-live" / "events.jsonl", "a") as f:
        f.write(json.dumps(live[cut])[20:] + "\n")
        for ev in live[cut + 1:]:
            f.write(json.dumps(ev) + "\n")
    app.tick()
    records = {r["name"]: r for r in app.table.records}
    assert records["20250102-live"]["status"] == "early_stopped" and records["20250102-live"]["best_epoch"] == 5
    assert app.store.runs["20250102-live"].n_steps == 56  # every step once
    # CSV export of the selection
    app.table.select.value = ("20250102-live",)
    app.tick()
    written = app.table.export_csv()
    rows = list(csv.DictReader(io.StringIO(written[0].read_text())))
    assert [r["name"] for r in rows] == ["20250102-live"] and list(rows[0]) == list(COLUMNS)
    assert rows[0]["status"] == "early_stopped" and rows[0]["best_epoch"] == "5" and rows[0]["epochs"] == "14"
    epochs = list(csv.DictReader(io.StringIO(written[1].read_text())))
    assert [int(r["epoch"]) for r in epochs] == list(range(14))
    assert epochs[5]["action"] == "restart" and float(epochs[5]["val_loss"]) == 0.69
    assert "runs.csv" in app.table.message.value and "data:text/csv;base64," in app.table.message.value
    # a kernel restart: a new app on the same folder shows the same runs
    again = App(runs, autostart=False)
    again.tick()
    assert {r["name"] for r in again.table.records} == {"20250101-done", "20250102-live"}


def test_stop_selected_writes_stop_file(app, tmp_path):
    runs = tmp_path / "runs"
    live = synthetic_run("20250103-cli", EXAMPLE_1)[:10]
    folder = write_log(runs, live)
    app.source._next_scan = -1
    app.tick()
    app.table.select.value = ("20250103-cli",)
    assert app.table.request_stop() == ["20250103-cli"] and (folder / "STOP").exists()


def test_source_dedupes_queue_and_tail(tmp_path):
    runs = tmp_path / "runs"
    events = synthetic_run("both", EXAMPLE_1)
    write_log(runs, events[:20])
    store = Store()
    from dashboard.source import EventSource

    src = EventSource(runs)
    store.apply_all(src.poll(force_scan=True))  # tail: seq 0..19
    src.feed(events)  # the same run through the queue: now owned, not tailed any more
    store.apply_all(src.poll(force_scan=True))
    run = store.runs["both"]
    assert run.n_steps == len([e for e in events if e["event"] == "step"]) and run.last_seq == events[-1]["seq"]


def test_log_tail_skips_corrupt_and_partial_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "step", "seq": 0}\nnot json\n{"event": "st')
    tail = LogTail(path)
    assert [e["seq"] for e in tail.read()] == [0] and tail.bad_lines == 1
    with open(path, "a") as f:
        f.write('ep", "seq": 1}\n')
    assert [e["seq"] for e in tail.read()] == [1]


def test_stopped_run_gets_a_stopped_marker(app):
    app.source.feed(synthetic_run("halted", EXAMPLE_1, stop_at_step=6))
    app.tick()
    assert list(marker_trace(app, "stopped").x) == [6]
    assert "stopped" in app.decisions.widget.value and "stop requested during epoch 1" in app.decisions.widget.value


def test_form_validation_messages_in_place(app):
    form = app.form
    form.fields["lr"].value = -1.0
    assert "lr (learning rate) must be a positive number" in form.errors["lr"].value
    form.fields["lr"].value = 1e-4
    assert form.errors["lr"].value == ""
    form.fields["train_fraction"].value = 1.5
    assert "train_fraction must be in (0, 1]" in form.errors["train_fraction"].value
    form.fields["train_fraction"].value = 0.5
    form.fields["strategy"].value = "dps-dense"
    form.fields["keep_fraction"].value = "lots"
    assert "keep_fraction must be a number" in form.errors["keep_fraction"].value
    form.fields["keep_fraction"].value = "0.7"
    cfg = form.validate()
    assert cfg is not None and cfg.strategy_options == {"keep_fraction": 0.7} and cfg.lr == 1e-4
    assert cfg.output_dir == str(app.runs_dir)
    form.preset.value = "demo"
    cfg = form.validate()
    assert cfg.model == "minilm-2l" and cfg.cooldown_epochs == 2 and cfg.save_checkpoints is False
    assert not any(e.value for e in form.errors.values())


def test_out_of_domain_evals_do_not_overwrite_the_test_score():
    from dashboard.state import RunState

    state = RunState("r")
    events = [{"event": "eval", "run_id": "r", "seq": i, "time": float(i), "epoch": 0, "step": 4,
               "split": split, "loss": 0.5, "metric": "accuracy", "score": score, "metrics": {}}
              for i, (split, score) in enumerate([("validation", 0.6), ("test", 0.7), ("eval:snli_2way", 0.8)])]
    for ev in events:
        state.apply(ev)
    assert state.evals[0]["score"] == 0.6
    assert state.test["score"] == 0.7
    assert state.extra_evals["snli_2way"]["score"] == 0.8
