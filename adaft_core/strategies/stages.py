"""The DPS stage schedule as pure functions of the optimizer step (``docs/dps.md`` §6).

Optimizer steps count from 1. With stage length ``S``, stage ``k = ceil(t / S)``; odd ``k`` is
Stage I (full update, statistics), even ``k`` is Stage II (masked update). For S = 4:
``I I I I II II II II I I I I …``; for S = 1: ``I II I II …``.

``S = int(update_ratio · total_steps)`` when the total is known (fixed-epoch modes), else (the
adaptive mode) ``S = int(3 · update_ratio · steps_per_epoch)`` — with the default 0.05 that is the
spec's ``int(0.15 · steps_per_epoch)`` — or an explicit ``stage_steps``. Deviation, documented:
``S`` is at least 1 also when the total is known (``int(0.05 · 8)`` would be 0 on a tiny run).
"""

from __future__ import annotations

from adaft_core.errors import ConfigError

ADAPTIVE_EPOCHS_EQUIVALENT = 3  # the DPS recipe's 3 epochs: 0.05 x 3 = 0.15 of an epoch
_EPS = 1e-9  # int(0.05 * 60) must be 3 although 0.05 * 60 = 3.0000000000000004 or 2.9999…


def stage_length(*, update_ratio: float, total_steps: int | None, steps_per_epoch: int,
                 stage_steps: int | None = None) -> int:
    """The stage length S in optimizer steps."""
    if stage_steps is not None:
        if int(stage_steps) < 1:
            raise ConfigError(f"stage_steps must be a positive integer, got {stage_steps!r}")
        return int(stage_steps)
    if total_steps is not None:
        return max(1, int(update_ratio * total_steps + _EPS))
    return max(1, int(ADAPTIVE_EPOCHS_EQUIVALENT * update_ratio * steps_per_epoch + _EPS))


def stage_index(step: int, S: int) -> int:
    """k = ceil(step / S), for step >= 1."""
    if step < 1:
        raise ValueError(f"optimizer steps count from 1, got {step}")
    return (step + S - 1) // S


def stage_of(step: int, S: int) -> str:
    """"I" for odd stages, "II" for even ones."""
    return "I" if stage_index(step, S) % 2 == 1 else "II"


def is_stage_start(step: int, S: int) -> bool:
    """Whether ``step`` is the first step of its stage."""
    return (step - 1) % S == 0


def stage_start(step: int, S: int) -> int:
    """The first optimizer step of the stage ``step`` is in."""
    return (stage_index(step, S) - 1) * S + 1


def schedule(n_steps: int, S: int) -> list[str]:
    """The stages of steps 1..n_steps (for tests and the dashboard's stage timeline)."""
    return [stage_of(t, S) for t in range(1, n_steps + 1)]
