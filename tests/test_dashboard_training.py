"""The form's Start / Stop with real training in the kernel's background thread (no browser):
the tiny demo preset runs to an early stop, and Stop ends a run within one step."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from dashboard.app import App  # noqa: E402


@pytest.fixture
def app(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ADAFT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "adaft-cache"))
    a = App(tmp_path / "runs", autostart=False)
    yield a
    a.form.trainer.stop()
    a.form.trainer.join(120)
    a.close()


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


def test_stop_button_ends_the_run_within_one_step(app, tiny_model_dir, conll_dir):
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
    assert run.ended["error"].startswith("stop requested during epoch 0")
    log = (app.runs_dir / "to-stop" / "events.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["event"] == "run_ended"
    assert json.loads((app.runs_dir / "to-stop" / "run.json").read_text())["status"] == "stopped"
    assert "stopped" in form.status.value


def test_bad_model_folder_is_reported_in_the_form(app, tmp_path):
    app.form.fields["model"].value = str(tmp_path / "nope" / "model")
    assert app.form.start()
    app.form.trainer.join(timeout=120)
    app.form.refresh()
    assert app.form.trainer.state == "invalid"
    assert "does not exist" in app.form.status.value and not app.store.runs
