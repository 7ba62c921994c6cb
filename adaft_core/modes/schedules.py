"""Learning-rate schedules as pure functions of the optimizer step (``docs/adaptive.md`` §5–6).

``step`` is the 0-based index of the optimizer step (the very first step is ``step=0``); the
function returns the learning rate that step uses. The run log's ``step`` events are 1-based, so
event ``step = t`` used ``lr(t - 1)``. Keeping these pure means a test can print the LR of every
step and compare it with the spec's worked examples, and the engine only asks "what now?".
"""

from __future__ import annotations

from dataclasses import dataclass


def linear_warmup_decay_lr(step: int, *, lr_max: float, warmup_steps: int, total_steps: int) -> float:
    """``original``/``stable``: linear warm-up from 0 over W steps, then linear decay to 0 at N.

    lr(s) = lr_max·s/W for s < W, else lr_max·max(0, (N − s)/(N − W)).
    """
    if step < warmup_steps:
        return lr_max * step / warmup_steps
    if total_steps <= warmup_steps:
        return 0.0
    return lr_max * max(0.0, (total_steps - step) / (total_steps - warmup_steps))


@dataclass(frozen=True)
class AdaptiveSchedule:
    """What the adaptive LR depends on besides the step: where the current cooldown started.

    ``cooldown_start``: the first step of the running cooldown (None: no cooldown running).
    ``warmup_abandoned``: a cooldown fired before the warm-up ended, so after a restart the LR
    goes straight back to constant ``lr_max`` (the spec: "the warm-up is abandoned").
    """

    cooldown_start: int | None = None
    warmup_abandoned: bool = False


def adaptive_lr(
    step: int,
    schedule: AdaptiveSchedule,
    *,
    lr_max: float,
    warmup_steps: int,
    cooldown_steps: int,
) -> float:
    """``adaptive``: warm-up, constant ``lr_max``, and a linear cooldown once triggered.

    Cooldown step k (k = 0 .. C·S − 1) uses lr_max·(C·S − k)/(C·S): the first uses lr_max, the
    last lr_max/(C·S); past its end the LR is 0 (training stops there anyway).
    """
    start = schedule.cooldown_start
    if start is not None and step >= start:
        if cooldown_steps <= 0:
            return 0.0
        k = step - start
        return lr_max * max(0, cooldown_steps - k) / cooldown_steps
    if step < warmup_steps and not schedule.warmup_abandoned:
        return lr_max * step / warmup_steps
    return lr_max


def constant_lr(step: int, *, lr_max: float) -> float:  # noqa: ARG001 - same signature shape as the others
    """A constant LR; handy as a baseline and in tests."""
    return lr_max
