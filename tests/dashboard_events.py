"""Recorded-style event streams for the dashboard tests, made with the engine's own pure pieces.

``synthetic_run`` replays a scripted validation-loss sequence through ``adaft_core.modes``
(``lr_at`` per step, ``decide`` per epoch), so the decisions, reasons and learning rates are
exactly what the engine would log; ``mask_event`` follows ``adaft_core/strategies/telemetry.py``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from adaft_core.modes import ModeSettings, MonitorState, decide, lr_at

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
         device="cpu", versions={}, metric="f1")
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
                     error=f"stop requested during epoch {epoch} after step {step}")
                return events
        emit("eval", epoch=epoch, step=step, split="validation", loss=value, metric="f1", score=1 - value,
             metrics={"loss": value, "f1": 1 - value})
        state, decision = decide(state, epoch=epoch, value=value, settings=settings, steps_per_epoch=spe)
        emit("decision", **vars(decision))
        if decision.action == "stop":
            break
    last = decision.epoch
    emit("eval", epoch=last, step=step, split="test", loss=0.5, metric="f1", score=0.55, metrics={"f1": 0.55})
    emit("run_ended", status="early_stopped" if decision.early_stop else "completed", epochs=last + 1, steps=step,
         best_epoch=state.best_epoch, final_model="last", val={"f1": 1 - val_losses[last], "loss": val_losses[last]},
         test={"f1": 0.55}, wall_time=12.5, error=None)
    return events


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
