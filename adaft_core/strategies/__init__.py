"""Update strategies by name (a registry: declared name → class; see ``base.py`` for the hooks).

- ``vanilla`` — every gradient entry is used (option: ``telemetry``);
- ``dps-dense`` — DPS with Σ g² statistics (``dps.py``);
- ``dps-mix`` — DPS with Mixout toward W⁰ in Stage I (``dps.py`` with ``mix.py``'s mixing piece);
- ``childtuning-d`` — a fixed Fisher mask over the transformer blocks (``childtuning.py``);
- ``childtuning-f`` — a fresh Bernoulli mask every step, rescaled by 1/keep (``childtuning.py``).

Shared pieces: ``scope.py`` (which parameters, layer and kind), ``stages.py`` (DPS stages),
``gradient_stats.py`` (DPS statistics), ``masks.py`` (selector, masker, thresholds, bit-packed
files, overlap, per-head/neuron summary), ``telemetry.py`` (``mask`` and ``telemetry`` events,
drift, leakage).

Each strategy's name and options (with their defaults and checks) are declared once, torch-free, in
``adaft_core/settings/strategy_options.py``; here each declared name is mapped to the class whose
``name`` it is, and importing fails if a declared strategy has no class or a class no declaration.
Each factory receives only its own options (``TrainConfig.strategy_options``); an unknown option or
a bad value is a :class:`~adaft_core.errors.ConfigError` that names it.

May import: errors, settings (the strategies' declaration), torch. Never store/, run/ or above.
"""

from __future__ import annotations

from adaft_core.errors import ConfigError, choices_message
from adaft_core.settings.strategy_options import STRATEGY_NAMES
from adaft_core.strategies.base import UpdateStrategy
from adaft_core.strategies.childtuning import ChildTuningD, ChildTuningF
from adaft_core.strategies.dps import DPSDense, DPSMix

_BY_NAME = {cls.name: cls for cls in (UpdateStrategy, DPSDense, DPSMix, ChildTuningD, ChildTuningF)}
if set(_BY_NAME) != set(STRATEGY_NAMES):  # the classes implement exactly the declared strategies
    raise ImportError(f"strategy classes {sorted(_BY_NAME)} do not match the strategies declared in "
                      f"adaft_core/settings/strategy_options.py: {sorted(STRATEGY_NAMES)}")
# name -> class, in the declaration's order
STRATEGIES: dict[str, type[UpdateStrategy]] = {name: _BY_NAME[name] for name in STRATEGY_NAMES}


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


__all__ = ["STRATEGIES", "STRATEGY_NAMES", "UpdateStrategy", "DPSDense", "DPSMix", "ChildTuningD", "ChildTuningF",
           "make_strategy", "strategy_options"]
