"""Training and validation subsets, for every task: a fraction of a split, or a stratified sample.

:func:`take_fraction` (``train_fraction``, ``val_fraction``) keeps the first ⌊x·N⌋ items of a fixed
shuffle (seed :data:`SUBSET_SEED`, independent of the training seed, so every seed of a sweep trains
on the same items). :func:`stratified_sample` (``train_size``) draws a class-stratified sample of N
examples with a seed, as follows.

Kept instead of sklearn's ``train_test_split(stratify=...)``: random remainder ties and NumPy draws change the sample.

The DPS paper's low-resource runs train on N = 500 or 1,000 examples drawn from the full
training set. :func:`stratified_sample` keeps the class proportions of the full set as closely
as integers allow, so a 1,000-example sample of a balanced 3-way NLI set has 333/333/334 and
not, by bad luck, 300/330/370.

Rule (deterministic; the test suite checks it):

1. each class ``c`` with ``n_c`` of the ``M`` examples gets ``⌊N·n_c/M⌋`` slots (its quota);
2. the ``N − Σ quotas`` slots left go one each to the classes with the largest remainders
   ``N·n_c/M − ⌊N·n_c/M⌋``, ties broken by class name (largest-remainder / Hamilton method);
3. within each class, classes taken in sorted name order, ``random.Random(seed).sample`` picks
   that many examples; the chosen examples keep their input order.

Regression targets have no classes: pass ``key=None`` for a plain seeded random sample
(``random.Random(seed).sample``, input order kept).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from fractions import Fraction
from typing import Callable, Sequence, TypeVar

from adaft_core.errors import ConfigError, DataError

T = TypeVar("T")

SUBSET_SEED = 1234
"""Seed of :func:`take_fraction`'s shuffle, independent of the training seed."""

SAMPLE_SEED = 1234
"""Default seed of the training sample, independent of the training seed (as for ``train_fraction``),
so every seed of a sweep trains on the same examples unless ``sample_seed`` says otherwise."""


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """How many of ``n`` slots each class gets (steps 1–2 of the module rule); exact fractions."""
    total = sum(counts.values())
    shares = {c: Fraction(n * k, total) for c, k in counts.items()}
    quota = {c: int(s) for c, s in shares.items()}  # floor: shares are non-negative
    left = n - sum(quota.values())
    by_remainder = sorted(counts, key=lambda c: (-(shares[c] - quota[c]), str(c)))
    for c in by_remainder[:left]:
        quota[c] += 1
    return quota


def stratified_sample(items: Sequence[T], n: int, seed: int = SAMPLE_SEED,
                      key: Callable[[T], object] | None = None, *, what: str = "train split") -> list[T]:
    """``n`` items of ``items``, class-stratified by ``key`` (plain random if ``key`` is None)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"train_size must be a positive whole number of examples, got {n!r}")
    items = list(items)
    if n > len(items):
        raise DataError(f"train_size {n} is larger than the {what}, which has {len(items)} examples; "
                        f"use at most {len(items)} (or leave train_size unset for all of them)")
    rng = random.Random(seed)
    if key is None:
        return [items[i] for i in sorted(rng.sample(range(len(items)), n))]
    by_class: dict[object, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_class[key(item)].append(i)
    quota = allocate({c: len(ix) for c, ix in by_class.items()}, n)
    chosen: list[int] = []
    for c in sorted(by_class, key=str):
        chosen += rng.sample(by_class[c], quota[c])
    return [items[i] for i in sorted(chosen)]


def take_fraction(sentences, fraction: float, seed: int = SUBSET_SEED, *, split: str = "train") -> list:
    """The first ⌊fraction·N⌋ items of a fixed shuffle of ``sentences``, kept in input order.

    The shuffle is ``random.Random(seed).shuffle`` of a copy of ``range(N)``; with the default
    seed every training run gets the same subset, and a smaller fraction is a subset of a larger
    one. The chosen items keep their original order (so ``fraction=1.0`` returns the input
    unchanged). ⌊x·N⌋ is computed on the decimal value written (``Fraction(str(x))``) so
    0.29 × 100 is 29, not 28 as float arithmetic would give.
    """
    check_fraction("fraction", fraction)
    items = list(sentences)
    keep = math.floor(Fraction(str(float(fraction))) * len(items))
    if keep == 0:
        raise DataError(
            f"the {split} split has {len(items)} sentence(s); a fraction of {fraction} keeps "
            f"⌊{fraction}·{len(items)}⌋ = 0 of them. Use a fraction of at least "
            f"{1 / max(len(items), 1):.3g}"
        )
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [items[i] for i in sorted(order[:keep])]


def check_fraction(name: str, value) -> None:
    """A fraction of a split must be a number in (0, 1]; else ConfigError naming ``name``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0 < value <= 1:  # NaN fails 0 < value
        raise ConfigError(f"{name} must be a number in (0, 1] (1 = all data), got {value!r}")
