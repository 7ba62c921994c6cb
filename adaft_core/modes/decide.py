"""The decision after every validation pass, as a pure function returning (state, decision).

One function covers all three modes of ``specs/adaptive.md``:

- ``original`` / ``stable``: a fixed number of epochs; the monitor is tracked (for the best epoch
  and ``final_model="best"``) but never stops training early.
- ``adaptive``: strict improvement of validation loss (``v < best − min_delta``; epoch 0 always
  improves). At ``wait == patience + 1`` a cooldown of C epochs starts from the next step; an
  improving epoch inside a cooldown restarts constant LR (if ``restarts``); training stops after
  ``patience + C + 1`` consecutive non-improving epochs, at the end of the cooldown when
  restarts are off, or at ``max_epochs``.

The engine alone acts on the returned :class:`Decision` (the Lightning ``EarlyStopping``
habit: decisions are values with reasons, never exceptions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .schedules import AdaptiveSchedule

MODES = ("original", "stable", "adaptive")
DEFAULT_EPOCHS = {"original": 5, "stable": 20, "adaptive": 250}


@dataclass(frozen=True)
class ModeSettings:
    """The slice of the config a mode needs (defaults = the paper's)."""

    mode: str = "adaptive"
    max_epochs: int = 250
    warmup_epochs: int = 2
    cooldown_epochs: int = 7
    patience: int = 0
    restarts: bool = True
    min_delta: float = 0.0


@dataclass(frozen=True)
class MonitorState:
    """Everything the decision remembers between epochs (``state_dict`` = ``dataclasses.asdict``)."""

    best: float = math.inf
    best_epoch: int = -1
    wait: int = 0
    trigger_epoch: int | None = None  # epoch after which the running cooldown was armed
    schedule: AdaptiveSchedule = field(default_factory=AdaptiveSchedule)


@dataclass(frozen=True)
class Decision:
    """What happens after epoch ``epoch`` and why (the ``decision`` event's fields)."""

    epoch: int
    monitor: str
    value: float
    best: float
    improved: bool
    wait: int
    phase: str  # the phase epoch `epoch` ran in: warmup / constant / cooldown / decay
    action: str  # continue / cooldown / restart / stop
    reason: str
    epochs_left: int | None = None  # known bound on remaining epochs (fixed modes, cooldowns)
    early_stop: bool = False  # True when the stop came from the criterion, not a fixed length


def epoch_phase(epoch: int, state: MonitorState, settings: ModeSettings, steps_per_epoch: int) -> str:
    """The LR phase an epoch runs in, from the state in force while it ran."""
    if settings.mode != "adaptive":
        return "warmup" if epoch < settings.warmup_epochs else "decay"
    start = state.schedule.cooldown_start
    if start is not None and epoch * steps_per_epoch >= start:
        return "cooldown"
    if epoch < settings.warmup_epochs and not state.schedule.warmup_abandoned:
        return "warmup"
    return "constant"


def _plural(n: int, word: str = "epoch") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def decide(
    state: MonitorState,
    *,
    epoch: int,
    value: float,
    settings: ModeSettings,
    steps_per_epoch: int,
    monitor: str = "val_loss",
) -> tuple[MonitorState, Decision]:
    """Update the monitor with epoch ``epoch``'s validation loss and decide what comes next."""
    phase = epoch_phase(epoch, state, settings, steps_per_epoch)
    improved = value < state.best - settings.min_delta
    if improved:
        what = (
            f"validation loss {value:.4f} is the first value"
            if state.best_epoch < 0
            else f"validation loss {value:.4f} improved on {state.best:.4f}"
        )
        new = replace(state, best=value, best_epoch=epoch, wait=0)
    else:
        new = replace(state, wait=state.wait + 1)
        what = (
            f"no improvement for {_plural(new.wait)} "
            f"(best {new.best:.4f} at epoch {new.best_epoch})"
        )

    def make(action: str, reason: str, left: int | None, early: bool = False):
        return new, Decision(
            epoch=epoch, monitor=monitor, value=value, best=new.best, improved=improved,
            wait=new.wait, phase=phase, action=action, reason=f"{what}: {reason}",
            epochs_left=left, early_stop=early,
        )

    epochs_run = epoch + 1
    if settings.mode != "adaptive":
        left = settings.max_epochs - epochs_run
        if left <= 0:
            return make("stop", f"stop, all {settings.max_epochs} epochs of the fixed schedule done", 0)
        return make("continue", f"{_plural(left)} of {settings.max_epochs} left", left)
    return _decide_adaptive(new, make, epoch, settings, steps_per_epoch, improved)


def _decide_adaptive(new, make, epoch, settings, steps_per_epoch, improved):
    """The adaptive mode's rules 2–5, in the order they take precedence."""
    C, p = settings.cooldown_epochs, settings.patience
    in_cooldown = new.trigger_epoch is not None
    if new.wait >= p + C + 1:
        return make("stop", f"stop, {_plural(p + C + 1)} without improvement (patience {p} "
                            f"+ cooldown {C} + 1)", 0, early=True)
    if in_cooldown and not settings.restarts and epoch - new.trigger_epoch >= C:
        return make("stop", f"stop, the {_plural(C)} cooldown is over (restarts off)", 0, early=True)
    if epoch + 1 >= settings.max_epochs:
        return make("stop", f"stop, reached max_epochs = {settings.max_epochs}", 0)
    if improved and in_cooldown and settings.restarts:
        state = replace(new, trigger_epoch=None, schedule=replace(new.schedule, cooldown_start=None))
        return make_with(make, state, "restart", "restart, the LR returns to constant from the next step", None)
    if new.wait == p + 1 and not in_cooldown:
        start = (epoch + 1) * steps_per_epoch
        abandoned = new.schedule.warmup_abandoned or start < settings.warmup_epochs * steps_per_epoch
        state = replace(new, trigger_epoch=epoch,
                        schedule=AdaptiveSchedule(cooldown_start=start, warmup_abandoned=abandoned))
        return make_with(make, state, "cooldown", f"cooldown starts, {_plural(C)} left", C)
    if in_cooldown:
        left = new.trigger_epoch + C - epoch
        return make("continue", f"cooldown continues, {_plural(left)} left", left)
    if epoch + 1 < settings.warmup_epochs and not new.schedule.warmup_abandoned:
        return make("continue", "warm-up continues", None)
    if p > 0 and new.wait > 0:
        return make("continue", f"LR stays constant, cooldown after {_plural(p + 1 - new.wait)} more "
                                "without improvement", None)
    return make("continue", "LR stays constant", None)


def make_with(make, state: MonitorState, action: str, reason: str, left: int | None):
    """Like ``make`` but returning a changed state (cooldown armed / restart)."""
    _, decision = make(action, reason, left)
    return state, decision
