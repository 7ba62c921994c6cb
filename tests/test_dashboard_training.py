"""The form's Start / Stop with real training (no browser): the tiny demo preset, launched as its
own process, runs to an early stop; a launched run outlives its App and a new App on the same
folder shows it live and stops it (issue 9, acceptance 1); in process, Stop ends a run within one
step; interrupted and unreadable runs are shown as such, and Stop on an interrupted run says so."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from pathlib import Path

import pytest
from polling import wait_for

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from adaft_core.store.run_log import read_log  # noqa: E402
from adaft_dashboard.app import App  # noqa: E402


@pytest.fixture
def app(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ADAFT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "adaft-cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for launched runs: 2 CPUs shared with the test
    a = App(tmp_path / "runs", autostart=False)
    yield a
    a.form.trainer.stop()
    a.form.trainer.join(120)
    a.close()


@pytest.fixture
def in_process_app(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ADAFT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "adaft-cache"))
    a = App(tmp_path / "runs", autostart=False, in_process=True)
    yield a
    a.form.trainer.stop()
    a.form.trainer.join(120)
    a.close()




def set_tiny(form, model: str, data: str, **values) -> None:
    """Fill the form for a tiny run (4 steps per epoch, nothing saved)."""
    for name, value in dict(model=model, data=data, batch_size=12, save_model=False, save_checkpoints=False,
                            **values).items():
        form.fields[name].value = value


@pytest.mark.slow  # a real demo run to its early stop (the UI browser test starts it from the page too)
def test_demo_preset_trains_to_an_early_stop_from_the_form(app):
    app.form.preset.value = "demo"
    t0 = time.perf_counter()
    assert app.form.start()
    assert app.form.stop_button.disabled is False and app.form.start_button.disabled is True
    app.form.trainer.join(timeout=600)
    seconds = time.perf_counter() - t0
    app.tick()
    trainer = app.form.trainer
    assert trainer.error is None, trainer.error
    run = app.store.runs[trainer.run_id]
    print(f"demo preset: {run.status} after {len(run.evals)} epochs, {run.n_steps} steps, {seconds:.1f} s")
    assert run.status == "early_stopped" and run.decisions[-1]["action"] == "stop"
    assert run.started["model"] == "minilm-2l" and len(run.evals) < 30
    built = json.loads((Path(run.started["model_path"]) / "config.json").read_text())
    assert built["num_hidden_layers"] == 2 and built["hidden_size"] == 384  # MiniLM cut to 2 layers
    assert any(m["kind"] == "cooldown" for m in run.markers()) and any(m["kind"] == "stop" for m in run.markers())
    assert "stop, 3 epochs without improvement" in app.decisions.widget.value
    assert app.table.selected == [trainer.run_id]  # the run started here is followed
    assert "early_stopped" in app.form.status.value and app.form.start_button.disabled is False
    # a normal end is not an error: nothing red, no error class, in the form or the decision panel
    shown = app.form.status.value + app.decisions.widget.value
    assert "adaft-error" not in shown and "#dc2626" not in shown
    last = len(run.evals)  # epochs counted from 1: the progress line and the decisions agree
    assert f"epoch {last}/30" in app.form.progress.value and f"after epoch {last}:" in app.decisions.widget.value


def test_stop_button_ends_the_run_within_one_step(in_process_app, tiny_model_dir, conll_dir):
    app = in_process_app
    reached = threading.Event()

    class AtStep2:
        def handle(self, event):
            if event.event == "step" and event.fields["step"] == 2:
                reached.set()

    form = app.form
    form.fields["model"].value = tiny_model_dir
    form.fields["data"].value = conll_dir
    form.fields["batch_size"].value = 12
    form.fields["run_name"].value = "to-stop"
    form.make_sinks = lambda: [app.source.sink(), AtStep2()]
    assert form.start()
    assert reached.wait(timeout=300), form.trainer.error
    form.stop_button.click()
    form.trainer.join(timeout=120)
    assert not form.trainer.busy
    app.tick()
    run = app.store.runs["to-stop"]
    assert run.status == "stopped" and run.n_steps in (2, 3)  # the step running when Stop was pressed
    assert run.ended["error"].startswith("stop requested during epoch 1 ")  # the first epoch, counted from 1
    log = (app.runs_dir / "to-stop" / "events.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["event"] == "run_ended"
    assert json.loads((app.runs_dir / "to-stop" / "run.json").read_text())["status"] == "stopped"
    assert "stopped" in form.status.value


def test_bad_model_folder_is_reported_in_the_form(app, tmp_path):
    """A Start that fails before its run begins: the error under the field at fault (cleared when it
    is edited), and plots and decisions both empty — not the previous run's decisions."""
    from dashboard_events import synthetic_run
    from modes_driver import EXAMPLE_1

    app.source.feed(synthetic_run("earlier", EXAMPLE_1))
    app.tick()
    assert "earlier" in app.decisions.widget.value and any(t.visible for t in app.curves.fig.data)
    app.form.fields["model"].value = str(tmp_path / "nope" / "model")
    assert app.form.start()
    app.form.trainer.join(timeout=120)
    app.tick()
    assert app.form.trainer.state == "invalid" and list(app.store.runs) == ["earlier"]  # no run folder
    assert "does not exist" in app.form.errors["model"].value and "adaft-error" in app.form.errors["model"].value
    assert "adaft-error" in app.form.status.value  # a failure: red
    assert not any(t.visible for t in app.curves.fig.data)  # plots and decisions agree: nothing shown
    assert "earlier" not in app.decisions.widget.value and "did not start" in app.decisions.widget.value
    app.form.fields["model"].value = "minilm-2l"  # edited: the old error goes
    app.tick()
    assert app.form.errors["model"].value == "" and "does not exist" not in app.form.status.value
    assert "adaft-error" not in app.form.status.value
    app.table.select.value = ("earlier",)  # picking a run shows it again
    app.tick()
    assert "earlier" in app.decisions.widget.value


def test_a_launched_run_outlives_its_app_and_a_new_app_shows_it_live(app, tiny_model_dir, conll_dir):
    set_tiny(app.form, tiny_model_dir, conll_dir, mode="original", max_epochs=500, run_name="outlives")
    assert app.form.start()
    trainer = app.form.trainer
    launched, log = trainer.launched, app.runs_dir / "outlives" / "events.jsonl"
    steps = lambda: sum(ev["event"] == "step" for ev in read_log(log).events)  # noqa: E731
    wait_for(lambda: steps() >= 3 or not launched.alive, 120, "three steps")
    assert launched.alive and launched.pid != os.getpid()  # its own process
    # the kernel goes away: the pump stops, the atexit hook runs, the App is dropped
    app.close()
    trainer.shutdown()
    del app, trainer
    gc.collect()
    before = steps()
    wait_for(lambda: steps() > before + 8, 60, "the run to go on training")
    assert launched.alive
    # a new page on the same folder shows it live and its form follows it
    page = App(launched.run_dir.parent, autostart=False)
    try:
        page.tick()
        run = page.store.runs["outlives"]
        assert run.status == "running" and run.live
        assert page.form.trainer.run_id == "outlives" and page.form.trainer.busy
        assert "running: outlives" in page.form.status.value and not page.form.stop_button.disabled
        seen = run.n_steps
        wait_for(lambda: page.tick() and run.n_steps > seen, 60, "new steps on the new page")
        page.form.stop_button.click()
        assert launched.wait(60)
        wait_for(lambda: page.tick() and run.ended is not None, 30, "run_ended on the page")
        assert run.status == "stopped" and run.ended["error"].startswith("stop requested")
        page.form.refresh()
        assert "stopped: outlives" in page.form.status.value and not page.form.start_button.disabled
    finally:
        page.close()


def test_interrupted_and_unreadable_runs_in_the_page(app):
    from run_folders import DEAD, make_run

    runs = app.runs_dir
    make_run(runs, "killed", ended=False, owner=DEAD)  # not ended, its process gone
    make_run(runs, "binary", log=b"\xff\xd8\xff\xe0 not a log\n")
    (make_run(runs, "no-log") / "events.jsonl").unlink()
    make_run(runs, "fine")
    app.tick()
    killed = app.store.runs["killed"]
    assert killed.status == "interrupted" and not killed.live and killed.last_seen is not None
    records = {r["name"]: r for r in app.table.records}
    assert records["killed"]["status"] == "interrupted" and "process gone, last seen" in records["killed"]["note"]
    assert records["binary"]["status"] == "unreadable" and "events.jsonl:1: not UTF-8" in records["binary"]["note"]
    assert records["no-log"] == {"name": "no-log", "status": "unreadable", "note": "no events.jsonl"}
    assert records["fine"]["status"] == "completed"
    assert "interrupted" in app.table.table.value and "unreadable" in app.table.table.value
    app.table.select.value = ("killed",)
    assert app.table.request_stop() == [] and "killed is interrupted" in app.table.message.value
    assert not (runs / "killed" / "STOP").exists()
    resumed = []
    app.table.on_resume = lambda run_id: resumed.append(run_id) or f"resuming {run_id}"
    app.table.select.value = ("killed", "fine")
    assert app.table.request_resume() == ["killed"] and resumed == ["killed"]
    assert "fine is completed: only interrupted, stopped or failed runs can be resumed" in app.table.message.value
