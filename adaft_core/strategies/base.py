"""The update-strategy interface: the engine's hook points, options and saved state.

A strategy decides which gradient entries reach the optimizer (``docs/dps.md`` §3). The engine
calls, in this order:

- ``setup(model, steps_per_epoch=, total_steps=, emit=, accelerator=, train_loader=, seed=)`` —
  once, after ``accelerator.prepare`` and before the run folder exists (input errors raised here
  leave nothing written); ``total_steps`` is None in the adaptive mode;
- ``load_state_dict(state)`` — only when resuming, after ``setup`` and before ``on_train_start``;
- ``on_train_start(run_dir=)`` — once, right after ``run_started`` (``run_dir`` is None on ranks
  other than 0): ChildTuning-D's Fisher pass and first ``mask`` event happen here (not after a
  ``load_state_dict``: the loaded mask is used, nothing is recomputed or re-reported);
- per optimizer step ``step`` (1-based, as in the ``step`` event):
  1. ``before_step(step)`` — before the first forward of the step (stage changes, selections,
     forward mixing);
  2. ``after_backward(step)`` — AFTER BACKWARD, BEFORE CLIPPING: raw gradients of the whole
     (accumulated) step are in ``p.grad`` (DPS statistics and Stage II masks go here);
  3. ``after_clip(step)`` — AFTER CLIPPING, BEFORE THE OPTIMIZER STEP (ChildTuning masks);
- ``eval_start()`` / ``eval_end()`` around every evaluation pass (DPS-Mix evaluates raw weights);
- ``on_validation(epoch=, step=)`` after every validation's ``decision`` event (on every rank): a
  dict of fields that the engine emits as a ``telemetry`` event (see ``telemetry.py``), or None.

A strategy emits ``mask`` (and ``stage_end`` ``telemetry``) events through ``emit``. Options are
constructor keyword arguments, declared once (names, defaults, checks) in
``adaft_core/settings/strategy_options.py``; an unknown option or a bad value is a ConfigError.

Under data parallelism every rank must take the same decisions and draw the same random numbers:
what only rank 0 does (reporting, telemetry, writing mask files) never changes what is computed.

``state_dict()`` returns everything needed to continue exactly as nested dicts/lists of tensors
and JSON scalars (random generator states as uint8 tensors), keyed by parameter name; the engine
writes it without pickle (``adaft_core/run/state.py``). Telemetry-only parts (the drift
reference W⁰) are kept and saved by rank 0 only; other ranks ignore them when loading.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from adaft_core.settings.strategy_options import check_strategy_options, option_names


def loss_scale(accelerator) -> float:
    """The mixed-precision loss scale in the raw gradients (1.0 without fp16)."""
    scaler = getattr(accelerator, "scaler", None)
    return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else 1.0


def params_device(infos) -> torch.device:
    """The device of the covered parameters (the CPU when there are none)."""
    return infos[0].param.device if infos else torch.device("cpu")


def seeded_generator(device, seed: int, salt: int) -> torch.Generator:
    """A generator on ``device`` seeded from the run seed alone: the same draws on every rank."""
    return torch.Generator(device=device).manual_seed(int(seed) * 1_000_003 + salt)


def load_tensors(targets: dict[str, torch.Tensor], saved: dict[str, torch.Tensor], what: str) -> None:
    """Copy saved tensors into existing buffers of the same names (device and dtype kept)."""
    if set(saved) != set(targets):
        missing, extra = sorted(set(targets) - set(saved)), sorted(set(saved) - set(targets))
        raise ValueError(f"saved {what} do not match this model: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, value in saved.items():
        targets[name].copy_(value)


class UpdateStrategy:
    """Base class and the ``vanilla`` strategy: every gradient entry is used as is.

    Option ``telemetry`` (default False for vanilla, True for the sparse strategies): emit a
    ``telemetry`` event with the drift ‖W − W⁰‖/‖W⁰‖ per layer at every validation (rank 0 keeps a
    host copy of the covered weight matrices) and the Stage II leakage. Turn it on for the vanilla
    run you compare against.
    """

    name = "vanilla"

    def __init__(self, **options: Any):
        self.options = check_strategy_options(self.name, options)  # defaults filled, values checked
        self.telemetry: bool = self.options["telemetry"]
        self.model = None
        self.accelerator = None
        self.run_dir = None
        self.is_main = True
        self.emit: Callable[..., Any] = lambda *a, **k: None
        self._drift = None

    @classmethod
    def option_names(cls) -> list[str]:
        return option_names(cls.name)

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
            from adaft_core.strategies.scope import dps_scope
            from adaft_core.strategies.telemetry import DriftTracker

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

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """The strategy's name and, on rank 0 with telemetry, the drift reference W⁰."""
        state: dict[str, Any] = {"strategy": self.name}
        if self._drift is not None:
            state["drift_reference"] = dict(self._drift.initial)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("strategy") != self.name:
            raise ValueError(f"the saved strategy state is of {state.get('strategy')!r}, not {self.name!r}")
        if self._drift is not None and state.get("drift_reference") is not None:
            load_tensors(self._drift.initial, state["drift_reference"], "drift reference weights")
