"""Update strategies by name (a plain registry: name → class; see ``base.py`` for the hooks)."""

from __future__ import annotations

from ..errors import ConfigError, choices_message
from .base import UpdateStrategy

STRATEGIES: dict[str, type[UpdateStrategy]] = {"vanilla": UpdateStrategy}


def make_strategy(name: str, options: dict | None = None) -> UpdateStrategy:
    """Build a strategy from its name and only its own options."""
    if name not in STRATEGIES:
        raise ConfigError(choices_message("strategy", name, STRATEGIES))
    return STRATEGIES[name](**(options or {}))
