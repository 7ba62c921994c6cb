"""Task layers: how a task's examples become model features and predictions become metrics.

``ner``: token classification (first-sub-token labels, word-boundary chunking, seqeval scores).
``classification`` / ``regression``: sentence(-pair) classification and STS-style regression
(``classification.py``; GLUE metrics in ``glue_metrics.py``, label maps in ``pair_labels.py``).
The registry ``TASKS`` maps a task name to its ``prepare(config) -> PreparedTask`` (``base.py``);
each factory imports its module when called, so importing the package (and checking a config)
stays cheap and torch-free. ``models.py`` resolves a model name and loads model and tokenizer.

May import: errors, data (the readers) and store (the atomic folder write of a fetched model).
Never run/, cli/, integrations/, studies/, report/ or the dashboard.
"""

from __future__ import annotations


def prepare_ner(cfg):
    from adaft_core.tasks.ner import prepare_ner as prepare

    return prepare(cfg)


def prepare_pairs(cfg):
    """Sentence(-pair) classification and regression (one module, the task picks the head and loss)."""
    from adaft_core.tasks.classification import prepare_classification

    return prepare_classification(cfg)


TASKS = {"ner": prepare_ner, "classification": prepare_pairs, "regression": prepare_pairs}
PAIR_TASKS = ("classification", "regression")
