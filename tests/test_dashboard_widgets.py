"""Acceptance 1 of the dashboard issue, without a browser: recorded events go in through the
app's event source, the pump is stepped by hand, and the test reads what the widgets hold.

The main replays are of REAL engine run logs (tiny model, scripted validation losses: the
spec's worked example); hand-built streams (``dashboard_events``) cover what no quick real run
gives, and one test checks them against the real log field for field so they cannot drift.
Issue 13, acceptance 3: a run of a mode the dashboard does not know shows its phases."""

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

from dashboard_events import cyclic_run, mask_event, record_engine_run, synthetic_run, write_log  # noqa: E402
from modes_driver import EXAMPLE_1, EXAMPLE_2  # noqa: E402

from adaft_dashboard.app import App  # noqa: E402
from adaft_dashboard.views.figures import MARKERS, PER_SLOT, SLOTS  # noqa: E402
from adaft_dashboard.views.masks import mask_grid  # noqa: E402
from adaft_dashboard.views.plotting import downsample  # noqa: E402
from adaft_dashboard.views.runs_table import COLUMNS  # noqa: E402
from adaft_dashboard.live.source import LogTail  # noqa: E402
from adaft_dashboard.live.state import Store  # noqa: E402


@pytest.fixture
def app(tmp_path):
    a = App(tmp_path / "runs", autostart=False, table_interval=0.0)
    yield a
    a.close()


@pytest.fixture(scope="module")
def real_logs(tiny_model_dir, conll_dir, tmp_path_factory):
    """Real engine run logs in one runs folder: the spec's worked example 2 (adaptive, scripted
    validation losses: cooldown, restart, second cooldown, stop) and a DPS run (masks, stages)."""
    out = tmp_path_factory.mktemp("real-runs") / "runs"
    example = record_engine_run(tiny_model_dir, conll_dir, out, val_losses=EXAMPLE_2, run_name="example-2")
    dps = record_engine_run(tiny_model_dir, conll_dir, out, mode="original", max_epochs=2, strategy="dps-dense",
                            strategy_options={"stage_steps": 2}, lr=1e-3, run_name="dps")
    return {"dir": out, "example": example[1], "dps": dps[1]}


def of(events, kind):
    return [e for e in events if e["event"] == kind]


def slot(app, i=0):
    """The five traces of curve slot ``i``: raw loss, smoothed loss, lr, val loss, val metric."""
    return app.curves.fig.data[i * PER_SLOT:(i + 1) * PER_SLOT]


def marker_trace(app, kind):
    return app.curves.fig.data[SLOTS * PER_SLOT + list(MARKERS).index(kind)]


def test_dashboard_imports_no_torch():
    import subprocess

    code = "import sys, adaft_dashboard.app, adaft_dashboard.server.serve; print('torch' in sys.modules)"
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
    from adaft_dashboard.views.plotting import PHASE_COLORS as C

    assert phases == [(0, 8, C["warmup"]), (8, 16, C["constant"]), (16, 24, C["cooldown"]),
                      (24, 28, C["constant"]), (28, 56, C["cooldown"])]
    # the decision in words, and the patience/cooldown indicator
    text = app.decisions.widget.value
    assert "after epoch 14: no improvement for 8 epochs (best 0.6900 at epoch 6): stop" in text  # counted from 1
    assert "non-improving epochs: <b>8</b> of 8 (patience 0 + cooldown 7 + 1)" in text
    assert "early_stopped" in text
    # nothing new: the pump does not redraw
    assert app.tick() == {"events": 0, "changed": [], "table": False, "curves": False, "decisions": False,
                          "masks": False, "sweeps": False}


def test_live_decision_text_patience_indicator_and_epoch_axis(app):
    events = synthetic_run("r-live", EXAMPLE_1)
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 4) + 1
    app.source.feed(events[:cut])
    app.tick()
    text = app.decisions.widget.value
    assert "after epoch 5: no improvement for 2 epochs (best 0.7000 at epoch 3): cooldown continues, 6 epochs left" in text
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
    assert view.selection.max == 3 and view.selection.value == 3 and "selection 3 of 3" in view.info.value
    view.follow.value = False
    view.selection.value = 1  # back in time: the first selection (the slider counts from 1)
    app.tick()
    assert "selection 1 of 3" in view.info.value
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
    assert rows[0]["status"] == "early_stopped" and rows[0]["best_epoch"] == "6" and rows[0]["epochs"] == "14"
    epochs = list(csv.DictReader(io.StringIO(written[1].read_text())))
    assert [int(r["epoch"]) for r in epochs] == list(range(1, 15))  # counted from 1, as on the page
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
    from adaft_dashboard.live.source import EventSource

    src = EventSource(runs)
    store.apply_all(src.poll(force_scan=True))  # tail: seq 0..19
    src.feed(events)  # the same run through the queue: now owned, not tailed any more
    store.apply_all(src.poll(force_scan=True))
    run = store.runs["both"]
    assert run.n_steps == len([e for e in events if e["event"] == "step"]) and run.last_seq == events[-1]["seq"]


def test_log_tail_skips_corrupt_and_partial_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "run_started", "seq": 0}\nnot json\n{"event": "st')  # a log begins so
    tail = LogTail(path)
    assert [e["seq"] for e in tail.read()] == [0] and tail.bad_lines == 1
    with open(path, "a") as f:
        f.write('ep", "seq": 1}\n')
    assert [e["seq"] for e in tail.read()] == [1]


def test_stopped_run_gets_a_stopped_marker(app):
    app.source.feed(synthetic_run("halted", EXAMPLE_1, stop_at_step=6))
    app.tick()
    assert list(marker_trace(app, "stopped").x) == [6]
    assert "stopped" in app.decisions.widget.value and "stop requested during epoch 2" in app.decisions.widget.value  # step 6 of 4 per epoch


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
    from adaft_dashboard.live.state import RunState

    state = RunState("r")
    events = [{"event": "eval", "run_id": "r", "seq": i, "time": float(i), "epoch": 0, "step": 4,
               "split": split, "loss": 0.5, "metric": "accuracy", "score": score, "metrics": {}}
              for i, (split, score) in enumerate([("validation", 0.6), ("test", 0.7), ("eval:snli_2way", 0.8)])]
    for ev in events:
        state.apply(ev)
    assert state.evals[0]["score"] == 0.6
    assert state.test["score"] == 0.7
    assert state.extra_evals["snli_2way"]["score"] == 0.8


# --- real engine run logs ------------------------------------------------------------------------

def test_hand_built_streams_match_a_real_run_log(real_logs):
    """``synthetic_run`` writes what the engine writes: same fields, same decisions and plans, same LRs."""
    from adaft_core.events.schema import check_stream

    real, fake = real_logs["example"], synthetic_run("x", EXAMPLE_2)
    assert check_stream(fake) == [] and check_stream(real) == []
    common = ("run_id", "seq", "time")
    for kind in ("run_started", "step", "eval", "decision", "run_ended"):
        assert set(of(fake, kind)[0]) <= set(of(real, kind)[0]), kind
    strip = [{k: v for k, v in d.items() if k not in common} for d in of(real, "decision")]
    assert strip == [{k: v for k, v in d.items() if k not in common} for d in of(fake, "decision")]
    assert [e["lr"] for e in of(real, "step")] == pytest.approx([e["lr"] for e in of(fake, "step")], rel=1e-12)
    assert of(real, "run_started")[0]["lr_plan"] == of(fake, "run_started")[0]["lr_plan"]


def test_real_run_log_drawn_from_its_folder(real_logs):
    """A new App on the runs folder finds the real logs and draws curves, phases, markers, words."""
    from adaft_dashboard.views.plotting import PHASE_COLORS as C

    app = App(real_logs["dir"], autostart=False, table_interval=0.0)
    try:
        app.source._next_scan = -1
        app.tick()
        events = real_logs["example"]
        run_id = events[0]["run_id"]
        app.table.select.value = (run_id,)
        app.tick()
        raw, _, lr, vloss, _ = slot(app)
        steps = of(events, "step")
        assert list(raw.x) == [e["step"] for e in steps] and list(raw.y) == pytest.approx([e["loss"] for e in steps])
        assert list(lr.y) == pytest.approx([e["lr"] for e in steps])
        assert list(vloss.y) == pytest.approx(EXAMPLE_2[:14])
        phases = [(s.x0, s.x1, s.fillcolor) for s in app.curves.fig.layout.shapes]
        assert phases == [(0, 8, C["warmup"]), (8, 16, C["constant"]), (16, 24, C["cooldown"]),
                          (24, 28, C["constant"]), (28, 56, C["cooldown"])]
        assert list(marker_trace(app, "cooldown").x) == [16, 28] and list(marker_trace(app, "stop").x) == [56]
        last = of(events, "decision")[-1]
        text = app.decisions.widget.value
        assert f"after epoch 14: {last['reason']}" in text and "non-improving epochs: <b>8</b> of 8" in text
        records = {r["name"]: r for r in app.table.records}
        ended = of(events, "run_ended")[0]
        assert records[run_id]["status"] == ended["status"] == "early_stopped"
        assert records[run_id]["best_epoch"] == ended["best_epoch"] == 5 and records[run_id]["epochs"] == 14
    finally:
        app.close()


def test_live_shading_and_plan_come_from_the_real_decisions(app, real_logs):
    """Mid-epoch, the running epoch is shaded with the last real decision's next_phase and the
    panel says its lr_plan in words."""
    from adaft_dashboard.views.plotting import PHASE_COLORS as C

    events = real_logs["example"]
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 6) + 1
    app.source.feed(events[:cut + 2])  # the cooldown decision after epoch 6, two steps of epoch 7
    app.tick()
    decision = events[cut - 1]
    assert decision["action"] == "cooldown" and decision["next_phase"] == "cooldown"
    last = app.curves.fig.layout.shapes[-1]
    assert (last.x0, last.x1, last.fillcolor) == (28, 30, C["cooldown"])
    text = app.decisions.widget.value
    assert "next: cooldown from step 29: LR 2e-05 → 7.14e-07 over 28 steps (7 epochs), then stop" in text
    assert "<b>1</b> of 8" in text and "7 epochs left" in text


def test_masks_and_labelled_stage_band_from_a_real_dps_run(app, real_logs):
    events = real_logs["dps"]
    app.source.feed(events)
    app.tick()
    masks = of(events, "mask")
    assert [m["step"] for m in masks] == [3, 7]
    view = app.masks
    view.run_a.value = events[0]["run_id"]
    app.tick()
    kept = view.fig.data[0]
    layers = sorted({m["layer"] for m in masks[-1]["modules"] if m["layer"] is not None})
    assert list(kept.y)[:len(layers)] == [f"layer {i}" for i in layers]
    q = next(m for m in masks[-1]["modules"] if m["layer"] == 0 and m["kind"] == "q")
    assert kept.z[0][list(kept.x).index("q")] == pytest.approx(q["kept"])
    band = [(s.x0, s.x1) for s in app.curves.fig.layout.shapes if s.y0 == 0.9]
    stages = [e["stage"] for e in of(events, "step")]
    assert stages == ["I", "I", "II", "II", "I", "I", "II", "II"]
    assert band == [(0, 2), (2, 4), (4, 6), (6, 8)]
    notes = [a.text for a in app.curves.fig.layout.annotations]
    assert notes.count("stage I") == 2 and notes.count("stage II") == 2
    assert any(n.startswith("DPS stage ") for n in notes)


def test_resumed_real_run_replaces_the_redone_steps(tiny_model_dir, conll_dir, tmp_path):
    """A real run stopped mid-epoch and resumed: the dashboard keeps one curve, every step once."""
    import threading

    from adaft_core.run import engine
    from adaft_core.store.runs import read_events

    if not hasattr(engine, "resume"):
        pytest.skip("adaft_core.run.engine.resume is not there yet")
    stop = threading.Event()

    class StopAtStep6:
        def handle(self, event):
            if event.event == "step" and event["step"] == 6:
                stop.set()

    run_dir, first = record_engine_run(tiny_model_dir, conll_dir, tmp_path / "runs", sinks=[StopAtStep6()],
                                       stop_event=stop, mode="original", max_epochs=3, lr=1e-3,
                                       save_checkpoints=True)
    assert first[-1]["status"] == "stopped"
    engine.resume(run_dir.name, output_dir=tmp_path / "runs")
    events = read_events(run_dir)
    resumed = of(events, "resumed")[0]
    assert len(of(events, "step")) == 12 + 6 - resumed["step"]  # the steps after the checkpoint, twice
    store = Store()
    store.apply_all(events)
    run = store.runs[run_dir.name]
    assert run.status == "completed" and list(run.series["step"].view) == list(range(1, 13))
    assert sorted(run.evals) == [0, 1, 2] and [d["epoch"] for d in run.decisions] == [0, 1, 2]
    assert len(run.stages) == 12 and run.ended["status"] == "completed"


# --- a mode the dashboard does not know (issue 13, acceptance 3) ---------------------------------

def test_unknown_mode_shows_its_phases_from_the_events(app):
    from adaft_dashboard.views.plotting import EXTRA_PHASE_COLORS, phase_color

    events = cyclic_run("cyc", epochs=6, running_steps=2)
    app.source.feed(events)
    app.tick()
    run = app.store.runs["cyc"]
    assert run.phase_spans() == [(0, 4, "rise"), (4, 8, "fall"), (8, 12, "rise"), (12, 16, "fall"), (16, 20, "rise"),
                                 (20, 24, "fall"), (24, 26, "rise")]  # the running epoch: its next_phase
    shapes = [s for s in app.curves.fig.layout.shapes if s.y0 == 0]
    assert [(s.x0, s.x1) for s in shapes] == [sp[:2] for sp in run.phase_spans()]
    rise, fall = phase_color("rise"), phase_color("fall")
    assert rise != fall and {rise, fall} <= set(EXTRA_PHASE_COLORS)
    assert [s.fillcolor for s in shapes] == [rise, fall] * 3 + [rise]
    notes = [a.text for a in app.curves.fig.layout.annotations]
    assert notes.count("rise") >= 3 and notes.count("fall") == 3
    text = app.decisions.widget.value
    assert "after epoch 6: cycle 3: fall done" in text
    assert "next phase: rise" in text and "non-improving" not in text  # no patience rules invented
    assert run.indicator()["mode"] == "cyclic"
    app.source.feed(cyclic_run("cyc-done", epochs=6))  # the same run, ended
    app.tick()
    app.table.select.value = ("cyc-done",)
    app.tick()
    done = app.store.runs["cyc-done"]
    assert done.phase_spans()[-1] == (20, 24, "fall") and done.phase_of_next_epoch() == "stopped"
    assert "next phase: stopped" in app.decisions.widget.value and "completed" in app.decisions.widget.value


def test_unknown_mode_mid_run_and_before_its_first_decision():
    from adaft_dashboard.views.panels import render
    from adaft_dashboard.live.state import RunState

    events = cyclic_run("cyc", epochs=6)
    run = RunState("cyc")
    for ev in events[:4]:  # run_started + 3 steps: no decision yet, the start plan names the phase
        run.apply(ev)
    assert run.phase_spans() == [(0, 3, "rise")]
    assert "next phase: rise" in render(run) and "rise from step 1" in render(run)
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 2) + 1
    for ev in events[4:cut]:
        run.apply(ev)
    assert run.phase_of_next_epoch() == "fall" and run.indicator()["epochs_left"] == 3
    html_text = render(run)
    assert "next phase: fall, 3 epochs left" in html_text
    assert "next: fall from step 13: LR 0.0001 → 2.5e-05 over 4 steps (1 epoch), then rise" in html_text


def test_older_logs_without_plans_show_the_recorded_phases(app):
    """A 0.1.0 log (no next_phase / lr_plan / wait_plan): phases as recorded, no invented rules."""
    events = synthetic_run("old", EXAMPLE_1)
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 3) + 3
    old = [{k: v for k, v in e.items() if k not in ("next_phase", "lr_plan", "wait_plan")} for e in events[:cut]]
    app.source.feed(old)
    app.tick()
    run = app.store.runs["old"]
    assert run.phase_of_next_epoch() == "constant"  # epoch 3's recorded phase (the log cannot say more)
    assert run.phase_spans()[-1] == (8, 18, "constant")
    text = app.decisions.widget.value
    assert "next phase: constant" in text and "non-improving" not in text and "next:" not in text


# ------------------------------------------------------------------------------- what people hit first (issue 12)


def test_only_failures_are_red(app):
    """An early stop or a max_epochs end is a normal end (green), a stop asked for by a person is
    neutral, only a failure is red — in the decision panel, the runs table and the markers."""
    from adaft_dashboard.views.panels import ERROR_RED, status_badge

    app.source.feed(synthetic_run("ended", EXAMPLE_1))  # the monitor stops it: early_stopped
    app.tick()
    run = app.store.runs["ended"]
    assert run.status == "early_stopped" and run.decisions[-1]["action"] == "stop"
    shown = app.decisions.widget.value + app.table.table.value
    assert ERROR_RED not in shown and "adaft-error" not in shown
    assert marker_trace(app, "stop").marker.color != ERROR_RED
    app.source.feed(synthetic_run("halted", EXAMPLE_1, stop_at_step=6))  # stopped by a person
    app.tick()
    app.table.select.value = ("halted",)
    app.tick()
    assert ERROR_RED not in app.decisions.widget.value and marker_trace(app, "stopped").marker.color != ERROR_RED
    for status in ("completed", "early_stopped", "stopped"):
        assert ERROR_RED not in status_badge(status) and "adaft-error" not in status_badge(status)
    assert ERROR_RED in status_badge("failed") and "adaft-error" in status_badge("failed")
    assert marker_trace(app, "failed").marker.color == ERROR_RED


def test_epochs_are_counted_from_one_in_every_view(app):
    """The progress line, the decisions table, the chart's hover and the markers name the same
    epoch (the events' 0-based epoch + 1)."""
    events = synthetic_run("counted", EXAMPLE_1)
    cut = next(i for i, e in enumerate(events) if e["event"] == "decision" and e["epoch"] == 2) + 1
    app.source.feed(events[:cut])  # three epochs (0, 1, 2 in the events) decided
    app.tick()
    run = app.store.runs["counted"]
    assert run.progress_text().startswith("epoch 3/")
    first_row = app.decisions.widget.value.split("class='adaft-decision-row'>", 2)[1]
    assert first_row.split("</td>", 1)[0].endswith(">3")  # the newest decision: epoch 3
    assert "after epoch 3:" in app.decisions.widget.value
    val = slot(app)[3]
    assert list(val.text) == ["epoch 1", "epoch 2", "epoch 3"] and "%{text}" in val.hovertemplate
    app.curves.x_mode.value = "epoch"
    app.tick()
    assert list(slot(app)[3].x) == [1, 2, 3]  # on the epoch axis, "epoch 3" sits at x = 3
    assert run.decision_lines()[0].startswith("epoch 1 (")


def test_overlay_shows_phases_and_decisions_of_every_run(app):
    app.source.feed(synthetic_run("first", EXAMPLE_1))
    app.source.feed(synthetic_run("second", EXAMPLE_2))
    app.tick()
    app.table.select.value = ("first", "second")
    app.tick()
    runs = [app.store.runs["first"], app.store.runs["second"]]
    shapes = app.curves.fig.layout.shapes
    lanes = {(s.y0 < 0.5) for s in shapes}
    assert lanes == {True, False}  # one lane per run
    assert sum(s.y0 < 0.5 for s in shapes) == len(runs[0].phase_spans())
    assert sum(s.y0 >= 0.5 for s in shapes) == len(runs[1].phase_spans())
    names = [a.text for a in app.curves.fig.layout.annotations]
    assert "first" in names and "second" in names  # each lane named
    assert "second" in app.decisions.widget.value and "adaft-other-run" in app.decisions.widget.value
    cooldowns = marker_trace(app, "cooldown").text
    assert any(t.startswith("first") for t in cooldowns) and any(t.startswith("second") for t in cooldowns)


def test_header_has_no_developer_figures_and_the_table_explains_its_columns(app):
    app.source.feed(synthetic_run("ended", EXAMPLE_1))
    app.tick()
    assert "UI tick" not in app.header.value and "UI tick" not in app.diagnostics.value  # folded: not drawn
    app.developer.selected_index = 0
    for _ in range(8):
        app.tick()
    assert "UI tick" in app.diagnostics.value
    table = app.table.table.value
    assert "adaft-runs-note" in table and "best val</b>: the validation score at the epoch" in table
    assert "title='validation score at the best epoch" in table
    assert app.table.stop_selected.layout.width == "auto"


def test_an_error_in_more_settings_opens_them_and_clears_on_edit(app):
    form = app.form
    assert form.advanced.selected_index is None
    form.fields["run_name"].value = "a/b"
    assert "adaft-error" in form.errors["run_name"].value and form.advanced.selected_index == 0
    assert form.message.value == ""  # next to its field, not elsewhere
    form.fields["run_name"].value = "fine-name"
    assert form.errors["run_name"].value == ""
    form.fields["seed"].value = "x1"
    assert "seed must be a whole number" in form.errors["seed"].value
    form.fields["seed"].value = "1"
    assert not any(e.value for e in form.errors.values())
