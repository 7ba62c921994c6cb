"""The GLUE benchmark's tasks: what each one is, the metric it is scored by, and its names.

:data:`GLUE_TASKS` says, for each GLUE task, whether it is a classification or a regression
task and which metric GLUE reports for it; :func:`glue_task_of` recognises a task from a
dataset's name (``glue/rte``, ``hf:glue:rte``, a folder called ``RTE``). Reading the data needs
this table; scoring it (``adaft_core/tasks/glue_metrics.py``) imports it from here.
"""

from __future__ import annotations

import re

# glue task -> (adaft task, headline metric)
GLUE_TASKS = {
    "cola": ("classification", "mcc"), "sst2": ("classification", "accuracy"),
    "mrpc": ("classification", "f1"), "qqp": ("classification", "f1"),
    "stsb": ("regression", "pearson"), "mnli": ("classification", "accuracy"),
    "qnli": ("classification", "accuracy"), "rte": ("classification", "accuracy"),
    "wnli": ("classification", "accuracy"), "ax": ("classification", "mcc"),
}


def glue_task_of(name: str) -> str | None:
    """The GLUE task ``name`` spells, ignoring case and punctuation (``RTE``, ``sst-2``); else None."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return key if key in GLUE_TASKS else None
