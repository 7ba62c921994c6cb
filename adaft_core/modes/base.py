"""What every training mode provides, and the records modes share (settings, monitor state, plan).

A mode is one module that builds a :class:`Mode`: its LR as a pure function of the step, its
rule after each validation and the plan of the phase that follows. ``modes/__init__.py`` lists
them in the registry ``MODES`` (name → Mode); the engine, the decision and the views only go
through that record, so adding a mode means adding one module and one registry line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from adaft_core.modes.schedules import AdaptiveSchedule


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
class Mode:
    """A training mode.

    - ``lr(step, schedule, settings, steps_per_epoch, lr_max)``: the LR of 0-based optimizer step ``step``;
    - ``rule(new_state, make, epoch, settings, steps_per_epoch, improved)``: what follows a validation,
      via ``make(action, reason, epochs_left, early=False, state=None)`` (see ``decide.py``);
    - ``plan(start, schedule, settings, steps_per_epoch, lr_of)``: ``(kind, first step, end or None,
      then)`` of the phase that starts at 0-based step ``start`` (see ``plan.py``);
    - ``wait_plan(settings)``: ``{"cooldown_at", "stop_at"}`` in non-improving epochs, or None when the
      monitor never stops the run.
    """

    name: str
    default_epochs: int
    fixed_length: bool  # the number of epochs is known in advance (strategies size their stages by it)
    lr: Callable[..., float]
    rule: Callable[..., Any]
    plan: Callable[..., tuple]
    wait_plan: Callable[[ModeSettings], dict | None] = lambda settings: None


def plural(n: int, word: str = "epoch") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
