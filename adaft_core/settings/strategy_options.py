"""The update strategies' options, declared once and checked without torch.

Each strategy (``adaft_core/strategies/``) takes only its own options
(``TrainConfig.strategy_options``); this module says which, with their defaults and valid values,
so that checking a config, ``adaft train``'s strategy flags, the dashboard form and the README
table need no torch. This is the one list of strategies (:data:`STRATEGY_DEFAULTS`, name ->
options -> default): the strategies take their options, defaults and checks from here
(:func:`option_defaults`, :func:`check_strategy_options`), and ``strategies/__init__.py`` maps each
name to its class, refusing to import when a name has no class or a class no name.
"""

from __future__ import annotations

from typing import Any

from adaft_core.errors import ConfigError, choices_message
from adaft_core.settings.declare import Setting

GROUP = "update strategy options (only those of the chosen --strategy)"
SAVE_MASKS = ("latest", "every", "none")

OPTIONS: dict[str, Setting] = {s.name: s for s in (
    Setting(name="keep_fraction", kind=float, group=GROUP, low=0, high=1, low_open=True, metavar="Q",
            help="fraction of entries UPDATED (DPS: the paper's p = 1 - Q; ChildTuning: its reserve_p)"),
    Setting(name="update_ratio", kind=float, group=GROUP, low=0, high=1, low_open=True,
            help="DPS stage length as a fraction of all steps (adaptive mode: of 3 epochs)"),
    Setting(name="stage_steps", kind=int, optional=True, group=GROUP, low=1, metavar="S",
            default_text="from --update-ratio", help="DPS stage length in optimizer steps (overrides --update-ratio)"),
    Setting(name="fisher_batches", kind=int, optional=True, group=GROUP, low=1, metavar="N",
            default_text="the whole training set", help="ChildTuning-D: batches of the Fisher pass"),
    Setting(name="save_masks", kind=str, group=GROUP, choices=SAVE_MASKS,
            help="persist masks in RUN/masks: the latest selection, every selection, or none"),
    Setting(name="telemetry", kind=bool, group=GROUP, flag="--strategy-telemetry",
            help="drift/leakage 'telemetry' events at every validation"),
)}

_DPS = {"keep_fraction": 0.7, "update_ratio": 0.05, "stage_steps": None, "save_masks": "latest", "telemetry": True}
# strategy -> its options and their defaults (the strategies' constructors use these defaults)
STRATEGY_DEFAULTS: dict[str, dict[str, Any]] = {
    "vanilla": {"telemetry": False},
    "dps-dense": dict(_DPS),
    "dps-mix": dict(_DPS),
    "childtuning-d": {"keep_fraction": 0.3, "fisher_batches": None, "save_masks": "latest", "telemetry": True},
    "childtuning-f": {"keep_fraction": 0.3, "save_masks": "none", "telemetry": True},
}
STRATEGY_NAMES = tuple(STRATEGY_DEFAULTS)


def option_defaults(strategy: str) -> dict[str, Any]:
    """The options strategy ``strategy`` takes, with their defaults."""
    if strategy not in STRATEGY_DEFAULTS:
        raise ConfigError(choices_message("strategy", strategy, STRATEGY_NAMES))
    return dict(STRATEGY_DEFAULTS[strategy])


def option_names(strategy: str) -> list[str]:
    return sorted(option_defaults(strategy))


def check_strategy_options(strategy: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """All options of ``strategy``: its defaults updated with ``options``, each value checked.

    Unknown strategy, an option the strategy does not take, or a bad value: ConfigError."""
    defaults = option_defaults(strategy)
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"strategy_options must be a dict of option -> value, got {options!r}")
    unknown = sorted(set(options or {}) - set(defaults))
    if unknown:
        exc = ConfigError(f"strategy {strategy!r} has no option {', '.join(map(repr, unknown))}; "
                          f"valid options: {', '.join(sorted(defaults))}")
        exc.setting = "strategy_options"
        raise exc
    resolved = {**defaults, **(options or {})}
    return {name: OPTIONS[name].check(value) for name, value in resolved.items()}


def strategies_taking(option: str) -> list[str]:
    return [s for s, opts in STRATEGY_DEFAULTS.items() if option in opts]


def defaults_text(option: str) -> str:
    """``dps-dense, dps-mix: 0.7; childtuning-d, childtuning-f: 0.3`` (the per-strategy defaults)."""
    by_value: dict[str, list[str]] = {}
    for strategy in strategies_taking(option):
        value = OPTIONS[option].shown_default(STRATEGY_DEFAULTS[strategy][option])
        by_value.setdefault(value, []).append(strategy)
    return "; ".join(f"{', '.join(names)}: {value}" for value, names in by_value.items())
