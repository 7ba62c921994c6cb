"""One evaluation pass: mean loss and the task's metrics in the same pass over a split.

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
    rows = []
    try:
        with torch.inference_mode():
            for batch in loader:
                index = batch.pop("feature_index")
                out = model(**batch)
                loss_sum += out.loss.double()
                batches += 1
                preds = out.logits.argmax(dim=-1)
                rows.append((index.cpu().numpy(), preds.cpu().numpy(), batch["labels"].cpu().numpy()))
    finally:
        model.train(was_training)
        if strategy is not None:
            strategy.eval_end()
    if accelerator.num_processes > 1:
        loss_sum = accelerator.reduce(loss_sum, "sum")
        batches = accelerator.reduce(batches, "sum")
        rows = gather_object(rows)
    metrics = task.compute_metrics(rows, features)
    return {"loss": float(loss_sum / batches.clamp(min=1)), **metrics}
