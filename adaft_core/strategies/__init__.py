"""Update strategies by name (a plain registry: name → class; see ``base.py`` for the hooks).

- ``vanilla`` — every gradient entry is used (option: ``telemetry``);
- ``dps-dense`` — DPS with Σ g² statistics (``dps.py``);
- ``dps-mix`` — DPS with Mixout toward W⁰ in Stage I (``dps.py`` with ``mix.py``'s mixing piece);
- ``childtuning-d`` — a fixed Fisher mask over the transformer blocks (``childtuning.py``);
- ``childtuning-f`` — a fresh Bernoulli mask every step, rescaled by 1/keep (``childtuning.py``).

Shared pieces: ``scope.py`` (which parameters, layer and kind), ``stages.py`` (DPS stages),
``gradient_stats.py`` (DPS statistics), ``masks.py`` (selector, masker, thresholds, bit-packed
files, overlap, per-head/neuron summary), ``telemetry.py`` (``mask`` and ``telemetry`` events,
drift, leakage).

Each factory receives only its own options (``TrainConfig.strategy_options``), declared once with
their defaults in ``adaft_core/settings/strategy_options.py``; an unknown option or a bad value is a
:class:`~adaft_core.errors.ConfigError` that names it.
"""

from __future__ import annotations

from adaft_core.errors import ConfigError, choices_message
from adaft_core.strategies.base import UpdateStrategy
from adaft_core.strategies.childtuning import ChildTuningD, ChildTuningF
from adaft_core.strategies.dps import DPSDense, DPSMix

STRATEGIES: dict[str, type[UpdateStrategy]] = {
    "vanilla": UpdateStrategy,
    "dps-dense": DPSDense,
    "dps-mix": DPSMix,
    "childtuning-d": ChildTuningD,
    "childtuning-f": ChildTuningF,
}


def _strategy_class(name: str) -> type[UpdateStrategy]:
    if name not in STRATEGIES:
        raise ConfigError(choices_message("strategy", name, STRATEGIES))
    return STRATEGIES[name]


def strategy_options(name: str) -> list[str]:
    """The option names strategy ``name`` accepts."""
    return _strategy_class(name).option_names()


def make_strategy(name: str, options: dict | None = None) -> UpdateStrategy:
    """Build a strategy from its name and only its own options (checked by the strategy)."""
    return _strategy_class(name)(**(options or {}))


__all__ = ["STRATEGIES", "UpdateStrategy", "DPSDense", "DPSMix", "ChildTuningD", "ChildTuningF",
           "make_strategy", "strategy_options"]
