"""The adaptive LR schedule inside ``transformers.Trainer``: a scheduler and a callback sharing one
:class:`ScheduleState`.

:class:`AdaptiveLR` is an ``LRScheduler`` whose LR for 0-based optimizer step ``t`` is adaft's pure
``lr_at(t, monitor, settings, steps_per_epoch, lr_max)`` (``adaft_core/modes``); Trainer steps it
once per optimizer step, so ``last_epoch`` is the number of steps taken — the step index adaft's
engine uses. :class:`AdaptiveScheduleCallback` calls adaft's ``decide`` on each validation loss
(Trainer's per-epoch ``eval_loss``), stores the new monitor state in the shared state, re-applies
the LR of the next step (Trainer stepped the scheduler before evaluating, with the old state) and
sets ``control.should_training_stop`` on a stop. Nothing of the mode is written here twice: the
same LR every step and the same decisions as adaft's engine, given the same validation losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch.optim.lr_scheduler import LRScheduler
from transformers import TrainerCallback

from adaft_core.errors import ConfigError
from adaft_core.modes import Decision, ModeSettings, MonitorState, decide, get_mode, lr_at


@dataclass
class ScheduleState:
    """What the scheduler and the callback share: settings, monitor state, the decisions so far."""

    settings: ModeSettings
    lr_max: float
    steps_per_epoch: int | None = None  # known once Trainer creates the scheduler
    monitor: MonitorState = field(default_factory=MonitorState)
    epoch: int = 0  # the 0-based epoch being trained (= decisions taken so far)
    decisions: list[Decision] = field(default_factory=list)
    training: bool = False  # between on_train_begin and on_train_end (evaluate() outside: no decision)
    scheduler: "AdaptiveLR | None" = None  # the scheduler reading this state (set by it)

    def lr(self, step: int) -> float:
        """The LR of 0-based optimizer step ``step`` under the current monitor state."""
        if self.steps_per_epoch is None:
            raise RuntimeError("the adaptive schedule's steps per epoch are not known before training starts")
        return lr_at(step, self.monitor, self.settings, self.steps_per_epoch, self.lr_max)

    def set_steps(self, num_training_steps: int) -> None:
        """Trainer's total steps are ``num_train_epochs × steps per epoch`` (a resumed run's must be the
        checkpoint's: its plan is counted in them)."""
        steps = max(1, math.ceil(num_training_steps / self.settings.max_epochs))
        if self.steps_per_epoch is not None and self.steps_per_epoch != steps:
            raise ConfigError(f"the checkpoint's run had {self.steps_per_epoch} optimizer steps per epoch, this "
                              f"Trainer has {steps}: its data or batch settings changed; it cannot be resumed")
        self.steps_per_epoch = steps

    @property
    def fixed_length(self) -> bool:
        return get_mode(self.settings.mode).fixed_length

    def record(self, value: float) -> Decision:
        """adaft's decision after the epoch being trained; the monitor state moves on."""
        self.monitor, decision = decide(self.monitor, epoch=self.epoch, value=value, settings=self.settings,
                                        steps_per_epoch=self.steps_per_epoch, lr_max=self.lr_max)
        self.decisions.append(decision)
        self.epoch += 1
        if self.scheduler is not None:
            self.scheduler.refresh()  # Trainer stepped it before evaluating, under the old state
        return decision


class AdaptiveLR(LRScheduler):
    """``lr_at`` as a torch scheduler: every param group gets the mode's LR of step ``last_epoch``."""

    def __init__(self, optimizer, state: ScheduleState):
        self.state = state
        state.scheduler = self
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [self.state.lr(self.last_epoch)] * len(self.optimizer.param_groups)

    def state_dict(self) -> dict:
        """Trainer saves this with ``torch.save`` and loads it with ``weights_only=True``: the step
        count and plain values only (the schedule state travels in the kit's callback state)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "state")}

    def refresh(self) -> None:
        """Re-apply the LR of the next step after the monitor state changed (a decision)."""
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs


class AdaptiveScheduleCallback(TrainerCallback):
    """On each evaluation during training: adaft's decision, the next LR, and stop when it says so."""

    def __init__(self, state: ScheduleState, on_decision=None):
        self.state = state
        self.on_decision = on_decision  # called with (decision, metrics, trainer state) after the state moved on

    def on_train_begin(self, args, state, control, **kwargs):
        self.state.training = True
        if self.state.scheduler is not None:  # a resumed run: the LR of the next step under the restored state
            self.state.scheduler.refresh()

    def on_train_end(self, args, state, control, **kwargs):
        self.state.training = False

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.state.training or not metrics or "eval_loss" not in metrics:
            return
        decision = self.state.record(float(metrics["eval_loss"]))
        if decision.action == "stop":
            control.should_training_stop = True
        if self.on_decision is not None:
            self.on_decision(decision, metrics, state)
