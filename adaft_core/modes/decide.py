"""The decision after every validation pass, as a pure function returning (state, decision).

The part every mode shares is here: strict improvement of the validation loss
(``v < best − min_delta``; epoch 0 always improves), the best epoch and the count of epochs
without improvement. What follows from them is the mode's ``rule`` (``fixed.py``: original /
stable never stop early; ``adaptive.py``: cooldown, restart, stop).

The engine alone acts on the returned :class:`Decision` (the Lightning ``EarlyStopping``
habit: decisions are values with reasons, never exceptions). Each decision also carries its plan
(``next_phase``, ``lr_plan``, ``wait_plan``; ``plan.py``), so views never re-derive these rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adaft_core.events.display import epoch_label
from adaft_core.modes.base import ModeSettings, MonitorState, plural
from adaft_core.modes.plan import lr_plan, next_phase, wait_plan
from adaft_core.modes.registry import get_mode

__all__ = ["Decision", "ModeSettings", "MonitorState", "decide", "epoch_phase"]


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
    next_phase: str | None = None  # the LR phase from the next optimizer step on, or "stopped"
    lr_plan: dict | None = None  # that phase: kind, from_step, steps_left, lr_next, lr_end, then
    wait_plan: dict | None = None  # {"cooldown_at", "stop_at"} in non-improving epochs; None: fixed length


def epoch_phase(epoch: int, state: MonitorState, settings: ModeSettings, steps_per_epoch: int) -> str:
    """The LR phase an epoch runs in, from the state in force while it ran: the plan from its first step."""
    return lr_plan(epoch - 1, get_mode(settings.mode).state_of(state), settings, steps_per_epoch, None)["kind"]


def decide(
    state: MonitorState,
    *,
    epoch: int,
    value: float,
    settings: ModeSettings,
    steps_per_epoch: int,
    monitor: str = "val_loss",
    lr_max: float | None = None,
) -> tuple[MonitorState, Decision]:
    """Update the monitor with epoch ``epoch``'s validation loss and decide what comes next.

    ``lr_max`` only fills the LR values of the decision's ``lr_plan`` (null without it).
    """
    mode = get_mode(settings.mode)
    state = replace(state, schedule=mode.state_of(state))  # the mode's own state, made before its first use
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
            f"no improvement for {plural(new.wait)} "
            f"(best {new.best:.4f} at epoch {epoch_label(new.best_epoch)})"
        )

    def make(action: str, reason: str, left: int | None, early: bool = False,
             state: MonitorState | None = None):
        state = new if state is None else state
        plan = lr_plan(epoch, state.schedule, settings, steps_per_epoch, lr_max, stop=action == "stop")
        return state, Decision(
            epoch=epoch, monitor=monitor, value=value, best=new.best, improved=improved,
            wait=new.wait, phase=phase, action=action, reason=f"{what}: {reason}",
            epochs_left=left, early_stop=early,
            next_phase=next_phase(plan), lr_plan=plan, wait_plan=wait_plan(settings),
        )

    return mode.rule(new, make, epoch, settings, steps_per_epoch, improved)
