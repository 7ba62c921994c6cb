"""DPS-Mix's mixing piece (``docs/dps.md`` §8): Mixout toward W⁰ in Stage I, a frozen-at-stage-start
mix in Stage II. The strategy itself (stages, statistic, selection) is ``dps.py``'s ``DPSMix``.

With q = keep_fraction = 1 − p and an anchor A, the forward of every covered Linear uses

    W_eff = ((1 − m)·A + m·W − p·A) / q  =  A + m ⊙ (W − A) / q

- Stage I: A = W⁰ (the pretrained weights), m a Bernoulli(q) mask per *input feature* (a column
  mask shared by all output rows) drawn once per optimizer step (shared by the micro-batches of
  gradient accumulation) from a generator seeded identically on every rank;
- Stage II: A = T (the weights at the stage start), m = M (the selected bool mask, fixed).

Backward gives ∂L/∂W = ∂L/∂W_eff ⊙ m — no 1/q factor (the official Mixout code) — so the
gradient is masked where it is produced.

How: a forward pre-hook on each covered Linear puts W_eff into the module's instance ``__dict__``
under ``weight`` (found before the registered Parameter, which stays where it is) and a forward
hook takes it out again. No model source is edited; parameter names, ``state_dict`` keys and the
optimizer's Parameter objects never change, so evaluation, checkpoints and ``save_pretrained``
see the raw W. The hooks are installed before each training step and removed at ``eval_start``.
(``torch.nn.utils.parametrize`` is not used: registering a parametrisation calls ``set_`` on the
Parameter, which detaches DistributedDataParallel's gradient hooks — every DDP run crashed at its
second step.)

Note: a column never sampled in a Stage I scores 0 (``gradient_stats.py``); with a very short
stage (S = 1 or 2, tiny runs) more than p = 1 − q of the columns can be unsampled, the threshold is
then 0 and the tie rule keeps the whole matrix (the ``mask`` event shows ``kept`` = 1). With the
recipe's S (≥ 10 steps) a column stays unsampled with probability p^S ≈ 0.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from adaft_core.strategies.base import load_tensors
from adaft_core.strategies.scope import ParamInfo, unwrap


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


def mixed_weight(w, anchor, mask, keep):
    """The spec's formula written out literally (for tests): ((1 − m)·A + m·W − p·A) / (1 − p)."""
    m = mask.to(w.dtype)
    return ((1 - m) * anchor + m * w - (1 - keep) * anchor) / keep


class Mixout:
    """The mixed forward of the covered Linears: W⁰, the anchors and masks, the column draws."""

    def __init__(self, model: nn.Module, infos: list[ParamInfo], keep: float, generator: torch.Generator):
        root = unwrap(model)
        self.infos, self.keep, self.generator = infos, keep, generator
        self.modules = {i.name: root.get_submodule(i.name.rpartition(".")[0]) for i in infos}
        with torch.no_grad():
            self.initial = {i.name: i.param.detach().clone() for i in infos}  # W⁰
        self.anchor: dict[str, torch.Tensor] = {}
        self.mask: dict[str, torch.Tensor] = {}
        self.columns: dict[str, torch.Tensor] = {}  # this step's column masks (Stage I)
        self.handles: list = []

    # ---------------------------------------------------------------- per step
    def stage_one_step(self) -> None:
        """Anchor W⁰ and a fresh Bernoulli(q) column mask per matrix (once per optimizer step)."""
        for info in self.infos:
            col = torch.empty(info.param.shape[1], device=info.param.device, dtype=info.param.dtype)
            col.bernoulli_(self.keep, generator=self.generator)
            self.columns[info.name] = col
            self.anchor[info.name], self.mask[info.name] = self.initial[info.name], col[None, :]

    def stage_two_step(self, start: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> None:
        """Anchor T (the stage-start weights) and the selected mask M."""
        for info in self.infos:
            self.anchor[info.name], self.mask[info.name] = start[info.name], masks[info.name]

    def effective_weight(self, name: str) -> torch.Tensor:
        """W_eff of one covered matrix, differentiable w.r.t. the raw W."""
        w = self.modules[name]._parameters["weight"]
        return _MixFn.apply(w, self.anchor[name], self.mask[name], self.keep)

    # ---------------------------------------------------------------- install / remove
    @property
    def installed(self) -> bool:
        return bool(self.handles)

    def install(self) -> None:
        if self.installed:
            return
        for name, module in self.modules.items():
            self.handles.append(module.register_forward_pre_hook(partial(self._mix_in, name)))
            self.handles.append(module.register_forward_hook(_mix_out))

    def remove(self) -> None:
        """Raw weights in every forward again (evaluation, saving, after training)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []
        for module in self.modules.values():
            module.__dict__.pop("weight", None)

    def _mix_in(self, name: str, module: nn.Module, args) -> None:
        module.__dict__["weight"] = self.effective_weight(name)  # shadows the Parameter in this forward

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {"initial": dict(self.initial), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_tensors(self.initial, state["initial"], "Mixout anchors W⁰")
        self.generator.set_state(state["generator"].to("cpu", torch.uint8))


def _mix_out(module: nn.Module, args, output) -> None:
    module.__dict__.pop("weight", None)


__all__ = ["Mixout", "mixed_weight"]
