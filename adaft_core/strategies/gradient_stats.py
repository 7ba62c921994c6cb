"""The DPS statistics (``docs/dps.md`` §7–8): what a Stage I accumulates to score the entries of
each covered weight matrix for the next selection.

- :class:`SquaredGradients` (DPS-Dense): Σ g² of the raw — accumulated over micro-batches,
  before clipping, loss scale divided out — gradient of every Stage I step; score = Σ g².
- :class:`ColumnSampledSquaredGradients` (DPS-Mix): the same sum of the gradients that Mixout's
  column mask let through (g is already ⊙ m, so this is the spec's Σ g² ⊙ m) and the activity
  count per column; score = Σ g² / max(count, 1), times exp(−count / S) when S ≥ 50 (favouring
  rarely sampled columns).

The buffers exist during a Stage I only: :meth:`reset` allocates (or zeroes) them at a Stage I
start, :meth:`release` frees them after the selection, so a Stage II holds no statistic. A step
whose gradient has a non-finite entry (an fp16 overflow) adds nothing and is counted in
``skipped_steps`` (over the whole run, reported in ``mask`` events).
"""

from __future__ import annotations

from typing import Any

import torch

from adaft_core.strategies.base import load_tensors
from adaft_core.strategies.scope import ParamInfo


class SquaredGradients:
    """Σ g² per covered weight matrix over the steps of the current Stage I."""

    def __init__(self, infos: list[ParamInfo]):
        self.infos = infos
        self.sums: dict[str, torch.Tensor] | None = None  # fp32, only during a Stage I
        self.skipped_steps = 0

    def reset(self) -> None:
        """A Stage I starts: zero sums (allocated on first use)."""
        if self.sums is None:
            self.sums = {i.name: torch.zeros_like(i.param, dtype=torch.float32) for i in self.infos}
        else:
            for s in self.sums.values():
                s.zero_()

    def release(self) -> None:
        """The selection has used the statistic; a Stage II needs none."""
        self.sums = None

    def add(self, infos: list[ParamInfo], grads: list[torch.Tensor], scale: float, columns=None) -> bool:
        """sums += g² / scale² for the parameters ``infos`` with gradients ``grads``; False (and
        nothing added) when there are none or any entry is non-finite. (``columns``, Mixout's
        column masks of the step, are counted by the DPS-Mix statistic only.)"""
        if not grads:
            return False
        if not bool(torch.stack(torch._foreach_norm(grads)).isfinite().all()):
            self.skipped_steps += 1
            return False
        torch._foreach_addcmul_([self.sums[i.name] for i in infos], grads, grads, value=1.0 / scale ** 2)
        return True

    def score(self, name: str) -> torch.Tensor:
        """The selection score of one matrix (one matrix at a time: no memory spike)."""
        return self.sums[name]

    def state_dict(self) -> dict[str, Any]:
        return {"sums": None if self.sums is None else dict(self.sums), "skipped_steps": self.skipped_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.skipped_steps = int(state["skipped_steps"])
        if state["sums"] is None:
            self.release()
        else:
            self.reset()
            load_tensors(self.sums, state["sums"], "gradient statistics")


class ColumnSampledSquaredGradients(SquaredGradients):
    """DPS-Mix: Σ (g ⊙ m)² plus how often each column was sampled, scored per column count."""

    PENALTY_FROM = 50  # the frequency penalty applies from a stage length of 50 steps on

    def __init__(self, infos: list[ParamInfo], stage_steps: int):
        super().__init__(infos)
        self.stage_steps = stage_steps
        self.counts: dict[str, torch.Tensor] | None = None  # per input column, only during a Stage I

    def reset(self) -> None:
        super().reset()
        if self.counts is None:
            self.counts = {i.name: torch.zeros(i.param.shape[1], device=i.param.device) for i in self.infos}
        else:
            for c in self.counts.values():
                c.zero_()

    def release(self) -> None:
        super().release()
        self.counts = None

    def add(self, infos, grads, scale, columns: dict[str, torch.Tensor] | None = None) -> bool:
        """As :meth:`SquaredGradients.add`; ``columns`` (name → this step's 0/1 column mask) is counted."""
        if not super().add(infos, grads, scale, columns):
            return False
        torch._foreach_add_([self.counts[i.name] for i in infos], [columns[i.name] for i in infos])
        return True

    def score(self, name: str) -> torch.Tensor:
        count = self.counts[name]
        score = self.sums[name] / count.clamp(min=1)[None, :]
        if self.stage_steps >= self.PENALTY_FROM:
            score.mul_(torch.exp(-count / self.stage_steps)[None, :])
        return score

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "counts": None if self.counts is None else dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state["counts"] is not None:
            load_tensors(self.counts, state["counts"], "column counts")
