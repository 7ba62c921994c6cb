"""adaft's NER scores for ``Trainer(compute_metrics=...)``: the same entity-level seqeval numbers as
adaft's own evaluation (chunks glued back per sentence), so a Trainer run's ``eval`` events carry
the headline ``f1`` the run store and the dashboard show."""

from __future__ import annotations

import numbers

import numpy as np


def ner_trainer_metrics(task):
    """``compute_metrics`` for a Trainer evaluating ``task.features["validation"]`` (a prepared ``ner``
    task): Trainer's evaluation keeps feature order, so row i is feature i. Only the scalar scores
    are returned (Trainer logs them as ``eval_<name>``); pass :func:`argmax_logits` as
    ``preprocess_logits_for_metrics`` to keep only the predicted ids."""
    features = task.features["validation"]

    def compute_metrics(eval_pred) -> dict[str, float]:
        preds, label_ids = eval_pred.predictions, eval_pred.label_ids
        if preds.ndim == 3:
            preds = preds.argmax(-1)
        metrics = task.compute_metrics([(np.arange(len(label_ids)), preds, label_ids)], features)
        return {k: float(v) for k, v in metrics.items() if isinstance(v, numbers.Real)}

    return compute_metrics


def argmax_logits(logits, labels):  # noqa: ARG001 - Trainer's signature
    """``preprocess_logits_for_metrics``: the predicted label ids instead of the logits."""
    return logits.argmax(-1)
