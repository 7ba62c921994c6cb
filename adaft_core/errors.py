"""Errors a user can act on.

Every problem with the user's input (config, data files, model path) is raised as an
:class:`AdaftError` subclass *before* training starts, with a message that names the
problem, where it is (file and line for data) and the valid choices. The CLI prints the
message without a traceback; Python callers can catch :class:`AdaftError`.
"""


class AdaftError(ValueError):
    """Base class for errors caused by user input (shown without a traceback by the CLI)."""


class ConfigError(AdaftError):
    """An invalid setting: unknown mode/task/dataset, a value out of range, ..."""


class DataError(AdaftError):
    """A problem in a data file or dataset: missing file, malformed line, unknown tag, empty split."""


class OutputError(AdaftError):
    """An output folder that cannot be written: a file in its place, no permission, a full disk."""


def choices_message(what: str, value: object, valid) -> str:
    """``unknown mode 'fast'; valid choices: adaptive, original, stable`` — one shared wording."""
    return f"unknown {what} {value!r}; valid choices: {', '.join(sorted(map(str, valid)))}"
