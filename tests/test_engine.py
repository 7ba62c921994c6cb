"""The training loop end to end on a tiny random BERT: events, schedules, stop, NaN, saving."""

from __future__ import annotations

import json
import math
import threading

import pytest
from modes_driver import EXAMPLE_1, EXAMPLE_2, expected_example_1, expected_example_2
from tiny import tiny_config

from adaft_core import train
from adaft_core.run import engine as engine_module
from adaft_core.events.emitter import RecorderSink
from adaft_core.store.runs import read_events


def expected_order(n_epochs: int, steps: int, test: bool = True, checkpoints: bool = True) -> list[str]:
    per_epoch = ["step"] * steps + ["eval", "decision"] + (["checkpoint"] if checkpoints else [])
    return ["run_started"] + per_epoch * n_epochs + (["eval"] if test else []) + ["run_ended"]


@pytest.mark.parametrize("mode,kw", [("original", {}), ("adaptive", {"max_epochs": 4})])
def test_event_contract_order_and_run_log(tiny_model_dir, conll_dir, tmp_path, mode, kw):
    rec = RecorderSink()
    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path, mode=mode, **kw), sinks=[rec])
    epochs = 5 if mode == "original" else 4
    assert result.status == "completed" and result.epochs == epochs and result.steps == 4 * epochs
    assert rec.names() == expected_order(epochs, 4)
    assert [e.seq for e in rec.events] == list(range(len(rec.events)))
    logged = read_events(result.run_dir)
    assert [e["event"] for e in logged] == rec.names()
    assert logged == [json.loads(e.to_json()) for e in rec.events]
    started = logged[0]
    for key in ("config", "task", "mode", "strategy", "model", "seed", "train_size", "val_size",
                "steps_per_epoch", "max_epochs", "labels", "device", "versions"):
        assert key in started, key
    assert started["steps_per_epoch"] == 4 and started["labels"][0] == "O"
    step = rec.of("step")[0]
    assert {"step", "epoch", "loss", "lr", "grad_norm", "stage"} <= set(step.fields)
    assert step["step"] == 1 and step["lr"] == 0.0 and step["stage"] is None
    ev = rec.of("eval")[0]
    assert ev["metric"] == "f1" and "per_type" in ev["metrics"] and ev["split"] == "validation"
    assert rec.of("eval")[-1]["split"] == "test"
    ended = logged[-1]
    assert ended["status"] == "completed" and ended["final_model"] == "last"
    assert set(ended["test"]) >= {"f1", "precision", "recall", "f1_default", "per_type", "loss"}
    run_json = json.loads((result.run_dir / "run.json").read_text())
    assert run_json["status"] == "completed" and run_json["config"]["mode"] == mode


def _scripted_eval(monkeypatch, losses):
    """Replace the evaluation pass by a scripted validation-loss sequence (one value per epoch)."""
    calls = {"validation": 0}

    def fake_evaluate(model, loader, features, task, accelerator, strategy=None):
        if loader is not None and features is task.features["validation"]:
            value = losses[calls["validation"]]
            calls["validation"] += 1
            return {"loss": value, "f1": 0.0}
        return {"loss": 0.0, "f1": 0.0}

    monkeypatch.setattr(engine_module, "evaluate", fake_evaluate)


@pytest.mark.parametrize("losses,expected,last_epoch", [
    (EXAMPLE_1, expected_example_1, 10), (EXAMPLE_2, expected_example_2, 13)])
def test_engine_reproduces_worked_examples(tiny_model_dir, conll_dir, tmp_path, monkeypatch,
                                           losses, expected, last_epoch):
    _scripted_eval(monkeypatch, losses)
    rec = RecorderSink()
    cfg = tiny_config(tiny_model_dir, conll_dir, tmp_path, lr=2e-5, save_checkpoints=False,
                      save_model=False, evaluate_test=False)
    result = train(cfg, sinks=[rec])
    assert [e["lr"] for e in rec.of("step")] == pytest.approx(expected(), rel=1e-12, abs=0)
    assert result.status == "early_stopped" and result.epochs == last_epoch + 1
    assert rec.of("decision")[-1]["epoch"] == last_epoch
    assert rec.of("run_ended")[0]["status"] == "early_stopped"


def test_stop_signal_mid_epoch_ends_log(tiny_model_dir, conll_dir, tmp_path):
    stop = threading.Event()

    class StopAtStep6:
        def handle(self, event):
            if event.event == "step" and event["step"] == 6:
                stop.set()

    rec = RecorderSink()
    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path), sinks=[rec, StopAtStep6()],
                   stop_event=stop)
    assert result.status == "stopped" and result.steps == 6 and result.model_dir is None
    logged = read_events(result.run_dir)
    assert logged[-1]["event"] == "run_ended" and logged[-1]["status"] == "stopped"
    assert "during epoch 2 " in logged[-1]["error"]  # the second epoch, counted from 1 as shown
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "stopped"


def test_stop_file_stops_a_run(tiny_model_dir, conll_dir, tmp_path):
    class TouchStop:
        def handle(self, event):
            if event.event == "step" and event["step"] == 2:
                (tmp_path / "runs" / event.run_id / "STOP").touch()

    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path), sinks=[TouchStop()])
    assert result.status == "stopped" and result.steps == 2


def test_nan_loss_fails_and_keeps_last_good_checkpoint(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    from adaft_core.tasks import ner as ner_task

    real_loader = ner_task.load_token_classifier

    def poisoned(path, labels):
        model = real_loader(path, labels)
        calls = {"n": 0}

        def hook(module, args, kwargs, output):
            if module.training:
                calls["n"] += 1
                if calls["n"] == 6:  # step 6: mid epoch 1, after epoch 0's checkpoint
                    output.loss = output.loss * float("nan")
            return output

        model.register_forward_hook(hook, with_kwargs=True)
        return model

    monkeypatch.setattr(ner_task, "load_token_classifier", poisoned)
    rec = RecorderSink()
    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path), sinks=[rec])
    assert result.status == "failed" and result.steps == 5
    ended = read_events(result.run_dir)[-1]
    assert ended["event"] == "run_ended" and ended["status"] == "failed"
    assert "non-finite training loss" in ended["error"] and "checkpoint" in ended["error"]
    assert (result.run_dir / "checkpoint" / "model.safetensors").exists()
    assert not (result.run_dir / "model").exists()
    assert [e["step"] for e in rec.of("checkpoint")] == [4]


def test_crash_still_ends_log(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine_module, "evaluate", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        train(tiny_config(tiny_model_dir, conll_dir, tmp_path, run_name="crash"))
    ended = read_events(tmp_path / "runs" / "crash")[-1]
    assert ended["status"] == "failed" and "disk on fire" in ended["error"]


def test_failing_sink_is_reported_once_and_training_goes_on(tiny_model_dir, conll_dir, tmp_path):
    class Broken:
        def handle(self, event):
            raise OSError("sink down")

    with pytest.warns(RuntimeWarning, match="sink down") as warned:
        result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path, max_epochs=2, mode="original"),
                       sinks=[Broken()])
    assert result.status == "completed"
    assert sum("sink down" in str(w.message) for w in warned) == 1
    assert read_events(result.run_dir)[-1]["sink_failures"]["Broken"] > 10


def test_final_model_best_and_pipeline_loads_it(tiny_model_dir, conll_dir, tmp_path):
    from transformers import pipeline

    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path, mode="original", max_epochs=3,
                               final_model="best"))
    assert result.final_model == "best" and result.best_epoch is not None
    assert result.val == read_events(result.run_dir)[3 * 4 + 3 * 3 - 2]["metrics"] or result.val is not None
    tagger = pipeline("token-classification", model=str(result.model_dir))
    tags = tagger("Alice went to Paris")
    assert isinstance(tags, list)
    assert all(math.isfinite(t["score"]) for t in tags)


def test_grad_accumulation_keeps_steps_per_epoch(tiny_model_dir, conll_dir, tmp_path):
    rec = RecorderSink()
    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path, batch_size=6, grad_accum=2,
                               mode="original", max_epochs=2), sinks=[rec])
    assert rec.of("run_started")[0]["steps_per_epoch"] == 4 and result.steps == 8


def test_same_seed_same_losses(tiny_model_dir, conll_dir, tmp_path):
    runs = []
    for name in ("a", "b"):
        rec = RecorderSink()
        train(tiny_config(tiny_model_dir, conll_dir, tmp_path, mode="original", max_epochs=1,
                          run_name=name), sinks=[rec])
        runs.append([e["loss"] for e in rec.of("step")])
    assert runs[0] == runs[1]
