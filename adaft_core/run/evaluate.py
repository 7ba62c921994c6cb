"""One evaluation pass: the validation loss and the task's metrics in the same pass over a split.

Predictions are ``task.predict(logits)`` (default: argmax over the last dim — per token for NER,
per example for classification; regression squeezes its single output). ``loss`` is ``None``
for a split whose batches carry no ``labels`` (an out-of-domain set scored through a label map).

The loss (``docs/adaptive.md`` §4; config ``val_loss``):

* ``"token_mean"`` (default): the mean over all labelled tokens of the split (over examples for
  classification and regression) — one sum and one count per example, added up over the whole
  split, so it does not depend on the evaluation batch size or order;
* ``"batch_mean"``: the reference implementation's mean of per-batch mean losses over the split's
  batches of ``eval_batch_size`` IN FILE ORDER (a small last batch weighs as much as a full one),
  kept for exact reproduction of older runs.

Speed without changing results: examples are batched in order of length (far less padding than
file order), and every row carries its ``feature_index`` so predictions are put back in file
order before scoring and per-example losses can be regrouped for ``batch_mean``. In a
data-parallel run the per-example parts of every rank are gathered, so all ranks get the same
value and decision. A packed batch of a token task (``padding_free.py``) has its logits and labels
put back in the padded shape first (a sentence-level task's come out one row per sentence), so
everything after the forward is the same for both kinds of batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from adaft_core.run.padding_free import labels_per_token, repad


class IndexedFeatures(Dataset):
    """Features plus their position, so predictions can be put back in order after gathering.

    ``loss_batch_size``: the size of the file-order batches that ``val_loss="batch_mean"`` averages over.
    """

    def __init__(self, features: list[dict], loss_batch_size: int = 1):
        self.features = features
        self.loss_batch_size = loss_batch_size

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return {**self.features[i], "feature_index": i}


class IndexedCollator:
    """Wraps a task collator and carries ``feature_index`` through as a tensor."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, items: list[dict]) -> dict:
        batch = self.collator([{k: v for k, v in it.items() if k != "feature_index"} for it in items])
        batch["feature_index"] = torch.tensor([it["feature_index"] for it in items], dtype=torch.long)
        return batch


def eval_loader(features: list[dict], collator, batch_size: int, accelerator) -> DataLoader:
    # Its own generator: a DataLoader without one draws a seed from the global RNG each time it
    # is iterated, which would shift the dropout masks of the next training epoch — evaluating
    # must not change training.
    by_length = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    loader = DataLoader(IndexedFeatures(features, batch_size), batch_size=batch_size, sampler=by_length,
                        collate_fn=IndexedCollator(collator), generator=torch.Generator())
    return accelerator.prepare_data_loader(loader)


VAL_LOSSES = ("token_mean", "batch_mean")


def evaluate(model, loader, features, task, accelerator, strategy=None, val_loss: str | None = None) -> dict:
    """Returns ``{"loss": validation loss, **task metrics}`` for the whole split.

    ``val_loss`` picks the loss definition (module docstring); None: the task's ``val_loss``
    (set from the run's config), else ``"token_mean"``.
    """
    from accelerate.utils import gather_object

    if strategy is not None:
        strategy.eval_start()
    was_training = model.training
    model.eval()
    predict = getattr(task, "predict", None) or _argmax
    per_token = labels_per_token(task)  # a packed batch's token logits and labels come out packed
    rows, parts, unlabelled = [], [], 0
    try:
        with torch.inference_mode():
            for batch in loader:
                index = batch.pop("feature_index")
                logits, labels = model(**batch).logits, batch.get("labels")
                if per_token:  # back in (sentence, position) shape; sentence-level ones already are
                    logits = repad(logits, batch)
                    labels = None if labels is None else repad(labels, batch, fill=-100)
                rows.append((index.cpu().numpy(), predict(logits).cpu().numpy(),
                             None if labels is None else labels.cpu().numpy()))
                if labels is None:  # an eval set scored only through a label map: no loss
                    unlabelled += 1
                else:
                    sums, counts = example_losses(logits, labels)
                    parts.append((index.cpu().numpy(), sums.cpu().numpy(), counts.cpu().numpy()))
    finally:
        model.train(was_training)
        if strategy is not None:
            strategy.eval_end()
    if accelerator.num_processes > 1:
        rows, parts = gather_object(rows), gather_object(parts)
        unlabelled = sum(gather_object([unlabelled]))
    metrics = task.compute_metrics(rows, features)
    how = val_loss or getattr(task, "val_loss", None) or "token_mean"
    loss = None if unlabelled else split_loss(parts, len(features), how, loader.dataset.loss_batch_size)
    return {"loss": loss, **metrics}


def example_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: the summed loss and the number of labels it covers (the model's own losses).

    Token classification: cross-entropy over positions with a label (−100 ignored); sequence
    classification: cross-entropy; regression (one output, float labels): squared error.
    """
    logits = logits.float()
    if logits.dim() == 3:
        mask = labels != -100
        tok = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
        return (tok.double() * mask).sum(dim=1), mask.sum(dim=1).double()
    ones = torch.ones(labels.shape[0], dtype=torch.float64, device=labels.device)
    if logits.shape[-1] == 1 and labels.is_floating_point():
        return ((logits.squeeze(-1) - labels.float()) ** 2).double(), ones
    return F.cross_entropy(logits, labels, reduction="none").double(), ones


def split_loss(parts, n_features: int, how: str, batch_size: int) -> float:
    """The split's loss from per-example ``(indices, loss sums, label counts)`` parts (NaN if no label)."""
    if how not in VAL_LOSSES:
        raise ValueError(f"val_loss must be one of {', '.join(VAL_LOSSES)}, got {how!r}")
    sums, counts = per_example(parts, n_features)
    if how == "batch_mean":
        return batch_mean_loss(sums, counts, batch_size)
    total = counts.sum()
    return float(sums.sum() / total) if total > 0 else float("nan")


def per_example(parts, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Loss sums and label counts in feature order (float64)."""
    sums, counts = np.zeros(n_features), np.zeros(n_features)
    for index, s, c in parts:  # duplicates (padding of a data-parallel sampler) overwrite alike
        sums[index], counts[index] = s, c
    return sums, counts


def batch_mean_loss(sums: np.ndarray, counts: np.ndarray, batch_size: int) -> float:
    """Mean over file-order batches of each batch's mean loss (batches with no label skipped)."""
    n_features = len(sums)
    means = [sums[b:b + batch_size].sum() / counts[b:b + batch_size].sum()
             for b in range(0, n_features, batch_size) if counts[b:b + batch_size].sum() > 0]
    return float(np.mean(means)) if means else float("nan")


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    """Default predictions: the highest-scoring class (per token for NER, per example otherwise)."""
    return logits.argmax(dim=-1)
