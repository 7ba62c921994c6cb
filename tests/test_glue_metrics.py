"""GLUE metrics on hand-computed cases (the arithmetic is written out next to each number)."""

import math

import numpy as np
import pytest

from adaft_core.tasks.glue_metrics import (GLUE_TASKS, accuracy, classification_metrics, headline_metric,
                                           matthews, pearson, positive_label, precision_recall_f1,
                                           regression_metrics, spearman)


def test_accuracy():
    assert accuracy(["a", "b", "a", "c"], ["a", "b", "b", "c"]) == 0.75  # 3 of 4
    assert math.isnan(accuracy([], []))


def test_binary_precision_recall_f1():
    gold = [1, 1, 0, 0, 1]
    pred = [1, 0, 0, 1, 1]
    # tp = 2 (positions 0, 4); predicted positive = 3; gold positive = 3
    p, r, f = precision_recall_f1(gold, pred, 1)
    assert (p, r, f) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    gold, pred = [1, 1, 1, 0], [1, 0, 0, 0]  # tp 1, pred pos 1, gold pos 3: p 1, r 1/3, f1 2*(1/3)/(4/3) = 0.5
    assert precision_recall_f1(gold, pred, 1) == pytest.approx((1.0, 1 / 3, 0.5))
    assert precision_recall_f1([0, 0], [0, 0], 1) == (0.0, 0.0, 0.0)  # no positive anywhere: 0, as sklearn


def test_matthews_binary():
    gold = [1, 1, 1, 0, 0, 0]
    pred = [1, 1, 0, 0, 0, 1]
    # TP 2, TN 2, FP 1, FN 1: (2*2 - 1*1) / sqrt(3*3*3*3) = 3/9
    assert matthews(gold, pred) == pytest.approx(1 / 3)
    assert matthews(gold, gold) == pytest.approx(1.0)
    assert matthews(gold, [1 - g for g in gold]) == pytest.approx(-1.0)
    assert matthews(gold, [1] * 6) == 0.0  # a constant prediction: denominator 0 -> 0


def test_matthews_multiclass():
    gold = ["a", "a", "b", "b", "c", "c"]
    pred = ["a", "b", "b", "b", "c", "a"]
    # true counts t = (2, 2, 2), predicted counts q = (2, 3, 1), correct c = 4, s = 6
    # (c*s - t.q) / sqrt((s^2 - q.q)(s^2 - t.t)) = (24 - 12) / sqrt((36 - 14)(36 - 12)) = 12 / sqrt(528)
    assert matthews(gold, pred) == pytest.approx(12 / math.sqrt(528))


def test_pearson_and_spearman():
    # x - mean = (-1.5, -.5, .5, 1.5), y - mean = (-3, -1, 0, 4): 11 / sqrt(5 * 26)
    assert pearson([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(11 / math.sqrt(130))
    assert spearman([1, 2, 3], [1, 4, 9]) == pytest.approx(1.0)  # monotone, not linear
    # ties: ranks x = (1, 2.5, 2.5, 4), y = (1, 3, 2, 4); centred dot 4.5, norms 4.5 and 5
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))  # constant side: undefined -> NaN (null in the log)
    # ranks x = (2, 4, 4, 1, 4) (three ties share 3, 4, 5), y = (1, ..., 5); centred
    # (-1, 1, 1, -2, 1) . (-2, -1, 0, 1, 2) = 1, squared norms 8 and 10
    assert spearman([10, 20, 20, 5, 20], [1, 2, 3, 4, 5]) == pytest.approx(1 / math.sqrt(80))


def test_regression_metrics():
    out = regression_metrics([0.0, 1.0, 2.0], [0.0, 1.0, 4.0])
    assert out["mse"] == pytest.approx(4 / 3)  # (0 + 0 + 4) / 3
    assert out["spearman"] == pytest.approx(1.0) and out["n"] == 3
    assert out["pearson"] == pytest.approx(np.corrcoef([0, 1, 2], [0, 1, 4])[0, 1])


def test_classification_metrics_binary_and_per_class():
    labels = ["not_equivalent", "equivalent"]
    gold = ["equivalent", "equivalent", "not_equivalent", "not_equivalent"]
    pred = ["equivalent", "not_equivalent", "not_equivalent", "equivalent"]
    out = classification_metrics(gold, pred, labels)
    assert out["positive_label"] == "equivalent"
    assert out["accuracy"] == 0.5 and out["f1"] == pytest.approx(0.5) and out["mcc"] == pytest.approx(0.0)
    assert out["per_class"]["equivalent"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert out["macro_f1"] == pytest.approx(0.5)
    three = classification_metrics(["a", "b", "c"], ["a", "b", "b"], ["a", "b", "c"])
    assert "f1" not in three  # binary F1 needs two classes
    # per-class F1: a 1, b 2*(1/2*1)/(3/2) = 2/3, c 0 -> macro (1 + 2/3 + 0) / 3
    assert three["macro_f1"] == pytest.approx((1 + 2 / 3) / 3)


def test_positive_label_and_headlines():
    assert positive_label(["0", "1"]) == "1"
    assert positive_label(["duplicate", "not_duplicate"]) == "duplicate"
    assert positive_label(["entailment", "not_entailment"]) == "entailment"
    assert positive_label(["a", "b", "c"]) is None
    assert headline_metric("classification", "cola") == "mcc"
    assert headline_metric("classification", "mrpc") == headline_metric("classification", "qqp") == "f1"
    assert headline_metric("regression", "stsb") == "pearson"
    assert headline_metric("classification", "rte") == "accuracy"
    assert headline_metric("classification") == "accuracy" and headline_metric("regression") == "pearson"
    assert headline_metric("classification", "cola", "accuracy") == "accuracy"
    assert GLUE_TASKS["stsb"][0] == "regression"


def test_degenerate_cases_are_quiet_and_defined():
    """No library warning reaches a training thread: undefined scores are 0 or NaN, as documented."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert matthews(["a", "a"], ["a", "a"]) == 0.0  # one class only (sklearn would warn)
        assert matthews([], []) == 0.0
        assert math.isnan(pearson([1.0], [2.0])) and math.isnan(spearman([1, 2, 3], [5, 5, 5]))
        out = classification_metrics([], [], ["no", "yes"])
        assert math.isnan(out["accuracy"]) and out["f1"] == 0.0 and out["per_class"]["yes"]["support"] == 0
        reg = regression_metrics([1.0, 2.0], [3.0, 3.0])  # constant prediction
        assert math.isnan(reg["pearson"]) and math.isnan(reg["spearman"]) and reg["mse"] == pytest.approx(2.5)
