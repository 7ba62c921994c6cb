"""Training modes of ``docs/adaptive.md``: ``original``, ``stable``, ``adaptive``.

The registry ``MODES`` (name → :class:`Mode`, ``registry.py``) lists them; each mode is one module
(``fixed.py``, ``adaptive.py``) giving its LR function, its rule after a validation, its plan and
how to make, save and restore its own state (``MonitorState.schedule``; ``base.py``). The modes'
default settings are declared once, as ``ModeSettings``' (``MODE_DEFAULTS``); the settings, the
teaching demo and the Trainer kit read them there.

``lr_at`` gives the learning rate of any optimizer step from the monitor state; ``decide`` is
the per-epoch decision, carrying its plan (``plan.py``: ``next_phase``, ``lr_plan``,
``wait_plan``; ``start_plan`` is the plan before the first step). All are pure: the engine owns
the state and acts on the decision.

May import: errors and events (epoch numbers in the reasons). Never settings/ (a mode gets its
``ModeSettings`` slice), store/, run/, cli/ or the dashboard. Torch-free.
"""

from __future__ import annotations

from adaft_core.modes.base import MODE_DEFAULTS, PEAK_LR, Mode, ModeSettings, MonitorState
from adaft_core.modes.decide import Decision, decide, epoch_phase
from adaft_core.modes.plan import lr_plan, plan_text, start_plan, wait_plan
from adaft_core.modes.registry import DEFAULT_EPOCHS, MODES, get_mode
from adaft_core.modes.schedules import AdaptiveSchedule, adaptive_lr, linear_warmup_decay_lr

__all__ = [
    "DEFAULT_EPOCHS", "MODES", "MODE_DEFAULTS", "PEAK_LR", "AdaptiveSchedule", "Decision", "Mode", "ModeSettings",
    "MonitorState", "get_mode", "adaptive_lr", "decide", "epoch_phase", "linear_warmup_decay_lr", "lr_at", "lr_plan",
    "plan_text", "start_plan", "wait_plan",
]


def lr_at(step: int, state: MonitorState, settings: ModeSettings, steps_per_epoch: int, lr_max: float) -> float:
    """The LR optimizer step ``step`` (0-based) uses under ``settings.mode``."""
    mode = get_mode(settings.mode)
    return mode.lr(step, mode.state_of(state), settings, steps_per_epoch, lr_max)
