"""Metrics of sentence(-pair) classification and regression, GLUE's choice per task.

The arithmetic is scikit-learn's (``accuracy_score``, ``precision_recall_fscore_support``,
``matthews_corrcoef``) and SciPy's (``pearsonr``, ``spearmanr``), imported when a split is scored
so that checking a config stays fast; this module only picks what each task reports and keeps
the degenerate cases quiet and well-defined. What a task reports:

============  ==================  =====================================================
task          headline (`metric`) also reported
============  ==================  =====================================================
cola          ``mcc``             accuracy, macro_f1, per_class
mrpc, qqp     ``f1``              accuracy, precision, recall (of the positive class),
                                  macro_f1, per_class
stsb          ``pearson``         spearman, mse (task ``regression``)
others, none  ``accuracy``        macro_f1, per_class (and ``mcc``)
============  ==================  =====================================================

``f1``/``precision``/``recall`` need a positive class: :func:`positive_label` picks ``1`` /
``equivalent`` / ``duplicate`` / ``entailment`` … when present. Degenerate cases: MCC is 0 when a
row or column of the confusion matrix is all zero; precision, recall and F1 are 0 when their
denominator is 0 (``zero_division=0``); Pearson/Spearman are NaN (``null`` in the run log) when
one side is constant or has fewer than two values (checked here first, so SciPy raises no
warning from a training thread); the accuracy of an empty split is NaN.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from adaft_core.data.glue import GLUE_TASKS  # the tasks and their headline metrics

CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "mcc", "f1", "precision", "recall")
REGRESSION_METRICS = ("pearson", "spearman", "mse")
POSITIVE_NAMES = ("1", "true", "yes", "positive", "equivalent", "duplicate", "entailment", "entails")
NAN = float("nan")


def headline_metric(task: str, glue_task: str | None = None, metric: str | None = None) -> str:
    """The metric named in ``eval`` events: ``metric`` if given, else the GLUE task's, else the default."""
    if metric:
        return metric
    if glue_task:
        return GLUE_TASKS[glue_task][1]
    return "pearson" if task == "regression" else "accuracy"


def positive_label(labels: Sequence[str]) -> str | None:
    """The class that binary F1 is about: a known positive name, else the second label; None if not binary."""
    labels = list(labels)
    for name in POSITIVE_NAMES:
        for label in labels:
            if label.lower() == name:
                return label
    return labels[1] if len(labels) == 2 else None


# --- classification ---------------------------------------------------------------------------

def accuracy(gold, pred) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(list(gold), list(pred))) if len(gold) else NAN


def per_class_scores(gold, pred, labels) -> list[tuple[float, float, float, int]]:
    """``(precision, recall, f1, support)`` of each class in ``labels``, one vs the rest."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = list(labels)
    if not len(gold) or not labels:
        return [(0.0, 0.0, 0.0, 0) for _ in labels]
    p, r, f, s = precision_recall_fscore_support(list(gold), list(pred), labels=labels, average=None,
                                                 zero_division=0)
    return [(float(a), float(b), float(c), int(d)) for a, b, c, d in zip(p, r, f, s)]


def precision_recall_f1(gold, pred, positive) -> tuple[float, float, float]:
    """Binary precision, recall and F1 of the class ``positive``."""
    return per_class_scores(gold, pred, [positive])[0][:3]


def matthews(gold, pred) -> float:
    """Matthews correlation, multi-class form (Gorodkin 2004), as scikit-learn computes it."""
    from sklearn.metrics import matthews_corrcoef

    gold, pred = list(gold), list(pred)
    if len(set(gold) | set(pred)) < 2:  # an empty split or one class only: undefined, 0 (sklearn warns)
        return 0.0
    return float(matthews_corrcoef(gold, pred))


def classification_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """All classification scores over label names; ``labels`` are the classes to report per class.

    ``macro_f1`` averages the F1 of the classes that occur in the gold or predicted labels
    (scikit-learn's default label set), so a class absent from a small split does not count as 0.
    """
    gold, pred, labels = list(gold), list(pred), list(labels)
    scores = dict(zip(labels, per_class_scores(gold, pred, labels)))
    per_class = {label: {"precision": p, "recall": r, "f1": f, "support": s}
                 for label, (p, r, f, s) in scores.items()}
    seen = set(gold) | set(pred)
    present = [label for label in labels if label in seen]
    out = {"accuracy": accuracy(gold, pred), "mcc": matthews(gold, pred),
           "macro_f1": float(np.mean([scores[label][2] for label in present])) if present else 0.0,
           "n": len(gold)}
    positive = positive_label(labels)
    if positive is not None and len(labels) == 2:
        out["precision"], out["recall"], out["f1"] = scores[positive][:3]
        out["positive_label"] = positive
    out["per_class"] = per_class
    return out


# --- regression -------------------------------------------------------------------------------

def _correlation(kind: str, x, y) -> float:
    """SciPy's Pearson or Spearman coefficient; NaN (without a warning) where it is undefined."""
    from scipy import stats

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return NAN
    result = stats.pearsonr(x, y) if kind == "pearson" else stats.spearmanr(x, y)
    return float(result[0])


def pearson(x, y) -> float:
    return _correlation("pearson", x, y)


def spearman(x, y) -> float:
    """Pearson correlation of the ranks, ties getting the mean of their ranks."""
    return _correlation("spearman", x, y)


def regression_metrics(gold, pred) -> dict:
    gold, pred = np.asarray(gold, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    mse = float(np.mean((gold - pred) ** 2)) if len(gold) else NAN
    return {"pearson": pearson(gold, pred), "spearman": spearman(gold, pred), "mse": mse, "n": int(len(gold))}
