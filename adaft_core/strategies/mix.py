"""DPS-Mix (``specs/dps.md``): Mixout toward W⁰ in Stage I, a frozen-at-stage-start mix in Stage II.

With q = keep_fraction = 1 − p and an anchor A, the forward of every covered Linear uses

    W_eff = ((1 − m)·A + m·W − p·A) / q  =  A + m ⊙ (W − A) / q

- Stage I: A = W⁰ (the pretrained weights), m a Bernoulli(q) mask per *input feature* (a column
  mask shared by all output rows) drawn once per optimizer step (shared by the micro-batches of
  gradient accumulation) from a generator seeded identically on every rank;
- Stage II: A = T (the weights at the stage start), m = M (the selected bool mask, fixed).

Backward gives ∂L/∂W = ∂L/∂W_eff ⊙ m — no 1/q factor (the official Mixout code) — so the
gradient is masked where it is produced. The mixing is a ``torch.nn.utils.parametrize``
parametrisation (no model source is edited) that is installed before each training step and
removed at ``eval_start``: evaluation, checkpoints and ``save_pretrained`` see the raw W under
their original names, and the optimizer keeps the same Parameter objects throughout.

Stage I statistics: Σ g² (g is already ⊙ m, so this is the spec's Σ g² ⊙ m) and the activity
count, stored per column (the column mask makes every entry of a column share it). Selection score
= Σ g² / max(count, 1), times exp(−count / S) when S ≥ 50; top ⌈q·n⌉ per matrix as in DPS-Dense,
ties at the threshold kept. Note: a column never sampled in a Stage I scores 0; with a very short
stage (S = 1 or 2, tiny runs) more than p = 1 − q of the columns can be unsampled, the threshold is then
0 and the tie rule keeps the whole matrix (the ``mask`` event shows ``kept`` = 1). With the recipe's
S (≥ 10 steps) a column stays unsampled with probability p^S ≈ 0.
State: W⁰, T, the statistic, the count and the mask per covered weight (``state_dict``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .dps import StagedStrategy


class _MixFn(torch.autograd.Function):
    """A + m ⊙ (W − A) / q forward; gradient ⊙ m backward (m: bool or 0/1 float, broadcastable)."""

    @staticmethod
    def forward(ctx, w, anchor, mask, keep):
        ctx.save_for_backward(mask)
        return torch.addcmul(anchor, w - anchor, mask, value=1.0 / keep)  # two elementwise passes

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None, None


class MixWeight(nn.Module):
    """The parametrisation of one weight; ``anchor`` and ``mask`` are set by the strategy."""

    def __init__(self, keep: float):
        super().__init__()
        self.keep = keep
        self.anchor: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return _MixFn.apply(w, self.anchor, self.mask, self.keep)


def mixed_weight(w, anchor, mask, keep):
    """The spec's formula written out literally (for tests): ((1 − m)·A + m·W − p·A) / (1 − p)."""
    m = mask.to(w.dtype)
    return ((1 - m) * anchor + m * w - (1 - keep) * anchor) / keep


class DPSMix(StagedStrategy):
    """DPS-Mix. Same options as DPS-Dense."""

    name = "dps-mix"

    def setup(self, model, **kw) -> None:
        super().setup(model, **kw)
        self.modules = {}
        for info in self.infos:
            module_name = info.name.rpartition(".")[0]
            self.modules[info.name] = _root(model).get_submodule(module_name)
        self.param_order = {name: list(m._parameters) for name, m in self.modules.items()}
        with torch.no_grad():
            self.initial = {i.name: i.param.detach().clone() for i in self.infos}
            self.start = {i.name: i.param.detach().clone() for i in self.infos}  # T
        self.counts = {i.name: torch.zeros(i.param.shape[1], device=i.param.device) for i in self.infos}
        self.mixers = {i.name: MixWeight(self.keep_fraction) for i in self.infos}
        self.columns: dict[str, torch.Tensor] = {}
        device = self.infos[0].param.device if self.infos else torch.device("cpu")
        self.generator = torch.Generator(device=device).manual_seed(int(self.seed) * 1_000_003 + 17)
        self.installed = False

    # ---------------------------------------------------------------- install / remove
    def install(self) -> None:
        if self.installed:
            return
        for info in self.infos:
            parametrize.register_parametrization(self.modules[info.name], "weight", self.mixers[info.name],
                                                 unsafe=True)
        self.installed = True

    def remove(self) -> None:
        """Raw weights back under their own names (evaluation, saving, after training)."""
        if not self.installed:
            return
        for info in self.infos:
            module = self.modules[info.name]
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
            order = self.param_order[info.name]  # registration order as before (state_dict order)
            module._parameters = {k: module._parameters[k] for k in order if k in module._parameters} | {
                k: v for k, v in module._parameters.items() if k not in order}
        self.installed = False

    def eval_start(self) -> None:
        self.remove()

    # ---------------------------------------------------------------- stages
    def begin_stage_one(self, step: int) -> None:
        for name in self.stats:
            self.stats[name].zero_()
            self.counts[name].zero_()
            self.mixers[name].anchor = self.initial[name]

    @torch.no_grad()
    def begin_stage_two(self, step: int) -> None:
        for info in self.infos:
            self.start[info.name].copy_(info.param.detach())
            self.mixers[info.name].anchor = self.start[info.name]
            self.mixers[info.name].mask = self.masks[info.name]

    def before_step(self, step: int) -> None:
        super().before_step(step)  # stage changes and the selection
        if self.stage(step) == "I":  # a fresh column mask per optimizer step
            for info in self.infos:
                col = torch.empty(info.param.shape[1], device=info.param.device, dtype=info.param.dtype)
                col.bernoulli_(self.keep_fraction, generator=self.generator)
                self.columns[info.name] = col
                self.mixers[info.name].mask = col[None, :]
        self.install()

    def after_backward(self, step: int) -> None:
        if self.stage(step) != "I":
            return  # Stage II: the backward already gave gradient ⊙ M
        infos, grads = self.grads()
        if self.finite(grads):
            torch._foreach_addcmul_([self.stats[i.name] for i in infos], grads, grads,
                                    value=1.0 / self.grad_scale() ** 2)
            torch._foreach_add_([self.counts[i.name] for i in infos], [self.columns[i.name] for i in infos])

    def score(self, name: str) -> torch.Tensor:
        count = self.counts[name]
        score = self.stats[name] / count.clamp(min=1)[None, :]
        if self.S >= 50:  # frequency penalty favouring rarely sampled entries
            score.mul_(torch.exp(-count / self.S)[None, :])
        return score

    def reference(self, name: str) -> torch.Tensor:
        return self.start[name]

    def state_dict(self) -> dict:
        return {**super().state_dict(), "counts": dict(self.counts), "initial": dict(self.initial),
                "start": dict(self.start)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        for key in ("counts", "initial", "start"):
            for name, value in state.get(key, {}).items():
                getattr(self, key)[name].copy_(value)


def _root(model: nn.Module) -> nn.Module:
    from .scope import unwrap

    return unwrap(model)


__all__ = ["DPSMix", "MixWeight", "mixed_weight"]
