"""``AdaptiveKit``: adaft's adaptive schedule, update strategies and run log for an existing
``transformers.Trainer``, in three lines::

    from adaft_core.integrations import AdaptiveKit
    kit = AdaptiveKit(mode="adaptive", strategy="dps-dense", runs_dir="runs")
    kit.attach(trainer)          # then trainer.train() as before

The trainer's ``TrainingArguments`` give the rest: ``learning_rate`` is adaft's peak LR,
``num_train_epochs`` its ``max_epochs``, ``seed`` its seed; ``eval_strategy="epoch"`` is required
(the adaptive mode decides once per epoch, on ``eval_loss``). ``attach`` adds the callbacks
(schedule, strategy, run log), installs :class:`~.schedule.AdaptiveLR` as the trainer's scheduler
and the strategy's gradient hooks (``strategy_hooks.py``), and wraps ``train`` so that a failed or
interrupted run still ends its log.

``trainer.train(resume_from_checkpoint=…)`` continues the adaptive schedule, the decisions, the
strategy state and the same run log from Trainer's own ``checkpoint-N`` (``resume.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaft_core.errors import ConfigError
from adaft_core.modes import MODE_DEFAULTS, ModeSettings, get_mode
from adaft_core.strategies import make_strategy
from adaft_core.integrations.resume import ResumePoint, resolve_checkpoint, restore, state_callback
from adaft_core.integrations.run_log import RunLogCallback
from adaft_core.integrations.schedule import AdaptiveLR, AdaptiveScheduleCallback, ScheduleState
from adaft_core.integrations.strategy_hooks import StrategyCallback, install_gradient_hooks


class AdaptiveKit:
    """One Trainer run's adaft pieces and their shared state (use a new kit per ``train()``).

    The mode settings default to adaft's own (``adaft_core.modes.MODE_DEFAULTS``)."""

    def __init__(self, mode: str = MODE_DEFAULTS.mode, *, warmup_epochs: int = MODE_DEFAULTS.warmup_epochs,
                 cooldown_epochs: int = MODE_DEFAULTS.cooldown_epochs, patience: int = MODE_DEFAULTS.patience,
                 restarts: bool = MODE_DEFAULTS.restarts, min_delta: float = MODE_DEFAULTS.min_delta,
                 strategy: str = "vanilla", strategy_options: dict | None = None,
                 runs_dir: str | Path | None = "runs", run_name: str | None = None, task: str = "ner",
                 metric: str = "f1", sinks=()):
        get_mode(mode)  # an unknown mode: ConfigError listing the valid ones
        self.mode_options = dict(mode=mode, warmup_epochs=warmup_epochs, cooldown_epochs=cooldown_epochs,
                                 patience=patience, restarts=restarts, min_delta=min_delta)
        self.strategy = make_strategy(strategy, strategy_options)  # bad options: ConfigError
        self.strategy_options = dict(strategy_options or {})
        self.runs_dir, self.run_name, self.task, self.metric = runs_dir, run_name, task, metric
        self.sinks = list(sinks)
        self.trainer = None
        self.schedule: ScheduleState | None = None
        self.run_dir: Path | None = None
        self.step_info: dict[str, Any] = {}  # the running step's loss / grad_norm / lr, for the log
        self.log: RunLogCallback | None = None
        self.resume_point: ResumePoint | None = None  # set by train(resume_from_checkpoint=…)

    # ------------------------------------------------------------------ wiring
    def attach(self, trainer):
        """Make ``trainer`` adaptive (and logged when ``runs_dir`` is set); returns it."""
        if self.trainer is not None:
            raise ConfigError("this AdaptiveKit is already attached to a Trainer; make a new kit per run")
        args = trainer.args
        if str(getattr(args.eval_strategy, "value", args.eval_strategy)) != "epoch":
            raise ConfigError("AdaptiveKit needs TrainingArguments(eval_strategy='epoch'): the mode decides after "
                              f"every epoch's validation loss (got eval_strategy={args.eval_strategy!s})")
        if args.max_steps and args.max_steps > 0:
            raise ConfigError("AdaptiveKit counts epochs: leave TrainingArguments.max_steps unset and give "
                              "num_train_epochs (the mode's max_epochs)")
        if args.num_train_epochs != int(args.num_train_epochs) or args.num_train_epochs < 1:
            raise ConfigError(f"num_train_epochs must be a whole number ≥ 1 (got {args.num_train_epochs})")
        if trainer.lr_scheduler is not None:
            raise ConfigError("the Trainer already has an LR scheduler; AdaptiveKit installs its own "
                              "(pass optimizers=(optimizer, None))")
        settings = ModeSettings(max_epochs=int(args.num_train_epochs), **self.mode_options)
        self.schedule = ScheduleState(settings=settings, lr_max=float(args.learning_rate))
        self.trainer = trainer
        if self.runs_dir is not None:  # first: run_started precedes the strategy's first mask event
            self.log = RunLogCallback(self, self.sinks)
            trainer.add_callback(self.log)
        trainer.add_callback(AdaptiveScheduleCallback(self.schedule, self.log.on_decision if self.log else None))
        trainer.add_callback(StrategyCallback(self))
        trainer.add_callback(state_callback(self))  # the kit's state in Trainer's checkpoints
        self._install_scheduler(trainer)
        install_gradient_hooks(trainer, self)
        self._wrap_train(trainer)
        return trainer

    def scheduler(self, optimizer, num_training_steps: int) -> AdaptiveLR:
        """The adaptive LR scheduler for ``optimizer`` (Trainer's ``create_scheduler`` calls this)."""
        self.schedule.set_steps(num_training_steps)
        return AdaptiveLR(optimizer, self.schedule)

    def _install_scheduler(self, trainer) -> None:
        def create_scheduler(num_training_steps: int, optimizer=None):
            if trainer.lr_scheduler is None:
                trainer.lr_scheduler = self.scheduler(optimizer or trainer.optimizer, num_training_steps)
            return trainer.lr_scheduler

        trainer.create_scheduler = create_scheduler

    def _wrap_train(self, trainer) -> None:
        train = trainer.train

        def wrapped(*args, **kwargs):
            resume = args[0] if args else kwargs.get("resume_from_checkpoint")
            if resume:  # before anything is written: a bad checkpoint is one ConfigError
                if self.resume_point is not None or self.schedule.decisions:
                    raise ConfigError("this AdaptiveKit has trained already; make a new kit (and Trainer) to resume")
                folder = resolve_checkpoint(trainer, resume)
                self.resume_point = restore(self, folder)
                args, kwargs = (str(folder), *args[1:]), {k: v for k, v in kwargs.items()
                                                          if k != "resume_from_checkpoint"}
            try:
                return train(*args, **kwargs)
            except KeyboardInterrupt:
                self._end_failed("stopped", "interrupted (KeyboardInterrupt)")
                raise
            except BaseException as exc:
                self._end_failed("failed", f"{type(exc).__name__}: {exc}")
                raise

        trainer.train = wrapped

    def _end_failed(self, status: str, error: str) -> None:
        if self.log is not None:
            self.log.end(status, error, self.trainer.state.global_step)

    # ------------------------------------------------------------------ shared
    def emit(self, name: str, **fields) -> None:
        """The strategy's events (``mask``, ``telemetry``) go to the run log, if any."""
        if self.log is not None:
            self.log.emit(name, **fields)

    @property
    def decisions(self):
        return self.schedule.decisions if self.schedule else []

    def config(self) -> dict[str, Any]:
        """The run's settings as adaft names them (``run.json``'s and ``run_started``'s ``config``)."""
        args = self.trainer.args
        return {"integration": "transformers.Trainer", "task": self.task, "model": _model_name(self.trainer.model),
                **self.mode_options, "max_epochs": int(args.num_train_epochs), "lr": float(args.learning_rate),
                "batch_size": args.per_device_train_batch_size, "grad_accum": args.gradient_accumulation_steps,
                "max_grad_norm": args.max_grad_norm, "weight_decay": args.weight_decay, "seed": args.seed,
                "strategy": self.strategy.name, "strategy_options": self.strategy_options,
                "mixed_precision": "fp16" if args.fp16 else "bf16" if args.bf16 else "no",
                "output_dir": str(self.runs_dir), "run_name": self.run_name}


def _model_name(model) -> str:
    return str(getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__)
