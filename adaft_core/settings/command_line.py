"""A config as the ``adaft train`` command that runs it (the inverse of the CLI's parsing).

The dashboard shows it beside its form and the model card prints it; parsing it back
(``adaft_core.cli.train.config_from_args``) gives the same config (tests/test_settings.py).
"""

from __future__ import annotations

import shlex
from typing import Any

from adaft_core.settings.config import SETTINGS, TrainConfig
from adaft_core.settings.declare import Setting
from adaft_core.settings.strategy_options import OPTIONS


def _value_text(value: Any) -> str:
    """A value as typed on the command line (floats exactly: ``repr`` round-trips)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def _flag_words(spec: Setting, value: Any) -> list[str]:
    """The words that set ``spec`` to ``value`` (the inverse of :func:`add_setting`'s parsing)."""
    flag = spec.cli_flag
    if spec.kind is bool:
        if value:
            return [flag]
        return [spec.negative_flag] if spec.negative_flag else [flag, "false"]
    if spec.kind is list:
        return [word for item in value for word in (flag, _value_text(item))]
    if spec.kind is dict:
        return [flag, ",".join(f"{k}={v}" for k, v in value.items())]
    if spec.kind is tuple:
        return [flag, *map(_value_text, value)]
    return [flag, _value_text(value)]


def command_line(config: TrainConfig) -> str:
    """The ``adaft train`` command that runs ``config``: only the settings that differ from their
    declared defaults, and every strategy option given, each shell-quoted (``shlex``). Parsing it
    back (``adaft_core.cli.train.config_from_args``) gives the same config; the dashboard shows it for its form."""
    words = ["adaft", "train"]
    for name, spec in SETTINGS.items():
        value = getattr(config, name)
        default = spec.default
        same = list(value) == list(default) if spec.kind is tuple else value == default
        if spec.cli and not same:
            words += _flag_words(spec, value)
    for name, value in config.strategy_options.items():
        if name in OPTIONS:
            words += _flag_words(OPTIONS[name], value)
    return " ".join(shlex.quote(word) for word in words)
