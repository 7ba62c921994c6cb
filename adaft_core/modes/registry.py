"""The registry of training modes: name → :class:`~adaft_core.modes.base.Mode` (one module each).

An entry is all there is to a mode: its LR, its rule, its plan and its own state (``new_state``,
``save_state``, ``load_state``), which the checkpoints (``adaft_core/run/state.py``) and the Trainer
kit make, save and restore by asking :func:`get_mode`.
"""

from __future__ import annotations

from adaft_core.errors import ConfigError, choices_message
from adaft_core.modes.adaptive import ADAPTIVE
from adaft_core.modes.base import Mode
from adaft_core.modes.fixed import ORIGINAL, STABLE

MODES: dict[str, Mode] = {m.name: m for m in (ORIGINAL, STABLE, ADAPTIVE)}
DEFAULT_EPOCHS = {name: m.default_epochs for name, m in MODES.items()}


def get_mode(name: str) -> Mode:
    """The mode called ``name``; an unknown name is a ConfigError listing the valid ones."""
    if name not in MODES:
        raise ConfigError(choices_message("mode", name, MODES))
    return MODES[name]
