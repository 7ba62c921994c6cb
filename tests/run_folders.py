"""Run folders written by hand for the store, sweep, report and dashboard tests: a small valid run
log (:func:`events`), a run folder with its files replaceable by damaged bytes (:func:`make_run`),
and a finished run with a given score (:func:`write_finished_run`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from adaft_core.store.liveness import HOST

T0 = 1_700_000_000.0
DEAD = {"host": HOST, "pid": os.getpid(), "pid_start": -1.0}  # this pid, another start time: a reused pid


def events(run_id: str, ended: bool = True) -> list[dict]:
    """A small, valid run log: run_started, 2 steps, eval, decision (+ run_ended)."""
    evs = [dict(event="run_started", task="ner", mode="original", strategy="vanilla", metric="f1",
                config={"task": "ner"}),
           dict(event="step", step=1, epoch=0, loss=1.0, lr=1e-3, grad_norm=1.0, stage=None),
           dict(event="step", step=2, epoch=0, loss=0.9, lr=1e-3, grad_norm=1.0, stage=None),
           dict(event="eval", epoch=0, step=2, split="validation", loss=0.8, metric="f1", score=0.5, metrics={}),
           dict(event="decision", epoch=0, phase="warmup", action="continue", reason="first value", improved=True)]
    if ended:
        evs.append(dict(event="run_ended", status="completed", epochs=1, steps=2, best_epoch=0,
                        val={"f1": 0.5}, test={"f1": 0.4}, wall_time=3.0, error=None))
    return [{**e, "run_id": run_id, "seq": i, "time": T0 + i} for i, e in enumerate(evs)]


def lines(evs: list[dict]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in evs)


def make_run(root: Path, name: str, *, log: bytes | None = None, info: bytes | None | str = "ok",
             ended: bool = True, owner: dict | None = None) -> Path:
    """A run folder; ``log``/``info`` replace the files' bytes (None: the file is absent)."""
    path = root / name
    path.mkdir(parents=True)
    if info == "ok":
        info = json.dumps({"run_id": name, "status": "completed" if ended else "running",
                           "config": {"task": "ner", "mode": "original"}, "started": T0,
                           "owner": owner or DEAD}).encode()
    if info is not None:
        (path / "run.json").write_bytes(info)
    (path / "events.jsonl").write_bytes(lines(events(name, ended)) if log is None else log)
    return path


def write_finished_run(root, run_id, *, score, epochs, wall, status="completed", metric="f1"):
    """A sweep point's run folder: run_started, one validation eval with ``score``, run_ended."""
    folder = root / run_id
    folder.mkdir(parents=True)
    events = [
        {"event": "run_started", "run_id": run_id, "seq": 0, "time": 1000.0, "task": "ner", "mode": "x",
         "strategy": "vanilla", "metric": metric, "config": {}},
        {"event": "eval", "run_id": run_id, "seq": 1, "time": 1001.0, "epoch": epochs - 1, "step": 10,
         "split": "validation", "loss": 0.5, "metric": metric, "score": score, "metrics": {metric: score}},
        {"event": "run_ended", "run_id": run_id, "seq": 2, "time": 1002.0, "status": status, "epochs": epochs,
         "steps": 10, "best_epoch": 0, "final_model": "last", "val": {metric: score}, "test": {metric: score},
         "wall_time": wall, "error": None},
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": status, "config": {}}))
