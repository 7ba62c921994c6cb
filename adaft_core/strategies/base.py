"""The update-strategy interface: the engine's hook points and stage bookkeeping.

A strategy decides which gradient entries reach the optimizer (``specs/dps.md``). The engine
calls, in this order:

- ``setup(model, steps_per_epoch=, total_steps=, emit=, accelerator=, train_loader=, seed=)`` —
  once, after ``accelerator.prepare`` and before the run folder exists (input errors raised here
  leave nothing written); ``total_steps`` is None in the adaptive mode;
- ``on_train_start(run_dir=)`` — once, right after ``run_started`` (``run_dir`` is None on ranks
  other than 0): ChildTuning-D's Fisher pass and first ``mask`` event happen here;
- per optimizer step ``step`` (1-based, as in the ``step`` event):
  1. ``before_step(step)`` — before the first forward of the step (stage changes, selections,
     forward mixing);
  2. ``after_backward(step)`` — AFTER BACKWARD, BEFORE CLIPPING: raw gradients of the whole
     (accumulated) step are in ``p.grad`` (DPS statistics and Stage II masks go here);
  3. ``after_clip(step)`` — AFTER CLIPPING, BEFORE THE OPTIMIZER STEP (ChildTuning masks);
- ``eval_start()`` / ``eval_end()`` around every evaluation pass (DPS-Mix evaluates raw weights);
- ``on_validation(epoch=, step=)`` after every validation's ``decision`` event: a dict of fields
  that the engine emits as a ``telemetry`` event (see ``telemetry.py``), or None for nothing.

A strategy emits ``mask`` (and ``stage_end`` ``telemetry``) events through ``emit``. Options are
constructor keyword arguments; :func:`option_names` lists them (``make_strategy`` turns an
unknown one into a ConfigError that lists the valid ones). State that must survive is in
``state_dict()``, keyed by parameter name.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..errors import ConfigError


def check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)


def check_positive_int(name: str, value: Any, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


class UpdateStrategy:
    """Base class and the ``vanilla`` strategy: every gradient entry is used as is.

    Option ``telemetry`` (default False for vanilla, True for the sparse strategies): emit a
    ``telemetry`` event with the drift ‖W − W⁰‖/‖W⁰‖ per layer at every validation (keeps a host
    copy of the covered weight matrices) and the Stage II leakage. Turn it on for the vanilla run
    you compare against.
    """

    name = "vanilla"

    def __init__(self, *, telemetry: bool = False):
        if not isinstance(telemetry, bool):
            raise ConfigError(f"telemetry must be true or false, got {telemetry!r}")
        self.telemetry = telemetry
        self.model = None
        self.accelerator = None
        self.run_dir = None
        self.is_main = True
        self.emit: Callable[..., Any] = lambda *a, **k: None
        self._drift = None

    @classmethod
    def option_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.kind == p.KEYWORD_ONLY)

    def setup(self, model, *, steps_per_epoch: int, total_steps: int | None, emit=None, accelerator=None,
              train_loader=None, seed: int = 0) -> None:
        """Called once, after the model is prepared; ``total_steps`` is None in adaptive mode."""
        self.model = model
        self.accelerator = accelerator
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.train_loader, self.seed = train_loader, seed
        self.is_main = accelerator is None or accelerator.is_main_process
        if emit is not None:
            self.emit = emit
        if self.telemetry and self.is_main:  # only rank 0 reports; the others keep no W⁰ copy
            from .scope import dps_scope
            from .telemetry import DriftTracker

            self._drift = DriftTracker(dps_scope(model))

    def on_train_start(self, run_dir=None) -> None:
        self.run_dir = run_dir

    def stage(self, step: int) -> str | None:
        """The DPS stage ("I"/"II") of optimizer step ``step``; None for non-staged strategies."""
        return None

    def before_step(self, step: int) -> None:
        pass

    def after_backward(self, step: int) -> None:
        pass

    def after_clip(self, step: int) -> None:
        pass

    def eval_start(self) -> None:
        pass

    def eval_end(self) -> None:
        pass

    def leakage(self, step: int) -> dict | None:
        """Update of unselected entries relative to selected ones (sparse strategies)."""
        return None

    def on_validation(self, *, epoch: int, step: int) -> dict | None:
        """Fields of the ``telemetry`` event the engine emits after a validation, or None."""
        if self._drift is None:
            return None
        return {"trigger": "validation", "epoch": epoch, "step": step,
                "stage": self.stage(step) if step >= 1 else None, "strategy": self.name,
                **self._drift.drift(), "leakage": self.leakage(step)}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
