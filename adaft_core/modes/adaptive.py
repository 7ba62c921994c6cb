"""``adaptive`` (Stollenwerk 2022, ``docs/adaptive.md`` §6): warm up, hold the LR while validation
loss improves, cool down, stop — the number of epochs adapts to the data.

Strict improvement of validation loss (``v < best − min_delta``; epoch 0 always improves). At
``wait == patience + 1`` a cooldown of C epochs starts from the next step; an improving epoch inside
a cooldown restarts constant LR (if ``restarts``); training stops after ``patience + C + 1``
consecutive non-improving epochs, at the end of the cooldown when restarts are off, or at
``max_epochs``.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from adaft_core.modes.base import MODE_DEFAULTS, Mode, plural
from adaft_core.modes.schedules import AdaptiveSchedule, adaptive_lr


def lr(step, schedule, settings, steps_per_epoch, lr_max):
    return adaptive_lr(step, schedule, lr_max=lr_max, warmup_steps=settings.warmup_epochs * steps_per_epoch,
                       cooldown_steps=settings.cooldown_epochs * steps_per_epoch)


def rule(new, make, epoch, settings, steps_per_epoch, improved):
    """Rules 2–5 of the spec, in the order they take precedence."""
    C, p = settings.cooldown_epochs, settings.patience
    in_cooldown = new.trigger_epoch is not None
    if new.wait >= p + C + 1:
        return make("stop", f"stop, {plural(p + C + 1)} without improvement (patience {p} "
                            f"+ cooldown {C} + 1)", 0, early=True)
    if in_cooldown and not settings.restarts and epoch - new.trigger_epoch >= C:
        return make("stop", f"stop, the {plural(C)} cooldown is over (restarts off)", 0, early=True)
    if epoch + 1 >= settings.max_epochs:
        return make("stop", f"stop, reached max_epochs = {settings.max_epochs}", 0)
    if improved and in_cooldown and settings.restarts:
        state = replace(new, trigger_epoch=None, schedule=replace(new.schedule, cooldown_start=None))
        return make("restart", "restart, the LR returns to constant from the next step", None, state=state)
    if new.wait == p + 1 and not in_cooldown:
        start = (epoch + 1) * steps_per_epoch
        abandoned = new.schedule.warmup_abandoned or start < settings.warmup_epochs * steps_per_epoch
        state = replace(new, trigger_epoch=epoch,
                        schedule=AdaptiveSchedule(cooldown_start=start, warmup_abandoned=abandoned))
        return make("cooldown", f"cooldown starts, {plural(C)} left", C, state=state)
    if in_cooldown:
        left = new.trigger_epoch + C - epoch
        return make("continue", f"cooldown continues, {plural(left)} left", left)
    patience_left = (f", {'cooldown' if C > 0 else 'stop'} after {plural(p + 1 - new.wait)} more without "
                     "improvement" if p > 0 and new.wait > 0 else "")
    in_warmup = not new.schedule.warmup_abandoned
    if in_warmup and epoch + 1 < settings.warmup_epochs:
        return make("continue", f"warm-up continues{patience_left}", None)
    if in_warmup and epoch + 1 == settings.warmup_epochs:
        return make("continue", f"warm-up ends, the LR is constant from the next step{patience_left}", None)
    return make("continue", f"LR stays constant{patience_left}", None)


def plan(start, schedule, settings, steps_per_epoch, lr_of):  # noqa: ARG001
    S = steps_per_epoch
    cap, warm, C = settings.max_epochs * S, settings.warmup_epochs * S, settings.cooldown_epochs * S
    cooldown_start = schedule.cooldown_start
    if cooldown_start is not None and start >= cooldown_start:
        return "cooldown", start, min(cooldown_start + C, cap), "stop"
    if start < warm and not schedule.warmup_abandoned:
        return "warmup", start, min(warm, cap), "constant" if warm < cap else "stop"
    return "constant", start, None, "cooldown" if settings.cooldown_epochs > 0 else "stop"


def wait_plan(settings):
    """Cooldown at wait = p + 1 (none when C = 0), stop at wait = p + C + 1."""
    p, c = settings.patience, settings.cooldown_epochs
    return {"cooldown_at": p + 1 if c > 0 else None, "stop_at": p + c + 1}


def load_state(saved: dict) -> AdaptiveSchedule:
    return AdaptiveSchedule(**saved)


# its own state: the AdaptiveSchedule (where the running cooldown started), saved as a JSON dict
ADAPTIVE = Mode("adaptive", default_epochs=MODE_DEFAULTS.max_epochs, fixed_length=False, lr=lr, rule=rule,
                plan=plan, wait_plan=wait_plan, new_state=AdaptiveSchedule, save_state=asdict, load_state=load_state)
