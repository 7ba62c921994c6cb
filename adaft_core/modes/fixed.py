"""``original`` (5 epochs, the BERT recipe) and ``stable`` (20 epochs, Mosbach et al. 2021).

A fixed number of epochs with a linear warm-up over ``warmup_epochs`` and a linear decay to 0 at
the end; the monitor is tracked (for the best epoch and ``final_model="best"``) but never stops
training early. They keep no state of their own (``MonitorState.schedule`` stays None).
"""

from __future__ import annotations

from adaft_core.modes.base import Mode, plural
from adaft_core.modes.schedules import linear_warmup_decay_lr


def lr(step, schedule, settings, steps_per_epoch, lr_max):  # noqa: ARG001 - one signature for all modes
    return linear_warmup_decay_lr(step, lr_max=lr_max, warmup_steps=settings.warmup_epochs * steps_per_epoch,
                                  total_steps=settings.max_epochs * steps_per_epoch)


def rule(new, make, epoch, settings, steps_per_epoch, improved):  # noqa: ARG001
    left = settings.max_epochs - (epoch + 1)
    if left <= 0:
        return make("stop", f"stop, all {settings.max_epochs} epochs of the fixed schedule done", 0)
    return make("continue", f"{plural(left)} of {settings.max_epochs} left", left)


def plan(start, schedule, settings, steps_per_epoch, lr_of):  # noqa: ARG001
    warm, cap = settings.warmup_epochs * steps_per_epoch, settings.max_epochs * steps_per_epoch
    if start < warm:
        return "warmup", start, min(warm, cap), "decay" if warm < cap else "stop"
    return "decay", start, cap, "stop"


ORIGINAL = Mode("original", default_epochs=5, fixed_length=True, lr=lr, rule=rule, plan=plan)
STABLE = Mode("stable", default_epochs=20, fixed_length=True, lr=lr, rule=rule, plan=plan)
