"""adaft: adaptive fine-tuning and sparse subnetwork updates for transformer encoders.

Start here: :func:`adaft_core.train` with a :class:`adaft_core.TrainConfig`; the CLI is
``adaft train`` (``cli/``); the loop is ``run/engine.py``; the event contract is ``events/schema.py``.
The version is declared once, in ``pyproject.toml``; ``__version__`` is the installed package's.
"""

import importlib.metadata

from adaft_core.settings.config import TrainConfig
from adaft_core.errors import AdaftError, ConfigError, DataError

__version__ = importlib.metadata.version("adaft")


def train(config, sinks=(), stop_event=None):
    """Fine-tune per ``config`` (see :func:`adaft_core.run.engine.train`); imports torch lazily."""
    from adaft_core.run.engine import train as _train

    return _train(config, sinks=sinks, stop_event=stop_event)


def resume(run, *, output_dir="runs", sinks=(), stop_event=None):
    """Continue a stopped or interrupted run (see :func:`adaft_core.run.engine.resume`)."""
    from adaft_core.run.engine import resume as _resume

    return _resume(run, output_dir=output_dir, sinks=sinks, stop_event=stop_event)


__all__ = ["AdaftError", "ConfigError", "DataError", "TrainConfig", "resume", "train", "__version__"]
