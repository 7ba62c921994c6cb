"""Event streams for the dashboard tests: real engine runs, and hand-built ones for edge cases.

``record_engine_run`` runs the real engine on the tiny model (optionally with a scripted
validation-loss sequence) and returns its run log. ``synthetic_run`` replays a scripted sequence
through ``adaft_core.modes`` (``lr_at`` per step, ``decide`` per epoch) without a model, for
streams no quick real run gives (20 000 steps, a stop mid-epoch); a test checks it against a real
run's log, field for field. ``cyclic_run`` is a run of a mode the dashboard does not know;
``mask_event`` follows ``adaft_core/strategies/telemetry.py``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from adaft_core.modes import ModeSettings, MonitorState, decide, lr_at, start_plan

KINDS = ("q", "k", "v", "o", "ffn_in", "ffn_out")


def synthetic_run(run_id: str, val_losses, *, spe: int = 4, settings: ModeSettings = ModeSettings(),
                  lr: float = 2e-5, strategy: str = "vanilla", t0: float = 1_000.0, stop_at_step: int | None = None,
                  stage_every: int | None = None, loss=lambda step: 2.0 / (1 + 0.1 * step)) -> list[dict]:
    events: list[dict] = []
    seq = itertools.count()

    def emit(name, **fields):
        events.append({"event": name, "run_id": run_id, "seq": next(seq), "time": t0 + len(events), **fields})

    cfg = {"task": "ner", "model": "tiny", "data": "synthetic", "mode": settings.mode, "strategy": strategy,
           "seed": 0, "lr": lr, "max_epochs": settings.max_epochs, "warmup_epochs": settings.warmup_epochs,
           "cooldown_epochs": settings.cooldown_epochs, "patience": settings.patience, "restarts": settings.restarts}
    emit("run_started", config=cfg, task="ner", mode=settings.mode, strategy=strategy, model="tiny", seed=0,
         train_size=48, val_size=16, steps_per_epoch=spe, max_epochs=settings.max_epochs, labels=["O", "B-PER"],
         device="cpu", versions={"adaft": "0.2.0"}, metric="f1", host="test", pid=1,
         lr_plan=start_plan(settings, spe, lr))
    state, step, decision = MonitorState(), 0, None
    for epoch, value in enumerate(val_losses):
        for _ in range(spe):
            used = lr_at(step, state, settings, spe, lr)
            step += 1
            stage = None if stage_every is None else ("I" if ((step - 1) // stage_every) % 2 == 0 else "II")
            emit("step", step=step, epoch=epoch, loss=loss(step), lr=used, grad_norm=1.0, stage=stage)
            if step == stop_at_step:
                emit("run_ended", status="stopped", epochs=epoch, steps=step, best_epoch=state.best_epoch
                     if state.best_epoch >= 0 else None, final_model=None, val=None, test=None, wall_time=3.0,
                     error=f"stop requested during epoch {epoch + 1} after step {step}")  # as the engine says it
                return events
        emit("eval", epoch=epoch, step=step, split="validation", loss=value, metric="f1", score=1 - value,
             metrics={"loss": value, "f1": 1 - value})
        state, decision = decide(state, epoch=epoch, value=value, settings=settings, steps_per_epoch=spe, lr_max=lr)
        emit("decision", **vars(decision))
        if decision.action == "stop":
            break
    last = decision.epoch
    emit("eval", epoch=last, step=step, split="test", loss=0.5, metric="f1", score=0.55, metrics={"f1": 0.55})
    emit("run_ended", status="early_stopped" if decision.early_stop else "completed", epochs=last + 1, steps=step,
         best_epoch=state.best_epoch, final_model="last", val={"f1": 1 - val_losses[last], "loss": val_losses[last]},
         test={"f1": 0.55}, wall_time=12.5, error=None)
    return events


def cyclic_run(run_id: str, epochs: int = 6, *, spe: int = 4, lr: float = 1e-4, running_steps: int = 0) -> list[dict]:
    """A run of mode "cyclic" (unknown to the dashboard): the LR rises over one epoch and falls over
    the next; its decisions carry their phase and plan, and no ``wait_plan`` (the mode does not
    stop on the monitor). ``running_steps``: steps of one more epoch, not yet decided."""
    events: list[dict] = []

    def emit(name, **fields):
        events.append({"event": name, "run_id": run_id, "seq": len(events), "time": 500.0 + len(events), **fields})

    def phase(epoch):
        return ("rise", "fall")[epoch % 2]

    def plan(epoch):  # the phase of epoch `epoch` as a plan
        first, last = (lr / spe, lr) if phase(epoch) == "rise" else (lr, lr / spe)
        return {"kind": phase(epoch), "from_step": epoch * spe + 1, "steps_left": spe, "lr_next": first,
                "lr_end": last, "then": phase(epoch + 1)}

    emit("run_started", config={"mode": "cyclic", "lr": lr}, task="ner", mode="cyclic", strategy="vanilla",
         model="tiny", seed=0, train_size=48, val_size=16, steps_per_epoch=spe, max_epochs=epochs,
         labels=["O"], device="cpu", versions={"adaft": "0.2.0"}, host="test", pid=1, lr_plan=plan(0))
    for epoch in range(epochs + (1 if running_steps else 0)):
        p = plan(epoch)
        for k in range(spe if epoch < epochs else running_steps):
            step = epoch * spe + k + 1
            emit("step", step=step, epoch=epoch, loss=1.0 / step, stage=None, grad_norm=1.0,
                 lr=p["lr_next"] + (p["lr_end"] - p["lr_next"]) * k / (spe - 1))
        if epoch == epochs:
            break
        emit("eval", epoch=epoch, step=(epoch + 1) * spe, split="validation", loss=1.0 - 0.01 * epoch,
             metric="f1", score=0.1 * epoch, metrics={})
        last = epoch == epochs - 1 and not running_steps
        stop_plan = {"kind": "stop", "from_step": (epoch + 1) * spe + 1, "steps_left": 0, "lr_next": None,
                     "lr_end": None, "then": None}
        emit("decision", epoch=epoch, monitor="val_loss", value=1.0 - 0.01 * epoch, best=1.0 - 0.01 * epoch,
             improved=True, wait=0, phase=phase(epoch), action="stop" if last else "continue",
             reason=f"cycle {epoch // 2 + 1}: {phase(epoch)} done", epochs_left=epochs - epoch - 1,
             early_stop=False, next_phase="stopped" if last else phase(epoch + 1),
             lr_plan=stop_plan if last else plan(epoch + 1))
    if not running_steps:
        emit("run_ended", status="completed", epochs=epochs, steps=epochs * spe, best_epoch=epochs - 1,
             final_model="last", val=None, test=None, wall_time=1.0, error=None)
    return events


def record_engine_run(model_dir: str, data_dir: str, out_dir: Path, *, val_losses=None, sinks=(), stop_event=None,
                      **config):
    """A real engine run on the tiny model (``val_losses``: scripted validation losses, one per
    epoch, instead of the evaluation pass); returns (run folder, its events as logged)."""
    import pytest

    from adaft_core import TrainConfig, train
    from adaft_core.run import engine
    from adaft_core.store.runs import read_events

    base = dict(model=model_dir, data=data_dir, output_dir=str(out_dir), batch_size=12, lr=2e-5,
                eval_batch_size=16, seed=0, save_checkpoints=False, save_model=False)
    calls = {"validation": 0}
    real_evaluate = engine.evaluate

    def scripted(model, loader, features, task, accelerator, strategy=None):
        if features is not task.features["validation"]:
            return real_evaluate(model, loader, features, task, accelerator, strategy)
        value = val_losses[calls["validation"]]
        calls["validation"] += 1
        return {"loss": value, "f1": 1.0 - value}

    with pytest.MonkeyPatch.context() as mp:
        if val_losses is not None:
            mp.setattr(engine, "evaluate", scripted)
        result = train(TrainConfig(**{**base, **config}), sinks=list(sinks), stop_event=stop_event)
    return result.run_dir, read_events(result.run_dir)


def mask_event(run_id: str, seq: int, step: int, *, layers: int = 2, kept=lambda layer, kind: 0.3,
               overlap=lambda layer, kind: None, heads: int = 4, stage: str = "II", selection: int = 1) -> dict:
    modules = []
    for layer in range(layers):
        for kind in KINDS:
            entry = {"name": f"encoder.layer.{layer}.{kind}.weight", "layer": layer, "kind": kind,
                     "kept": kept(layer, kind), "overlap_prev": overlap(layer, kind)}
            if kind in ("q", "k", "v", "o"):
                entry["per_head"] = [kept(layer, kind)] * heads
            modules.append(entry)
            modules.append({"name": f"encoder.layer.{layer}.{kind}.bias", "layer": layer, "kind": kind,
                            "kept": 1.0, "overlap_prev": None})
    modules.append({"name": "classifier.weight", "layer": None, "kind": "head", "kept": 0.5, "overlap_prev": None})
    return {"event": "mask", "run_id": run_id, "seq": seq, "time": 2_000.0 + seq, "step": step, "stage": stage,
            "strategy": "dps-dense", "keep_fraction": 0.3, "modules": modules, "selection": selection,
            "kept_total": 0.31, "file": None}


def write_log(runs_dir: Path, events: list[dict], partial_tail: str | None = None) -> Path:
    """A run folder as the engine leaves it (``events.jsonl``, ``run.json``); optionally a
    half-written last line, as a live run's log can have."""
    run_id = events[0]["run_id"]
    folder = Path(runs_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "events.jsonl", "w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev) + "\n")
        if partial_tail:
            f.write(partial_tail)
    ended = [e for e in events if e["event"] == "run_ended"]
    status = ended[-1]["status"] if ended else "running"
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": status,
                                                 "config": events[0].get("config", {})}))
    return folder
