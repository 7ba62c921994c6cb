"""The teaching demo's pure part: a validation-loss curve a learner edits, and what each training
mode makes of it — the learning rate of every optimizer step and the decision after every epoch.

Nothing here re-implements a mode: :func:`simulate` drives the engine's own pure functions
(``adaft_core.modes``: ``lr_at`` for every step, ``decide`` after every epoch, both through the
mode registry) with a scripted curve instead of a model, exactly as ``adaft_core/run/engine.py`` calls them
between its optimizer steps and validations. The curve's presets (:data:`PRESETS`) show the
typical cases; :func:`parse_curve` reads a curve typed as comma-separated numbers. Torch-free.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

from adaft_core.events.display import epoch_label
from adaft_core.errors import ConfigError
from adaft_core.modes import (DEFAULT_EPOCHS, MODE_DEFAULTS, PEAK_LR, Decision, ModeSettings, MonitorState, decide,
                               get_mode, lr_at)

COMPARED = ("original", "stable", "adaptive")
CURVE_EPOCHS = 24  # a preset's length: stable's 20 epochs fit, and adaptive's stop after an overfit


def _improving(e: int) -> float:
    return 0.25 + 0.75 * 0.85 ** e


def _plateau(e: int) -> float:
    return 0.3 + 0.7 * 0.6 ** min(e, 6)  # improves for 7 epochs, then exactly flat (no improvement)


_RNG = random.Random(1)  # a fixed sequence: the same "noisy" curve in every session
_NOISE = [_RNG.uniform(-1.0, 1.0) for _ in range(256)]


def _noisy(e: int) -> float:
    return 0.3 + 0.7 * 0.8 ** e + 0.05 * _NOISE[e % len(_NOISE)]


def _overfits(e: int) -> float:
    return 0.3 + 0.5 * 0.6 ** e + 0.02 * e  # lowest at epoch 5, rising after it


PRESETS: dict[str, Callable[[int], float]] = {
    "keeps improving": _improving, "plateau": _plateau, "noisy": _noisy, "overfits": _overfits,
}


def preset_curve(name: str, epochs: int = CURVE_EPOCHS) -> list[float]:
    """The validation loss after each of ``epochs`` epochs under preset ``name`` (3 decimals)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown curve preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return [round(PRESETS[name](e), 3) for e in range(epochs)]


def curve_text(values: Sequence[float]) -> str:
    """A curve as the comma-separated text :func:`parse_curve` reads back."""
    return ", ".join(f"{v:g}" for v in values)


def parse_curve(text: str, max_epochs: int = max(DEFAULT_EPOCHS.values())) -> list[float]:
    """Comma- (or space-) separated validation losses → floats, at most ``max_epochs`` (by default the
    longest mode's default); a ConfigError says what is wrong."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ConfigError("type the validation loss after each epoch, e.g. 1.0, 0.8, 0.7, 0.75")
    if len(parts) > max_epochs:
        raise ConfigError(f"{len(parts)} values: at most {max_epochs} epochs")
    values = []
    for i, p in enumerate(parts):
        try:
            v = float(p)
        except ValueError:
            raise ConfigError(f"epoch {epoch_label(i)}: {p!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise ConfigError(f"epoch {epoch_label(i)}: {p!r} is not a loss (a finite number >= 0)")
        values.append(v)
    return values


@dataclass(frozen=True)
class Knobs:
    """The settings a learner moves (``TrainConfig``'s names), starting at the modes' defaults."""

    lr: float = PEAK_LR
    warmup_epochs: int = MODE_DEFAULTS.warmup_epochs
    cooldown_epochs: int = MODE_DEFAULTS.cooldown_epochs
    patience: int = MODE_DEFAULTS.patience
    restarts: bool = MODE_DEFAULTS.restarts
    steps_per_epoch: int = 10
    min_delta: float = MODE_DEFAULTS.min_delta

    def settings(self, mode: str) -> ModeSettings:
        """The mode's slice of these knobs, as the engine builds it (max epochs: the mode's default)."""
        get_mode(mode)  # an unknown name is a ConfigError listing the modes
        return ModeSettings(mode=mode, max_epochs=DEFAULT_EPOCHS[mode], warmup_epochs=self.warmup_epochs,
                            cooldown_epochs=self.cooldown_epochs, patience=self.patience,
                            restarts=self.restarts, min_delta=self.min_delta)


@dataclass(frozen=True)
class Simulation:
    """One mode run over a scripted curve: the LR of every step taken and the decisions."""

    mode: str
    steps_per_epoch: int
    lrs: list[float] = field(default_factory=list)  # lrs[i]: the LR of 0-based optimizer step i
    decisions: list[Decision] = field(default_factory=list)  # one per epoch trained

    @property
    def epochs(self) -> int:
        return len(self.decisions)

    @property
    def stopped(self) -> bool:
        """The mode itself ended training (False: the curve ran out first)."""
        return bool(self.decisions) and self.decisions[-1].action == "stop"

    def actions(self, kind: str) -> list[int]:
        """The epochs after which the decision was ``kind`` (continue / cooldown / restart / stop)."""
        return [d.epoch for d in self.decisions if d.action == kind]


def simulate(losses: Sequence[float], mode: str, knobs: Knobs = Knobs()) -> Simulation:
    """Train ``mode`` on a scripted curve: per epoch, the LR of each of its steps from ``lr_at``
    (under the monitor state in force), then ``decide`` on that epoch's validation loss; ends at
    the first ``stop`` or when the curve ends."""
    settings, S = knobs.settings(mode), knobs.steps_per_epoch
    state, sim = MonitorState(), Simulation(mode, S)
    for epoch, value in enumerate(losses):
        sim.lrs.extend(lr_at(epoch * S + i, state, settings, S, knobs.lr) for i in range(S))
        state, decision = decide(state, epoch=epoch, value=float(value), settings=settings, steps_per_epoch=S,
                                 lr_max=knobs.lr)
        sim.decisions.append(decision)
        if decision.action == "stop":
            break
    return sim


def compare(losses: Sequence[float], knobs: Knobs = Knobs(), modes: Sequence[str] = COMPARED) -> dict[str, Simulation]:
    """:func:`simulate` for each mode on the same curve and knobs."""
    return {mode: simulate(losses, mode, knobs) for mode in modes}
