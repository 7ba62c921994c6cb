"""Speed options must not change results: the engine equals a plain PyTorch loop, step by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import tiny_config

from adaft_core import train
from adaft_core.events.emitter import RecorderSink
from adaft_core.modes import linear_warmup_decay_lr
from adaft_core.data.length_grouping import LengthGroupedBatchSampler, padded_tokens
from adaft_core.tasks.base import get_task


def plain_loop_losses(cfg, n_steps: int) -> list[float]:
    """The textbook loop: shuffled DataLoader, forward, backward, clip, AdamW, linear schedule."""
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader

    cfg = cfg.validated()
    set_seed(cfg.seed)
    task = get_task(cfg.task)(cfg)
    torch.manual_seed(cfg.seed)
    model = task.load_model()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    plain = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": plain, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, fused=True)  # the same kernel as the engine
    loader = DataLoader(task.features["train"], batch_size=cfg.batch_size, shuffle=True,
                        collate_fn=task.collator, generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = len(loader)
    losses, step = [], 0
    model.train()
    while step < n_steps:
        for batch in loader:
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            for g in opt.param_groups:
                g["lr"] = linear_warmup_decay_lr(step, lr_max=cfg.lr, warmup_steps=2 * steps_per_epoch,
                                                 total_steps=cfg.max_epochs * steps_per_epoch)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            if step == n_steps:
                break
    return losses


def test_engine_losses_equal_plain_loop(tiny_model_dir, conll_dir, tmp_path):
    # padded batches, as the textbook loop has them (with dropout on, packed batches lay the masks
    # out differently; padded vs packed is tests/test_padding_free.py, with dropout off)
    cfg = tiny_config(tiny_model_dir, conll_dir, tmp_path, mode="original", max_epochs=3,
                      save_checkpoints=False, save_model=False, evaluate_test=False, padding_free=False)
    rec = RecorderSink()
    train(cfg, sinks=[rec])
    engine_losses = [e["loss"] for e in rec.of("step")]
    assert len(engine_losses) == 12
    assert engine_losses == plain_loop_losses(cfg, 12)


def test_length_grouping_converges(tiny_model_dir, conll_dir, tmp_path):
    rec = RecorderSink()
    result = train(tiny_config(tiny_model_dir, conll_dir, tmp_path, mode="original", max_epochs=8,
                               batch_size=4, length_grouping=True, save_model=False), sinks=[rec])
    val_losses = [e["loss"] for e in rec.of("eval") if e["split"] == "validation"]
    assert result.status == "completed"
    assert val_losses[-1] < 0.6 * val_losses[0]
    assert result.val["f1"] > 0.3


def test_length_grouped_sampler_covers_everything_and_pads_less():
    g = torch.Generator().manual_seed(0)
    lengths = [int(x) for x in torch.randint(5, 120, (1000,), generator=torch.Generator().manual_seed(1))]
    sampler = LengthGroupedBatchSampler(lengths, 16, g)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for b in batches for i in b) == list(range(1000))
    random_batches = [list(range(i, min(i + 16, 1000))) for i in range(0, 1000, 16)]
    assert padded_tokens(lengths, batches) < 0.7 * padded_tokens(lengths, random_batches)
    again = list(LengthGroupedBatchSampler(lengths, 16, torch.Generator().manual_seed(0)))
    assert again == batches  # same seed, same batches


def test_length_grouped_batches_are_the_library_megabatches_in_shuffled_order():
    """Within one pool our batches are transformers' length-grouped batches; only their order is shuffled."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    lengths = [int(x) for x in torch.randint(5, 120, (1000,), generator=torch.Generator().manual_seed(1))]
    ours = list(LengthGroupedBatchSampler(lengths, 16, torch.Generator().manual_seed(0)))
    flat = get_length_grouped_indices(lengths, 16, mega_batch_mult=64, generator=torch.Generator().manual_seed(0))
    library = [flat[i:i + 16] for i in range(0, len(flat), 16)]
    assert sorted(ours) == sorted(library) and ours != library

@pytest.mark.parametrize("task_name", ["ner", "classification"])
def test_length_sorted_evaluation_keeps_loss_and_metrics(tiny_model_dir, conll_dir, pair_dir, tmp_path, task_name):
    """Evaluating in length order gives the plain file-order pass's losses (both definitions) and metrics."""
    from accelerate import Accelerator

    from adaft_core.run.evaluate import eval_loader, evaluate

    if task_name == "ner":
        cfg = tiny_config(tiny_model_dir, conll_dir, tmp_path, eval_batch_size=5)
    else:
        cfg = tiny_config(tiny_model_dir, pair_dir, tmp_path, eval_batch_size=5, task="classification")
    cfg = cfg.validated()
    task = get_task(cfg.task)(cfg)
    torch.manual_seed(0)
    model = task.load_model().eval()
    feats = task.features["validation"]
    acc = Accelerator(cpu=True)
    batch_losses, loss_sum, n_labels, rows = [], 0.0, 0, []
    with torch.no_grad():
        for b in range(0, len(feats), 5):  # the plain way: file order, the model's own loss
            batch = task.collator(feats[b:b + 5])
            out = model(**batch)
            n = int((batch["labels"] != -100).sum())  # labelled tokens (NER) or examples
            batch_losses.append(out.loss.item())
            loss_sum, n_labels = loss_sum + out.loss.item() * n, n_labels + n
            predict = task.predict or (lambda logits: logits.argmax(-1))
            rows.append((np.arange(b, b + len(feats[b:b + 5])), predict(out.logits).numpy(),
                         batch["labels"].numpy()))
    assert len(feats) % 5 and task.val_loss == "token_mean"  # a short last batch: the definitions differ
    loader = eval_loader(feats, task.collator, 5, acc)
    got = evaluate(model, loader, feats, task, acc)
    assert got["loss"] == pytest.approx(loss_sum / n_labels, rel=1e-5)
    old = evaluate(model, loader, feats, task, acc, val_loss="batch_mean")
    assert old["loss"] == pytest.approx(float(np.mean(batch_losses)), rel=1e-5)
    assert old["loss"] != pytest.approx(got["loss"], rel=1e-4)
    reference = task.compute_metrics(rows, feats)
    assert got[task.metric] == pytest.approx(reference[task.metric], abs=1e-12)
