"""Training modes of ``specs/adaptive.md``: ``original``, ``stable``, ``adaptive``.

``lr_at`` gives the learning rate of any optimizer step from the monitor state; ``decide`` is
the per-epoch decision. Both are pure: the engine owns the state and acts on the decision.
"""

from __future__ import annotations

from .decide import DEFAULT_EPOCHS, MODES, Decision, ModeSettings, MonitorState, decide, epoch_phase
from .schedules import AdaptiveSchedule, adaptive_lr, linear_warmup_decay_lr

__all__ = [
    "DEFAULT_EPOCHS", "MODES", "AdaptiveSchedule", "Decision", "ModeSettings", "MonitorState",
    "adaptive_lr", "decide", "epoch_phase", "linear_warmup_decay_lr", "lr_at",
]


def lr_at(step: int, state: MonitorState, settings: ModeSettings, steps_per_epoch: int, lr_max: float) -> float:
    """The LR optimizer step ``step`` (0-based) uses under ``settings.mode``."""
    warmup_steps = settings.warmup_epochs * steps_per_epoch
    if settings.mode == "adaptive":
        return adaptive_lr(step, state.schedule, lr_max=lr_max, warmup_steps=warmup_steps,
                           cooldown_steps=settings.cooldown_epochs * steps_per_epoch)
    return linear_warmup_decay_lr(step, lr_max=lr_max, warmup_steps=warmup_steps,
                                  total_steps=settings.max_epochs * steps_per_epoch)
