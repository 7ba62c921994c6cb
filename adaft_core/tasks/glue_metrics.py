"""Metrics of sentence(-pair) classification and regression, GLUE's choice per task.

Pure numpy functions (no scipy/sklearn dependency), each checked against hand-computed cases in
``tests/test_glue_metrics.py``. What a task reports:

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
``equivalent`` / ``duplicate`` / ``entailment`` … when present. Degenerate cases follow sklearn:
MCC is 0 when a row or column of the confusion matrix is all zero; precision, recall and F1 are
0 when their denominator is 0; Pearson/Spearman are NaN (``null`` in the run log) when one side
is constant.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# glue task -> (adaft task, headline metric)
GLUE_TASKS = {
    "cola": ("classification", "mcc"), "sst2": ("classification", "accuracy"),
    "mrpc": ("classification", "f1"), "qqp": ("classification", "f1"),
    "stsb": ("regression", "pearson"), "mnli": ("classification", "accuracy"),
    "qnli": ("classification", "accuracy"), "rte": ("classification", "accuracy"),
    "wnli": ("classification", "accuracy"), "ax": ("classification", "mcc"),
}
CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "mcc", "f1", "precision", "recall")
REGRESSION_METRICS = ("pearson", "spearman", "mse")
POSITIVE_NAMES = ("1", "true", "yes", "positive", "equivalent", "duplicate", "entailment", "entails")


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
    gold, pred = np.asarray(gold), np.asarray(pred)
    return float((gold == pred).mean()) if len(gold) else float("nan")


def precision_recall_f1(gold, pred, positive) -> tuple[float, float, float]:
    """Binary precision, recall and F1 of the class ``positive``."""
    gold, pred = np.asarray(gold) == positive, np.asarray(pred) == positive
    tp = float(np.sum(gold & pred))
    p = tp / pred.sum() if pred.sum() else 0.0
    r = tp / gold.sum() if gold.sum() else 0.0
    return float(p), float(r), float(2 * p * r / (p + r)) if p + r else 0.0


def matthews(gold, pred) -> float:
    """Matthews correlation, multi-class form (Gorodkin 2004; sklearn's ``matthews_corrcoef``)."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    classes, codes = np.unique(np.concatenate([gold, pred]), return_inverse=True)
    g, p = codes[:len(gold)], codes[len(gold):]
    k = len(classes)
    cm = np.zeros((k, k), dtype=np.float64)
    np.add.at(cm, (g, p), 1)
    t, q = cm.sum(axis=1), cm.sum(axis=0)  # true and predicted counts per class
    c, s = np.trace(cm), cm.sum()
    denom = np.sqrt((s * s - q @ q) * (s * s - t @ t))
    return float((c * s - t @ q) / denom) if denom > 0 else 0.0


def classification_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """All classification scores over label names; ``labels`` are the classes to report per class."""
    gold, pred = np.asarray(list(gold), dtype=object), np.asarray(list(pred), dtype=object)
    per_class = {}
    for label in labels:
        p, r, f = precision_recall_f1(gold, pred, label)
        per_class[label] = {"precision": p, "recall": r, "f1": f, "support": int(np.sum(gold == label))}
    present = [lab for lab in labels if per_class[lab]["support"] or np.any(pred == lab)]
    out = {"accuracy": accuracy(gold, pred), "mcc": matthews(gold, pred),
           "macro_f1": float(np.mean([per_class[lab]["f1"] for lab in present])) if present else 0.0,
           "n": int(len(gold))}
    positive = positive_label(labels)
    if positive is not None and len(labels) == 2:
        out["precision"], out["recall"], out["f1"] = precision_recall_f1(gold, pred, positive)
        out["positive_label"] = positive
    out["per_class"] = per_class
    return out


# --- regression -------------------------------------------------------------------------------

def pearson(x, y) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc @ xc) * (yc @ yc))
    return float(xc @ yc / denom) if denom > 0 else float("nan")


def rankdata(x) -> np.ndarray:
    """1-based ranks, ties getting the mean of their ranks (scipy's ``rankdata(method="average")``)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(x, y) -> float:
    return pearson(rankdata(x), rankdata(y))


def regression_metrics(gold, pred) -> dict:
    gold, pred = np.asarray(gold, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    mse = float(np.mean((gold - pred) ** 2)) if len(gold) else float("nan")
    return {"pearson": pearson(gold, pred), "spearman": spearman(gold, pred), "mse": mse, "n": int(len(gold))}
