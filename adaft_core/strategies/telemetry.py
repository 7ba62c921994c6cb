"""Live telemetry of the sparse strategies: ``mask`` events and the ``telemetry`` event.

``mask`` (the event contract, ``docs/events.md`` §3; ``docs/dps.md`` §11) — at every selection:
``step`` (the optimizer step the mask first applies to; 0 for ChildTuning-D's mask chosen before
training), ``stage``, ``strategy``, ``keep_fraction``, ``modules``: one entry per covered parameter,
in model order, with ``name``, ``layer`` (block index; null for pooler/head/embeddings), ``kind``,
``kept`` (fraction of entries kept), ``overlap_prev`` (Jaccard with this parameter's previous
reported mask; null the first time) and, for attention matrices, ``per_head`` (kept fraction per
head). Extra fields: ``selection`` (1, 2, …), ``kept_total``, ``skipped_steps`` (statistics steps
dropped as non-finite), ``file`` (the persisted mask file relative to the run folder, or null).

``telemetry`` (this module's extension of the contract) — ``trigger``: ``"validation"`` (emitted by
the engine after every validation's ``decision``) or ``"stage_end"`` (a DPS Stage II has just
ended; emitted before the next step's events); ``epoch`` (validation only), ``step`` (the last
optimizer step taken), ``stage`` (of that step), ``strategy``; ``drift``: block index (as a
string), ``"pooler"`` or ``"head"`` → ‖W − W⁰‖ / ‖W⁰‖ over that group's covered weight matrices
(the DPS scope, for every strategy, so runs compare with vanilla), ``drift_matrices``: parameter
name → the same per matrix (validation only); ``leakage``: null, or in / at the end of a Stage II
(and for ChildTuning-D since the start) ``{"ratio", "rms_ratio", "by_layer", "since_step"}`` — the
update of the *unselected* entries relative to the selected ones since ``since_step``:
``ratio = ‖ΔW ⊙ ¬M‖ / ‖ΔW ⊙ M‖`` and ``rms_ratio`` the same per entry (root mean square), which
AdamW momentum and weight decay make non-zero (``docs/dps.md`` §2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from adaft_core.strategies.masks import LATEST, MASK_DIR, SAVE_MODES, count_bits, head_fractions, jaccard_packed, pack, save_masks
from adaft_core.strategies.scope import ParamInfo


def _group(info: ParamInfo) -> str:
    return str(info.layer) if info.layer is not None else info.kind


class MaskReporter:
    """Turns a selection into a ``mask`` event and (rank 0) a bit-packed file in the run folder."""

    def __init__(self, strategy: str, keep_fraction: float, infos: list[ParamInfo], heads: int | None,
                 save: str = "latest"):
        if save not in SAVE_MODES:
            from adaft_core.errors import ConfigError, choices_message

            raise ConfigError(choices_message("save_masks", save, SAVE_MODES))
        self.strategy, self.keep_fraction, self.heads, self.save = strategy, keep_fraction, heads, save
        self.infos = {i.name: i for i in infos}
        self.prev: dict[str, np.ndarray] = {}
        self.selections = 0
        self.run_dir: Path | None = None
        self.enabled = True  # False on ranks other than 0: they emit nothing and write nothing
        self.emit: Callable[..., object] = lambda *a, **k: None

    def report(self, step: int, stage: str | None, masks: dict[str, torch.Tensor], **extra) -> None:
        self.selections += 1
        if not self.enabled:
            return
        modules, packed, kept_sum, n_sum = [], {}, 0, 0
        for name, mask in masks.items():
            info = self.infos[name]
            cpu = mask.detach().to("cpu", torch.bool)
            bits = pack(cpu)
            kept = count_bits(bits)
            kept_sum, n_sum = kept_sum + kept, n_sum + cpu.numel()
            prev = self.prev.get(name)
            entry = {**info.describe(), "kept": kept / max(1, cpu.numel()),
                     "overlap_prev": jaccard_packed(bits, prev) if prev is not None else None}
            per_head = head_fractions(cpu, info.kind, self.heads)
            if per_head is not None:
                entry["per_head"] = per_head
            modules.append(entry)
            packed[name] = bits
        self.prev = packed
        file = self._persist(step, stage, packed, masks)
        self.emit("mask", step=step, stage=stage, strategy=self.strategy, keep_fraction=self.keep_fraction,
                  modules=modules, selection=self.selections, kept_total=kept_sum / max(1, n_sum),
                  file=file, **extra)

    def state_dict(self) -> dict:
        """Selections so far and the last reported masks, bit-packed (for ``overlap_prev``)."""
        return {"selections": self.selections,
                "previous": {name: torch.from_numpy(bits) for name, bits in self.prev.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.selections = int(state["selections"])
        self.prev = ({name: t.cpu().numpy().astype(np.uint8) for name, t in state["previous"].items()}
                     if self.enabled else {})

    def _persist(self, step, stage, packed, masks) -> str | None:
        if self.save == "none" or self.run_dir is None:
            return None
        name = LATEST if self.save == "latest" else f"step-{step:07d}.safetensors"
        params = {n: {**self.infos[n].describe(), "shape": list(masks[n].shape)} for n in packed}
        meta = {"strategy": self.strategy, "step": step, "stage": stage, "keep_fraction": self.keep_fraction,
                "num_heads": self.heads, "selection": self.selections}
        path = save_masks(Path(self.run_dir) / MASK_DIR / name, packed, params, meta)
        return str(path.relative_to(self.run_dir))


class DriftTracker:
    """Keeps W⁰ of the covered weight matrices on the host; ``drift()`` compares W with it."""

    def __init__(self, infos: Iterable[ParamInfo]):
        self.infos = [i for i in infos if i.matrix]
        self.initial = {i.name: i.param.detach().to("cpu", torch.float32, copy=True) for i in self.infos}

    def initial_on(self, info: ParamInfo) -> torch.Tensor:
        return self.initial[info.name].to(info.param.device, non_blocking=True)

    @torch.no_grad()
    def drift(self) -> dict:
        diffs, norms = [], []
        for info in self.infos:
            w0 = self.initial_on(info)
            diffs.append((info.param.detach().float() - w0).pow(2).sum())
            norms.append(w0.pow(2).sum())
        if not self.infos:
            return {"drift": {}, "drift_matrices": {}}
        d, n = torch.stack(diffs).cpu().tolist(), torch.stack(norms).cpu().tolist()
        groups: dict[str, list[float]] = {}
        for info, di, ni in zip(self.infos, d, n):
            g = groups.setdefault(_group(info), [0.0, 0.0])
            g[0] += di
            g[1] += ni
        return {"drift": {k: (v[0] ** 0.5) / max(v[1] ** 0.5, 1e-30) for k, v in groups.items()},
                "drift_matrices": {i.name: (di ** 0.5) / max(ni ** 0.5, 1e-30)
                                   for i, di, ni in zip(self.infos, d, n)}}


@torch.no_grad()
def leakage(items: Iterable[tuple[ParamInfo, torch.Tensor, torch.Tensor]], since_step: int) -> dict | None:
    """``items``: (info, reference weights T, bool mask M). Update ΔW = W − T of the unselected
    entries relative to the selected ones, in total and per block."""
    rows, infos = [], []
    for info, ref, mask in items:
        d2 = (info.param.detach().float() - ref.float()).pow(2)
        sel = torch.where(mask, d2, 0).sum()
        rows.append(torch.stack([d2.sum() - sel, sel, mask.sum().to(d2.dtype)]))
        infos.append(info)
    if not rows:
        return None
    values = torch.stack(rows).cpu().tolist()
    total = [0.0, 0.0, 0.0, 0.0]
    groups: dict[str, list[float]] = {}
    for info, (unsel, sel, n_sel) in zip(infos, values):
        n_unsel = info.param.numel() - n_sel
        for acc in (total, groups.setdefault(_group(info), [0.0, 0.0, 0.0, 0.0])):
            acc[0] += unsel
            acc[1] += sel
            acc[2] += n_unsel
            acc[3] += n_sel

    def ratio(a):
        return (a[0] ** 0.5) / (a[1] ** 0.5) if a[1] > 0 else None

    def rms_ratio(a):
        return ((a[0] / a[2]) ** 0.5) / ((a[1] / a[3]) ** 0.5) if a[1] > 0 and a[2] > 0 and a[3] > 0 else None

    return {"ratio": ratio(total), "rms_ratio": rms_ratio(total),
            "by_layer": {k: ratio(v) for k, v in groups.items()}, "since_step": since_step}
