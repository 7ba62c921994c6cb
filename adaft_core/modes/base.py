"""What every training mode provides, and the records modes share (settings, monitor state, plan).

A mode is one module that builds a :class:`Mode`: its LR as a pure function of the step, its
rule after each validation, the plan of the phase that follows and, if it needs one, its own
state (how to make, save and restore it). ``registry.py`` lists them in ``MODES`` (name → Mode);
the engine, the checkpoints, the decision and the views only go through that record, so adding a
mode means adding one module and one registry line.

The modes' default settings (the paper's) are declared once, as :class:`ModeSettings`' defaults:
``MODE_DEFAULTS`` is that record, and ``TrainConfig``, the teaching demo's knobs and
``AdaptiveKit`` read their defaults from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

PEAK_LR = 2e-5  # the default peak learning rate (TrainConfig.lr, the teaching demo's knob)


@dataclass(frozen=True)
class ModeSettings:
    """The slice of the config a mode needs. Its defaults are the modes' defaults (the paper's),
    declared here only (``MODE_DEFAULTS``)."""

    mode: str = "adaptive"
    max_epochs: int = 250  # the default mode's; each mode's own default is its Mode.default_epochs
    warmup_epochs: int = 2
    cooldown_epochs: int = 7
    patience: int = 0
    restarts: bool = True
    min_delta: float = 0.0


MODE_DEFAULTS = ModeSettings()


@dataclass(frozen=True)
class MonitorState:
    """Everything the decision remembers between epochs.

    ``schedule`` is the mode's own state (adaptive: its ``AdaptiveSchedule``; the fixed modes have
    none). The mode makes, saves and restores it (:class:`Mode`'s ``new_state``, ``save_state``,
    ``load_state``); None until the mode first sets it, read through :meth:`Mode.state_of`.
    """

    best: float = math.inf
    best_epoch: int = -1
    wait: int = 0
    trigger_epoch: int | None = None  # epoch after which the running cooldown was armed
    schedule: Any = None


@dataclass(frozen=True)
class Mode:
    """A training mode.

    - ``lr(step, schedule, settings, steps_per_epoch, lr_max)``: the LR of 0-based optimizer step ``step``;
    - ``rule(new_state, make, epoch, settings, steps_per_epoch, improved)``: what follows a validation,
      via ``make(action, reason, epochs_left, early=False, state=None)`` (see ``decide.py``);
    - ``plan(start, schedule, settings, steps_per_epoch, lr_of)``: ``(kind, first step, end or None,
      then)`` of the phase that starts at 0-based step ``start`` (see ``plan.py``);
    - ``wait_plan(settings)``: ``{"cooldown_at", "stop_at"}`` in non-improving epochs, or None when the
      monitor never stops the run;
    - the mode's own state (``MonitorState.schedule``, the ``schedule`` the functions above get):
      ``new_state()`` makes it as it is before training, ``save_state(state)`` turns it into a
      JSON-able value for checkpoints and ``load_state(saved)`` restores it from that value. A mode
      without state keeps the defaults (None throughout).
    """

    name: str
    default_epochs: int
    fixed_length: bool  # the number of epochs is known in advance (strategies size their stages by it)
    lr: Callable[..., float]
    rule: Callable[..., Any]
    plan: Callable[..., tuple]
    wait_plan: Callable[[ModeSettings], dict | None] = lambda settings: None
    new_state: Callable[[], Any] = lambda: None
    save_state: Callable[[Any], Any] = lambda state: None
    load_state: Callable[[Any], Any] = lambda saved: None

    def state_of(self, monitor: MonitorState) -> Any:
        """The mode's own state in ``monitor``: a new one while the mode has not set it yet."""
        return self.new_state() if monitor.schedule is None else monitor.schedule


def plural(n: int, word: str = "epoch") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
