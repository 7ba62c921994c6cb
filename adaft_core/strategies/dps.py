"""DPS-Dense and DPS-Mix (``docs/dps.md`` §6–8), composed of small parts:

- the stage schedule (``stages.py``, pure functions of the step and the stage length S);
- the statistic a Stage I accumulates (``gradient_stats.py``: Σ g², or for DPS-Mix Σ (g ⊙ m)²
  with per-column counts);
- the selector (``masks.top_fraction_masks``: per matrix the top ⌈keep · n⌉ scores, ties kept);
- the masker (``masks.mask_gradients``: DPS-Dense's Stage II gradient ⊙ M, before clipping);
- for DPS-Mix the mixing piece (``mix.Mixout``), which masks the gradient in its backward instead;
- the stage-start weights T (:class:`StageStartWeights`): DPS-Mix's Stage II anchor; for DPS-Dense
  only the reference of the leakage telemetry, so kept on rank 0 with ``telemetry`` on only.

Options (``adaft_core/settings/strategy_options.py``): ``keep_fraction`` (default 0.7, the fraction of each
covered weight matrix updated in Stage II; the DPS paper's p = 1 − keep_fraction), ``update_ratio``
(default 0.05; S = int(update_ratio · total_steps), in the adaptive mode int(3 · update_ratio ·
steps_per_epoch)), ``stage_steps`` (an explicit S), ``save_masks`` (``latest``/``every``/``none``),
``telemetry`` (default True: drift at every validation, leakage at the end of each Stage II).

Everything is keyed by parameter name (never by call order), so gradient accumulation, extra
forwards or evaluation passes cannot misalign statistics and masks. Under data parallelism the
hooks see DDP's all-reduced gradients, so every rank computes the same statistics and selects the
same masks without communication.

Memory per covered weight: during a Stage I the fp32 statistic (DPS-Mix: plus a count per column);
during a Stage II the bool mask and T (DPS-Dense: only on rank 0 with telemetry). DPS-Mix also keeps
W⁰. Buffers a stage does not need are released when it starts.
"""

from __future__ import annotations

from typing import Any

import torch

from adaft_core.strategies.base import UpdateStrategy, load_tensors, loss_scale, params_device, seeded_generator
from adaft_core.strategies.gradient_stats import ColumnSampledSquaredGradients, SquaredGradients
from adaft_core.strategies.masks import mask_gradients, top_fraction_masks
from adaft_core.strategies.mix import Mixout
from adaft_core.strategies.scope import ParamInfo, dps_scope, num_heads
from adaft_core.strategies.stages import is_stage_start, stage_length, stage_of, stage_start
from adaft_core.strategies.telemetry import MaskReporter, leakage


class StageStartWeights:
    """T: a copy of the covered weights taken at each Stage II start (released at a Stage I start)."""

    def __init__(self, infos: list[ParamInfo]):
        self.infos = infos
        self.weights: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def capture(self) -> None:
        if self.weights is None:
            self.weights = {i.name: torch.empty_like(i.param) for i in self.infos}
        for info in self.infos:
            self.weights[info.name].copy_(info.param.detach())

    def release(self) -> None:
        self.weights = None

    def state_dict(self) -> dict[str, torch.Tensor] | None:
        return None if self.weights is None else dict(self.weights)

    def load_state_dict(self, state: dict[str, torch.Tensor] | None) -> None:
        if state is None:
            self.release()
            return
        if self.weights is None:
            self.weights = {i.name: torch.empty_like(i.param) for i in self.infos}
        load_tensors(self.weights, state, "stage-start weights")


class DPSStrategy(UpdateStrategy):
    """The DPS stage machine; ``mixing`` picks DPS-Mix's parts over DPS-Dense's."""

    name = "dps-dense"
    mixing = False

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.keep_fraction, self.update_ratio = o["keep_fraction"], o["update_ratio"]
        self.stage_steps, self.save_masks = o["stage_steps"], o["save_masks"]
        self.masks: dict[str, torch.Tensor] = {}

    def setup(self, model, **kw) -> None:
        super().setup(model, **kw)
        self.infos = dps_scope(model)
        self.S = stage_length(update_ratio=self.update_ratio, total_steps=self.total_steps,
                              steps_per_epoch=self.steps_per_epoch, stage_steps=self.stage_steps)
        self.reporter = MaskReporter(self.name, self.keep_fraction, self.infos, num_heads(model), self.save_masks)
        self.reporter.enabled, self.reporter.emit = self.is_main, self.emit
        if self.mixing:
            self.statistic = ColumnSampledSquaredGradients(self.infos, self.S)
            generator = seeded_generator(params_device(self.infos), self.seed, salt=17)
            self.mixout: Mixout | None = Mixout(model, self.infos, self.keep_fraction, generator)
        else:
            self.statistic = SquaredGradients(self.infos)
            self.mixout = None
        keep_start = self.mixing or (self.telemetry and self.is_main)
        self.stage_start_weights = StageStartWeights(self.infos) if keep_start else None

    def on_train_start(self, run_dir=None) -> None:
        super().on_train_start(run_dir)
        self.reporter.run_dir = run_dir

    # ---------------------------------------------------------------- the hooks
    def stage(self, step: int) -> str:
        return stage_of(step, self.S)

    def before_step(self, step: int) -> None:
        if is_stage_start(step, self.S):
            if self.stage(step) == "I":
                if step > 1:
                    self._stage_end_telemetry(step - 1)
                self.statistic.reset()
                if self.stage_start_weights is not None:
                    self.stage_start_weights.release()
            else:
                self._select(step)
        if self.mixout is not None:
            if self.stage(step) == "I":
                self.mixout.stage_one_step()
            else:
                self.mixout.stage_two_step(self.stage_start_weights.weights, self.masks)
            self.mixout.install()

    def after_backward(self, step: int) -> None:
        infos = [i for i in self.infos if i.param.grad is not None]
        grads = [i.param.grad for i in infos]
        if self.stage(step) == "I":  # the raw (accumulated, pre-clipping) gradient, unscaled
            columns = self.mixout.columns if self.mixout is not None else None
            self.statistic.add(infos, grads, loss_scale(self.accelerator), columns)
        elif self.mixout is None:  # DPS-Dense Stage II: gradient ⊙ M, before clipping
            mask_gradients(infos, self.masks)
        # DPS-Mix Stage II: the mixed forward's backward already gave gradient ⊙ M

    def eval_start(self) -> None:
        if self.mixout is not None:
            self.mixout.remove()

    def remove(self) -> None:
        """Take DPS-Mix's mixing out of the model (raw forwards); nothing for DPS-Dense."""
        self.eval_start()

    # ---------------------------------------------------------------- selection and telemetry
    def _select(self, step: int) -> None:
        self.masks = top_fraction_masks([i.name for i in self.infos], self.statistic.score, self.keep_fraction)
        self.statistic.release()
        if self.stage_start_weights is not None:
            self.stage_start_weights.capture()
        self.reporter.report(step, "II", self.masks, skipped_steps=self.statistic.skipped_steps,
                             stage_steps=self.S)

    def _stage_end_telemetry(self, step: int) -> None:
        if self.telemetry and self.is_main:
            self.emit("telemetry", trigger="stage_end", step=step, stage="II", strategy=self.name,
                      leakage=self.leakage(step))

    def leakage(self, step: int) -> dict | None:
        start = self.stage_start_weights.weights if self.stage_start_weights is not None else None
        if step < 1 or self.stage(step) != "II" or not self.masks or start is None:
            return None
        return leakage(((i, start[i.name], self.masks[i.name]) for i in self.infos), stage_start(step, self.S))

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {**super().state_dict(), "stage_steps": self.S, "masks": dict(self.masks),
                 "statistic": self.statistic.state_dict(), "reporter": self.reporter.state_dict()}
        if self.stage_start_weights is not None:
            state["stage_start_weights"] = self.stage_start_weights.state_dict()
        if self.mixout is not None:
            state["mixout"] = self.mixout.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if int(state["stage_steps"]) != self.S:
            raise ValueError(f"the saved {self.name} state has stage length {state['stage_steps']}, "
                             f"this run computes {self.S} (different options or data?)")
        device = params_device(self.infos)
        self.masks = {name: m.to(device, torch.bool) for name, m in state["masks"].items()}
        self.statistic.load_state_dict(state["statistic"])
        self.reporter.load_state_dict(state["reporter"])
        if self.stage_start_weights is not None:
            if "stage_start_weights" not in state:
                raise ValueError(f"the saved {self.name} state lacks the stage-start weights")
            self.stage_start_weights.load_state_dict(state["stage_start_weights"])
        if self.mixout is not None:
            self.mixout.load_state_dict(state["mixout"])


class DPSDense(DPSStrategy):
    """DPS-Dense: full Stage I updates collecting Σ g²; Stage II updates the top entries only."""

    name = "dps-dense"


class DPSMix(DPSStrategy):
    """DPS-Mix: Mixout toward W⁰ in Stage I, the frozen-at-stage-start mix in Stage II."""

    name = "dps-mix"
    mixing = True
