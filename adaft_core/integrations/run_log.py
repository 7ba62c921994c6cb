"""adaft's run log for a ``transformers.Trainer`` run: ``<runs>/<run_id>/events.jsonl`` + ``run.json``
+ heartbeat, written as adaft's own runs write them, so ``adaft runs list`` / ``runs show`` and the
dashboard show Trainer runs live next to adaft runs.

Events (the contract of ``adaft_core/events/schema.py``): ``run_started`` (on_train_begin), ``mask``
and ``telemetry`` (from the strategy), ``step`` (on_step_end), ``eval`` + ``decision`` after each
validation, ``checkpoint`` (on_save), ``run_ended`` (on_train_end; ``failed`` / ``stopped`` when
``train()`` raises — the kit wraps it). A ``STOP`` file in the run folder stops training after the
current optimizer step, as for adaft's runs. A run resumed from a Trainer checkpoint
(``resume.py``) reopens the same log and goes on after a ``resumed`` event, as ``adaft train
--resume`` does. The folder, log, heartbeat and ``run.json`` are written by the run recorder
(``store/recorder.py``) that adaft's own loop uses too.
"""

from __future__ import annotations

import time
from pathlib import Path

from transformers import TrainerCallback

from adaft_core.errors import ConfigError
from adaft_core.modes import start_plan
from adaft_core.run.results import run_versions
from adaft_core.store.recorder import RunRecorder
from adaft_core.store.runs import EVENTS_FILE


def _float(value):
    return None if value is None else float(value)


class RunLogCallback(TrainerCallback):
    """Writes the kit's run: opened at ``on_train_begin``, closed by :meth:`end` (on every path)."""

    def __init__(self, kit, sinks=()):
        self.kit = kit
        self.sinks = list(sinks)
        self.recorder = RunRecorder.quiet()  # until rank 0 opens the run (the other ranks: for good)
        self.evals: dict[int, dict] = {}
        self.stop_requested = False

    # ------------------------------------------------------------------ start
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        kit = self.kit
        if not state.is_world_process_zero:
            return  # only rank 0 writes (the others' recorder stays quiet, as in adaft's engine)
        if kit.resume_point is not None:
            return self._reopen(args, state)
        trainer, sched = kit.trainer, kit.schedule
        self.t0 = time.time()
        self.recorder = RunRecorder.new(kit.runs_dir, task=kit.task, mode=sched.settings.mode, seed=args.seed,
                                        run_name=kit.run_name, config=kit.config(), sinks=self.sinks, started=self.t0)
        kit.run_dir = self.recorder.run_dir
        labels = list((getattr(getattr(model, "config", None), "id2label", None) or {}).values())
        self.recorder.run_started(
            config=kit.config(), task=kit.task, mode=sched.settings.mode, strategy=kit.strategy.name,
            lr_plan=start_plan(sched.settings, sched.steps_per_epoch, sched.lr_max),
            model=kit.config()["model"],
            seed=args.seed, train_size=_size(trainer.train_dataset), val_size=_size(trainer.eval_dataset),
            steps_per_epoch=sched.steps_per_epoch, max_epochs=sched.settings.max_epochs, labels=labels,
            device=str(args.device), num_processes=trainer.accelerator.num_processes,
            mixed_precision=str(trainer.accelerator.mixed_precision), metric=kit.metric, versions=run_versions())

    def _reopen(self, args, state) -> None:
        """A resumed run: the checkpoint's run log goes on, after a ``resumed`` event."""
        kit, point, sched = self.kit, self.kit.resume_point, self.kit.schedule
        if point.run_dir is None or not (Path(point.run_dir) / EVENTS_FILE).is_file():
            raise ConfigError(f"the run log of checkpoint {point.checkpoint} ({point.run_dir}/{EVENTS_FILE}) is gone; "
                              "resume where its runs folder is, or start a new run")
        self.t0 = point.started or time.time()
        self.evals = dict(point.evals)
        self.recorder = RunRecorder.reopen(point.run_dir, config=kit.config(), sinks=self.sinks, started=self.t0)
        kit.run_dir = self.recorder.run_dir
        self.recorder.resumed(step=state.global_step, epoch=sched.epoch, checkpoint=point.checkpoint,
                              steps_per_epoch=sched.steps_per_epoch, max_epochs=sched.settings.max_epochs,
                              metric=kit.metric)

    def emit(self, name: str, **fields) -> None:
        self.recorder.emit(name, **fields)

    # ------------------------------------------------------------------ per step
    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.kit.step_info["lr"] = optimizer.param_groups[0]["lr"]  # the LR this step uses

    def on_step_end(self, args, state, control, **kwargs):
        info, self.kit.step_info = self.kit.step_info, {}
        stage = self.kit.strategy.stage(state.global_step)
        self.emit("step", step=state.global_step, epoch=self.kit.schedule.epoch, loss=_float(info.get("loss")),
                  lr=float(info.get("lr", 0.0)), grad_norm=_float(info.get("grad_norm")), stage=stage)
        if self.recorder.stop_requested():
            self.stop_requested = control.should_training_stop = True

    # ------------------------------------------------------------------ per validation
    def on_decision(self, decision, metrics: dict, state) -> None:
        """After each validation (called by the schedule callback once it decided): ``eval``,
        ``decision`` and the strategy's ``telemetry``, as adaft's engine writes them."""
        clean = {k.removeprefix("eval_"): v for k, v in metrics.items()}
        self.evals[decision.epoch] = clean
        self.recorder.validation(epoch=decision.epoch, step=state.global_step, metric=self.kit.metric,
                                 metrics=clean, decision=decision, strategy=self.kit.strategy)

    def on_save(self, args, state, control, **kwargs):
        sched = self.kit.schedule
        path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        improved = bool(sched.decisions and sched.decisions[-1].improved)
        self.emit("checkpoint", epoch=max(0, sched.epoch - 1), step=state.global_step, path=str(path),
                  is_best=improved)

    # ------------------------------------------------------------------ end
    def on_train_end(self, args, state, control, **kwargs):
        decisions = self.kit.schedule.decisions
        if self.stop_requested:
            self.end("stopped", f"stop requested after step {state.global_step}", state.global_step)
        else:
            early = bool(decisions and decisions[-1].early_stop)
            self.end("early_stopped" if early else "completed", None, state.global_step)

    def end(self, status: str, error: str | None, steps: int) -> None:
        """``run_ended`` and the final ``run.json`` (once; later calls, and other ranks, write nothing)."""
        if self.recorder.run_dir is None:
            return
        monitor = self.kit.schedule.monitor
        best = monitor.best_epoch if monitor.best_epoch >= 0 else None
        last = max(self.evals, default=None)
        self.recorder.end(status, {"epochs": len(self.evals), "steps": steps, "best_epoch": best,
                                   "final_model": "last" if status in ("completed", "early_stopped") else None,
                                   "val": self.evals.get(last) if last is not None else None, "test": None,
                                   "wall_time": time.time() - self.t0, "error": error})
        self.recorder = RunRecorder.quiet()  # what comes after the end goes nowhere


def _size(dataset) -> int:
    try:
        return len(dataset)
    except TypeError:
        return 0
