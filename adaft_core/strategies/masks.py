"""Mask helpers shared by the sparse strategies: selection thresholds, the DPS selector (top
fraction per matrix), the masker (gradient ⊙ mask), bit-packed persistence, overlap (Jaccard)
between masks or runs, and where inside a matrix the kept entries lie.

Files: ``<run_dir>/masks/latest.safetensors`` (``save_masks="latest"``, the default, overwritten
atomically at every selection) or ``masks/step-0000123.safetensors`` per selection
(``save_masks="every"``). Each holds one uint8 tensor per parameter name — the bool mask flattened
in row-major order and packed 8 entries per byte (``numpy.packbits``) — and JSON metadata:
``format``, ``strategy``, ``step``, ``stage``, ``keep_fraction``, ``num_heads`` and ``params``
(name → ``shape``, ``layer``, ``kind``). safetensors holds no code, so loading a mask file from
someone else is safe.

Compare two runs: ``mask_overlap(load_masks(run_a), load_masks(run_b))`` → name → Jaccard.
Dashboard summary: ``mask_summary(load_masks(run))`` → name → kept fraction per head / neuron.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from adaft_core.settings.strategy_options import SAVE_MASKS

FORMAT = "adaft-masks/1"
MASK_DIR = "masks"
LATEST = "latest.safetensors"
SAVE_MODES = SAVE_MASKS  # declared with the strategy options
HEAD_ROW_KINDS = ("q", "k", "v")  # heads are row blocks of Q, K, V …
HEAD_COL_KINDS = ("o",)  # … and column blocks of the attention output


def kept_count(n: int, keep_fraction: float) -> int:
    """⌈keep · n⌉ (at least 1), robust to float noise (0.7 · 100 = 70.00000000000001)."""
    return min(n, max(1, math.ceil(round(keep_fraction * n, 6))))


def matrix_threshold(score: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th largest value of ``score``: ``score >= threshold`` keeps k entries plus ties."""
    flat = score.reshape(-1)
    return flat.kthvalue(flat.numel() - k + 1).values


def global_threshold(tensors: list[torch.Tensor], k: int) -> float:
    """The k-th largest value over several non-negative float32 tensors, without concatenating.

    Bisection over the float32 bit patterns (ordered like the values for x >= 0): 31 counting
    passes, each one reduction per tensor and one host sync.
    """
    views = [t.detach().reshape(-1).to(torch.float32).view(torch.int32) for t in tensors]
    lo, hi = 0, 0x7F800000  # +0.0 .. +inf
    while lo < hi:
        mid = (lo + hi + 1) // 2
        count = int(torch.stack([(v >= mid).sum() for v in views]).sum())
        if count >= k:
            lo = mid
        else:
            hi = mid - 1
    return float(np.array([lo], dtype=np.int32).view(np.float32)[0])


@torch.no_grad()
def top_fraction_masks(names: Iterable[str], score: Callable[[str], torch.Tensor],
                       keep_fraction: float) -> dict[str, torch.Tensor]:
    """The DPS selector: per matrix, keep the ⌈keep · n⌉ highest scores (ties at the threshold kept).

    ``score(name)`` is computed one matrix at a time (no memory spike); NaN scores count as 0.
    """
    masks = {}
    for name in names:
        s = torch.nan_to_num(score(name).float(), nan=0.0, posinf=torch.finfo(torch.float32).max)
        masks[name] = s >= matrix_threshold(s, kept_count(s.numel(), keep_fraction))
    return masks


@torch.no_grad()
def mask_gradients(infos, masks: dict[str, torch.Tensor]) -> None:
    """The masker: ``p.grad ⊙ mask`` (no rescaling) for every covered parameter with a gradient."""
    pairs = [(i.param.grad, masks[i.name]) for i in infos if i.param.grad is not None]
    if pairs:
        torch._foreach_mul_([p[0] for p in pairs], [p[1] for p in pairs])


_BITS_IN_BYTE = np.array([bin(b).count("1") for b in range(256)], dtype=np.uint8)


def count_bits(packed: np.ndarray) -> int:
    """Set bits in a uint8 array (``np.bitwise_count`` needs NumPy >= 2; this works from 1.24)."""
    return int(_BITS_IN_BYTE[packed].sum(dtype=np.int64))


def pack(mask: torch.Tensor) -> np.ndarray:
    return np.packbits(mask.detach().reshape(-1).to("cpu", torch.bool).numpy())


def unpack(packed: np.ndarray, shape) -> torch.Tensor:
    n = int(np.prod(shape)) if len(shape) else 1
    return torch.from_numpy(np.unpackbits(packed, count=n).astype(bool)).reshape(tuple(shape))


def jaccard_packed(a: np.ndarray, b: np.ndarray) -> float:
    union = count_bits(a | b)
    return 1.0 if union == 0 else count_bits(a & b) / union


def jaccard(a: torch.Tensor, b: torch.Tensor) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


@dataclass
class MaskSet:
    """Masks read back from a file: name → bool tensor, plus the file's metadata."""

    masks: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)

    @property
    def params(self) -> dict[str, dict]:
        return self.meta.get("params", {})


def save_masks(path: str | Path, masks: dict[str, torch.Tensor | np.ndarray], params: dict[str, dict],
               meta: dict) -> Path:
    """Write bit-packed masks atomically (temporary file, then rename)."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: (m if isinstance(m, np.ndarray) else pack(m)) for name, m in masks.items()}
    metadata = {"format": FORMAT, "meta": json.dumps({**meta, "params": params})}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def mask_files(run_dir: str | Path) -> list[Path]:
    """The per-selection files of a run, in step order (``save_masks="every"``)."""
    return sorted((Path(run_dir) / MASK_DIR).glob("step-*.safetensors"))


def load_masks(path: str | Path) -> MaskSet:
    """Read a mask file, or a run folder's latest masks (``latest`` or its last step file)."""
    from safetensors import safe_open

    path = Path(path)
    if path.is_dir():
        latest = path / MASK_DIR / LATEST
        files = [latest] if latest.exists() else mask_files(path)
        if not files:
            raise FileNotFoundError(f"no mask files in {path / MASK_DIR}")
        path = files[-1]
    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{path} is not an adaft mask file (format {metadata.get('format')!r})")
        meta = json.loads(metadata["meta"])
        masks = {name: unpack(f.get_tensor(name), meta["params"][name]["shape"]) for name in f.keys()}
    return MaskSet(masks, meta)


def _as_masks(x) -> dict[str, torch.Tensor]:
    if isinstance(x, (str, Path)):
        x = load_masks(x)
    return x.masks if isinstance(x, MaskSet) else x


def mask_overlap(a, b) -> dict[str, float]:
    """Per-matrix Jaccard overlap of two mask sets (``MaskSet``, dict, file or run folder);
    only names present in both with the same shape are compared."""
    ma, mb = _as_masks(a), _as_masks(b)
    return {name: jaccard(ma[name].bool(), mb[name].bool()) for name in ma
            if name in mb and ma[name].shape == mb[name].shape}


def head_fractions(mask: torch.Tensor, kind: str, heads: int | None) -> list[float] | None:
    """Kept fraction per attention head: row blocks of Q/K/V, column blocks of O."""
    if not heads or mask.ndim != 2:
        return None
    m = mask.float()
    if kind in HEAD_ROW_KINDS and m.shape[0] % heads == 0:
        return m.reshape(heads, -1).mean(1).tolist()
    if kind in HEAD_COL_KINDS and m.shape[1] % heads == 0:
        return m.reshape(m.shape[0], heads, -1).mean((0, 2)).tolist()
    return None


def neuron_fractions(mask: torch.Tensor, kind: str) -> list[float] | None:
    """Kept fraction per FFN neuron: rows of FFN-in, columns of FFN-out."""
    if mask.ndim != 2:
        return None
    if kind == "ffn_in":
        return mask.float().mean(1).tolist()
    if kind == "ffn_out":
        return mask.float().mean(0).tolist()
    return None


def downsample(mask: torch.Tensor, size: int = 64) -> list[list[float]]:
    """A mask image at most ``size`` × ``size``: mean kept fraction per block."""
    m = mask.float().reshape(mask.shape[0], -1) if mask.ndim >= 2 else mask.float().reshape(1, -1)
    out = torch.nn.functional.adaptive_avg_pool2d(m[None, None], (min(size, m.shape[0]), min(size, m.shape[1])))
    return out[0, 0].tolist()


def mask_summary(masks, params: dict[str, dict] | None = None, heads: int | None = None) -> dict[str, dict]:
    """Per matrix: ``kept``, ``per_head`` (attention) and ``per_neuron`` (FFN) where they apply."""
    if isinstance(masks, (str, Path)):
        masks = load_masks(masks)
    if isinstance(masks, MaskSet):
        params = params or masks.params
        heads = heads or masks.meta.get("num_heads")
        masks = masks.masks
    params = params or {}
    out = {}
    for name, m in masks.items():
        kind = params.get(name, {}).get("kind", "")
        out[name] = {"kept": float(m.float().mean()), "per_head": head_fractions(m, kind, heads),
                     "per_neuron": neuron_fractions(m, kind)}
    return out
