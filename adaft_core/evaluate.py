"""One evaluation pass: mean loss and the task's metrics in the same pass over a split.

Predictions are ``task.predict(logits)`` (default: argmax over the last dim — per token for NER,
per example for classification; regression squeezes its single output). ``loss`` is ``None``
for a split whose batches carry no ``labels`` (an out-of-domain set scored through a label map).

Validation loss is the mean of per-batch mean losses (``specs/adaptive.md``), summed over every
rank in a data-parallel run so all ranks see the same value and make the same decision.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset


class IndexedFeatures(Dataset):
    """Features plus their position, so predictions can be put back in order after gathering."""

    def __init__(self, features: list[dict]):
        self.features = features

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
    loader = DataLoader(IndexedFeatures(features), batch_size=batch_size, shuffle=False,
                        collate_fn=IndexedCollator(collator), generator=torch.Generator())
    return accelerator.prepare_data_loader(loader)


def evaluate(model, loader, features, task, accelerator, strategy=None) -> dict:
    """Returns ``{"loss": mean batch loss, **task metrics}`` for the whole split."""
    from accelerate.utils import gather_object

    if strategy is not None:
        strategy.eval_start()
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=accelerator.device, dtype=torch.float64)
    batches = torch.zeros((), device=accelerator.device, dtype=torch.float64)
    lossless = torch.zeros((), device=accelerator.device, dtype=torch.float64)
    predict = getattr(task, "predict", None) or _argmax
    rows = []
    try:
        with torch.inference_mode():
            for batch in loader:
                index = batch.pop("feature_index")
                out = model(**batch)
                if out.loss is None:  # a batch without labels (an eval set scored through a label map)
                    lossless += 1
                else:
                    loss_sum += out.loss.double()
                    batches += 1
                labels = batch.get("labels")
                rows.append((index.cpu().numpy(), predict(out.logits).cpu().numpy(),
                             None if labels is None else labels.cpu().numpy()))
    finally:
        model.train(was_training)
        if strategy is not None:
            strategy.eval_end()
    if accelerator.num_processes > 1:
        loss_sum = accelerator.reduce(loss_sum, "sum")
        batches = accelerator.reduce(batches, "sum")
        lossless = accelerator.reduce(lossless, "sum")
        rows = gather_object(rows)
    metrics = task.compute_metrics(rows, features)
    loss = None if lossless > 0 else float(loss_sum / batches.clamp(min=1))
    return {"loss": loss, **metrics}


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    """Default predictions: the highest-scoring class (per token for NER, per example otherwise)."""
    return logits.argmax(dim=-1)
