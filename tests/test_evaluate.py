"""The validation loss that drives decisions (docs/adaptive.md §4; config ``val_loss``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny import tiny_config

from adaft_core.run.evaluate import eval_loader, evaluate, split_loss
from adaft_core.tasks.base import get_task


def test_split_loss_definitions_by_hand():
    # examples 0..4 hold (loss sum, labelled tokens): (2, 1), (6, 3), (0, 0), (4, 4), (9, 1)
    sums, counts = np.array([2.0, 6.0, 0.0, 4.0, 9.0]), np.array([1.0, 3.0, 0.0, 4.0, 1.0])
    parts = [(np.array([3, 0]), sums[[3, 0]], counts[[3, 0]]),  # any batch order and grouping
             (np.array([4, 1, 2]), sums[[4, 1, 2]], counts[[4, 1, 2]]),
             (np.array([4]), sums[[4]], counts[[4]])]  # a duplicate (data-parallel padding)
    assert split_loss(parts, 5, "token_mean", 2) == pytest.approx(21 / 9)  # all tokens: 21 / 9
    # file-order batches of 2: [0, 1] -> 8/4, [2, 3] -> 4/4, [4] -> 9/1; mean (2 + 1 + 9) / 3
    assert split_loss(parts, 5, "batch_mean", 2) == pytest.approx(4.0)
    assert math.isnan(split_loss([(np.array([0]), np.zeros(1), np.zeros(1))], 1, "token_mean", 2))
    with pytest.raises(ValueError, match="val_loss"):
        split_loss(parts, 5, "mean", 2)


def test_token_mean_does_not_depend_on_the_eval_batch_size(tiny_model_dir, conll_dir, tmp_path):
    from accelerate import Accelerator

    cfg = tiny_config(tiny_model_dir, conll_dir, tmp_path).validated()
    task = get_task(cfg.task)(cfg)
    torch.manual_seed(0)
    model = task.load_model().eval()
    feats, acc = task.features["validation"], Accelerator(cpu=True)

    def loss(batch_size: int, how: str) -> float:
        return evaluate(model, eval_loader(feats, task.collator, batch_size, acc), feats, task, acc,
                        val_loss=how)["loss"]

    assert len(feats) == 16
    token = [loss(b, "token_mean") for b in (3, 7, 16)]
    assert token[1] == pytest.approx(token[0], rel=1e-6) and token[2] == pytest.approx(token[0], rel=1e-6)
    batch = [loss(b, "batch_mean") for b in (3, 16)]  # the old definition moves with the batch size
    assert batch[0] != pytest.approx(batch[1], rel=1e-4)
    assert batch[1] == pytest.approx(token[0], rel=1e-6)  # one batch holding the whole split: the same


def test_the_config_picks_the_definition(tiny_model_dir, conll_dir, tmp_path):
    for how in ("token_mean", "batch_mean"):
        cfg = tiny_config(tiny_model_dir, conll_dir, tmp_path, val_loss=how).validated()
        assert get_task(cfg.task)(cfg).val_loss == how
