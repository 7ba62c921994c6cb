"""DPS-Dense (``specs/dps.md``) and the stage machinery it shares with DPS-Mix.

Options (constructor keyword arguments, ``strategy_options`` in the config):

- ``keep_fraction`` (default 0.7) — fraction of each covered weight matrix updated in Stage II.
  The DPS paper's ``p`` (fraction NOT updated, default 0.3) is ``1 - keep_fraction``.
- ``update_ratio`` (default 0.05) — stage length S = int(update_ratio · total_steps), or in the
  adaptive mode int(3 · update_ratio · steps_per_epoch) (``stages.py``).
- ``stage_steps`` — an explicit S (overrides ``update_ratio``).
- ``save_masks`` — ``latest`` (default), ``every`` or ``none`` (``masks.py``).
- ``telemetry`` (default True) — drift at every validation, leakage at the end of each Stage II.

Everything is keyed by parameter name (never by call order), so gradient accumulation, extra
forwards or evaluation passes cannot misalign statistics and masks. Under data parallelism the
hooks see DDP's all-reduced gradients, so every rank computes the same statistics and selects the
same masks without communication.

DPS-Dense state: one fp32 buffer per covered weight — the Σ g² statistic during Stage I, reused
during Stage II to hold the weights at the stage start (for the leakage telemetry, no extra
memory) — and one bool mask.
"""

from __future__ import annotations

import math

import torch

from .base import UpdateStrategy, check_fraction, check_positive_int
from .masks import kept_count, matrix_threshold
from .stages import is_stage_start, stage_length, stage_of
from .scope import dps_scope, num_heads
from .telemetry import MaskReporter, leakage


class StagedStrategy(UpdateStrategy):
    """Stage schedule, per-matrix top-k selection at each Stage II start, reporting."""

    name = "dps"

    def __init__(self, *, keep_fraction: float = 0.7, update_ratio: float = 0.05, stage_steps: int | None = None,
                 save_masks: str = "latest", telemetry: bool = True):
        super().__init__(telemetry=telemetry)
        self.keep_fraction = check_fraction("keep_fraction", keep_fraction)
        self.update_ratio = check_fraction("update_ratio", update_ratio)
        self.stage_steps = check_positive_int("stage_steps", stage_steps)
        self.save_masks = save_masks
        self.reporter = MaskReporter(self.name, self.keep_fraction, [], None, save_masks)  # validates
        self.masks: dict[str, torch.Tensor] = {}
        self.skipped_steps = 0

    # ---------------------------------------------------------------- setup
    def setup(self, model, **kw) -> None:
        super().setup(model, **kw)
        self.infos = dps_scope(model)
        self.S = stage_length(update_ratio=self.update_ratio, total_steps=self.total_steps,
                              steps_per_epoch=self.steps_per_epoch, stage_steps=self.stage_steps)
        self.reporter = MaskReporter(self.name, self.keep_fraction, self.infos, num_heads(model), self.save_masks)
        self.reporter.enabled = self.is_main
        self.reporter.emit = self.emit
        self.stats = {i.name: torch.zeros_like(i.param, dtype=torch.float32) for i in self.infos}

    def on_train_start(self, run_dir=None) -> None:
        super().on_train_start(run_dir)
        self.reporter.run_dir = run_dir

    # ---------------------------------------------------------------- schedule
    def stage(self, step: int) -> str:
        return stage_of(step, self.S)

    def before_step(self, step: int) -> None:
        if not is_stage_start(step, self.S):
            return
        if self.stage(step) == "I":
            if step > 1:
                self._stage_end(step - 1)
            self.begin_stage_one(step)
        else:
            self._select(step)

    def _stage_end(self, step: int) -> None:
        if self.telemetry and self.is_main:
            self.emit("telemetry", trigger="stage_end", step=step, stage="II", strategy=self.name,
                      leakage=self.leakage(step))

    # ---------------------------------------------------------------- statistics
    def grads(self) -> tuple[list, list]:
        """(infos, gradients) of covered weights that have a gradient this step."""
        pairs = [(i, i.param.grad) for i in self.infos if i.param.grad is not None]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def finite(self, grads: list[torch.Tensor]) -> bool:
        """False (and counted) when any gradient is non-finite: an overflow step adds nothing."""
        if not grads:
            return False
        ok = bool(torch.stack(torch._foreach_norm(grads)).isfinite().all())
        if not ok:
            self.skipped_steps += 1
        return ok

    def grad_scale(self) -> float:
        """The mixed-precision loss scale in the raw gradients (1.0 without fp16)."""
        scaler = getattr(self.accelerator, "scaler", None)
        return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else 1.0

    def accumulate(self) -> None:
        """Stage I: statistic += g² of the raw (accumulated, pre-clipping, unscaled) gradient."""
        infos, grads = self.grads()
        if self.finite(grads):
            torch._foreach_addcmul_([self.stats[i.name] for i in infos], grads, grads,
                                    value=1.0 / self.grad_scale() ** 2)

    # ---------------------------------------------------------------- selection
    def score(self, name: str) -> torch.Tensor:
        """The selection score of one matrix (computed one matrix at a time: no memory spike)."""
        return self.stats[name]

    @torch.no_grad()
    def _select(self, step: int) -> None:
        masks = {}
        for info in self.infos:
            score = torch.nan_to_num(self.score(info.name).float(), nan=0.0, posinf=torch.finfo(torch.float32).max)
            k = kept_count(score.numel(), self.keep_fraction)
            masks[info.name] = score >= matrix_threshold(score, k)
        self.masks = masks
        self.begin_stage_two(step)
        self.reporter.report(step, "II", self.masks, skipped_steps=self.skipped_steps, stage_steps=self.S)

    # ---------------------------------------------------------------- DPS-Dense specifics
    def begin_stage_one(self, step: int) -> None:
        for s in self.stats.values():
            s.zero_()

    @torch.no_grad()
    def begin_stage_two(self, step: int) -> None:
        for info in self.infos:  # the buffer now holds the stage-start weights (leakage reference)
            self.stats[info.name].copy_(info.param.detach())

    def after_backward(self, step: int) -> None:
        if self.stage(step) == "I":
            self.accumulate()
            return
        infos, grads = self.grads()  # Stage II: gradient ⊙ mask, before clipping
        if grads:
            torch._foreach_mul_(grads, [self.masks[i.name] for i in infos])

    def reference(self, name: str) -> torch.Tensor:
        """The weights at the start of the current Stage II."""
        return self.stats[name]

    def leakage(self, step: int) -> dict | None:
        if step < 1 or self.stage(step) != "II" or not self.masks:
            return None
        start = (math.ceil(step / self.S) - 1) * self.S + 1
        return leakage(((i, self.reference(i.name), self.masks[i.name]) for i in self.infos), start)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {"stage_steps": self.S, "masks": dict(self.masks), "stats": dict(self.stats),
                "skipped_steps": self.skipped_steps, "selections": self.reporter.selections}

    def load_state_dict(self, state: dict) -> None:
        self.masks = {k: v.to(self.stats[k].device) for k, v in state["masks"].items()}
        for k, v in state["stats"].items():
            self.stats[k].copy_(v)
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.reporter.selections = int(state.get("selections", 0))


class DPSDense(StagedStrategy):
    """DPS-Dense: full Stage I updates collecting Σ g²; Stage II updates the top entries only."""

    name = "dps-dense"
