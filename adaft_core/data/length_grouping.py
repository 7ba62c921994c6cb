"""Length-aware batching: an optional change to how training batches are drawn.

Kept instead of transformers' ``LengthGroupedSampler``: it moves the longest example to pool 1, never shuffles batches.

With dynamic padding, a batch costs as much as its longest sequence times its size. Drawing
batches of similar lengths wastes less compute on padding. This CHANGES SAMPLING (batches are no
longer uniformly random), so it is off by default and recorded in the run's config.

The scheme is the familiar "megabatch" one (as in ``transformers``' ``LengthGroupedSampler``):
shuffle all examples with the run's generator, cut the order into pools of ``pool_batches``
batches, sort each pool by length (longest first), cut it into batches and shuffle the batch
order. Every example is still seen exactly once per epoch, and the randomness still comes from
the seed. Larger pools give tighter length grouping (less padding) at the price of less
randomness inside a batch.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Yields lists of indices (a ``batch_sampler`` for ``DataLoader``)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, generator: torch.Generator,
                 pool_batches: int = 64):
        if batch_size < 1 or pool_batches < 1:
            raise ValueError("batch_size and pool_batches must be >= 1")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.generator = generator
        self.pool = batch_size * pool_batches

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths), generator=self.generator)
        batches: list[list[int]] = []
        for start in range(0, len(order), self.pool):
            pool = order[start:start + self.pool]
            pool = pool[torch.argsort(self.lengths[pool], descending=True, stable=True)]
            batches += [pool[i:i + self.batch_size].tolist() for i in range(0, len(pool), self.batch_size)]
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i]


def padded_tokens(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Tokens a padded run over ``batches`` processes (to compare sampling schemes)."""
    return sum(len(b) * max(lengths[i] for i in b) for b in batches if b)
