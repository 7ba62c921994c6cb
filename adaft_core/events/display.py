"""How numbers from the run log are shown to people (torch-free, no widgets).

Events count epochs from 0 (the event contract, ``schema.py``: ``epoch`` 0 is the first
epoch); every place a person reads an epoch number — the console during training, ``adaft runs
show``, the dashboard's progress line, decisions, chart hovers and markers, the Masks slider and
the decisions' reason texts — counts from 1, through :func:`epoch_label`, written once here.
"""

from __future__ import annotations

from typing import Any


def epoch_label(epoch0: Any) -> Any:
    """The number people read for the 0-based event epoch ``epoch0`` ("epoch 1" = the first);
    a value that is not a whole number (missing, ``None``) is returned as is."""
    if isinstance(epoch0, bool) or not isinstance(epoch0, (int, float)) or epoch0 != epoch0:
        return epoch0
    return int(epoch0) + 1


def epoch_text(epoch0: Any) -> str:
    """``"epoch N"`` (1-based), or ``"epoch ?"`` when the event does not say."""
    label = epoch_label(epoch0)
    return f"epoch {'?' if label is None else label}"
