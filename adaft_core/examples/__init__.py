"""Run logs recorded with adaft and shipped with the package, for demos that work offline.

``wikigold-adaptive/events.jsonl``: a real ``adaft train`` run (adaptive mode, the shipped
MiniLM, 10 % of WikiGold's training sentences = 119, seed 3, lr 2e-5, 8 steps per epoch, from the
benchmark sweep in ``bench/README.md``): a 2-epoch warm-up, constant LR until the first epoch without
improvement (epoch 34, counted from 1), a cooldown, a restart after epoch 35, a second cooldown after
epoch 39 and the early stop after epoch 46 (test F1 0.50). The teaching notebook replays it
(``dashboard/teaching/replay.py``). Read with :func:`example_events` (the tolerant run-log reader).

May import: errors and store (that reader). Nothing above: the logs are data, not code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaft_core.errors import ConfigError
from adaft_core.store.run_log import EVENTS_FILE, read_log

HERE = Path(__file__).resolve().parent
EXAMPLES = {"wikigold-adaptive": "adaptive, MiniLM, 119 WikiGold sentences: cooldown, restart, early stop"}


def example_log(name: str = "wikigold-adaptive") -> Path:
    """The ``events.jsonl`` of the shipped example run ``name``."""
    if name not in EXAMPLES:
        raise ConfigError(f"unknown example run {name!r}; choose one of: {', '.join(EXAMPLES)}")
    return HERE / name / EVENTS_FILE


def example_events(name: str = "wikigold-adaptive") -> list[dict[str, Any]]:
    """The events of the shipped example run ``name``, in order."""
    log = read_log(example_log(name))
    if log.problem:
        raise ConfigError(f"example run {name}: {log.problem}")
    return log.events
