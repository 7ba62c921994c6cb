"""Two runs' subnetwork masks side by side: overlap per transformer layer, kept fraction per head.

A run's mask is the file its last ``mask`` event names (``file``, relative to the run folder;
``adaft_core/strategies/masks.py`` has the format): for DPS the last Stage II selection, for
ChildTuning-D the one mask chosen before training. Matrices are compared where both runs cover
them (same name and shape): DPS covers the Linear weights of the layers plus pooler and head,
ChildTuning-D every parameter inside the layers, so two strategies meet on the layers' weight
matrices.

- :func:`layer_overlap`: per layer, the Jaccard overlap |A ∩ B| / |A ∪ B| of the selected entries
  over the layer's common matrices, and ``chance``: the overlap two independent random masks with
  the same kept fraction per matrix would have on average (Σ a·b·n / Σ (a + b − a·b)·n) — the
  level that says "no more in common than luck".
- :func:`head_map`: per layer, the kept fraction of each attention head in Q, K, V (row blocks)
  and the attention output O (column blocks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from adaft_core.errors import DataError
from adaft_core.store.run_log import iter_events
from adaft_core.strategies.masks import HEAD_COL_KINDS, HEAD_ROW_KINDS, MaskSet, head_fractions, load_masks

HEAD_KINDS = (*HEAD_ROW_KINDS, *HEAD_COL_KINDS)  # q, k, v, o


def mask_file(run_dir: str | Path) -> Path:
    """The mask file named by the run's last ``mask`` event that names one."""
    run_dir = Path(run_dir)
    named = [ev["file"] for ev in iter_events(run_dir / "events.jsonl") if ev.get("event") == "mask" and ev.get("file")]
    if not named:
        raise DataError(f"{run_dir}: no mask event names a saved mask file (vanilla, or save_masks='none'?)")
    return run_dir / named[-1]


def run_masks(run_dir: str | Path) -> MaskSet:
    """The run's last saved masks (see :func:`mask_file`)."""
    return load_masks(mask_file(run_dir))


def _layered(ms: MaskSet) -> dict[str, int]:
    """Mask name → transformer layer, for the matrices (2-D) inside a layer."""
    return {n: int(p["layer"]) for n, p in ms.params.items()
            if p.get("layer") is not None and n in ms.masks and ms.masks[n].ndim == 2}


def layer_overlap(a: MaskSet, b: MaskSet):
    """Per layer: ``jaccard``, ``chance``, ``kept_a``, ``kept_b``, ``matrices`` (compared) and ``entries``."""
    import pandas as pd

    la, lb = _layered(a), _layered(b)
    acc: dict[int, list[float]] = {}
    for name, layer in la.items():
        if name not in lb or a.masks[name].shape != b.masks[name].shape:
            continue
        ma, mb = a.masks[name].bool(), b.masks[name].bool()
        n = ma.numel()
        ka, kb = float(ma.float().mean()), float(mb.float().mean())
        row = acc.setdefault(layer, [0, 0, 0.0, 0.0, 0, 0, 0, 0])
        row[0] += int((ma & mb).sum())
        row[1] += int((ma | mb).sum())
        row[2] += ka * kb * n
        row[3] += (ka + kb - ka * kb) * n
        row[4] += int(ma.sum())
        row[5] += int(mb.sum())
        row[6] += 1
        row[7] += n
    if not acc:
        raise DataError("the two mask sets have no weight matrix of a transformer layer in common")
    rows = [{"layer": layer, "jaccard": r[0] / r[1] if r[1] else 1.0, "chance": r[2] / r[3] if r[3] else 1.0,
             "kept_a": r[4] / r[7], "kept_b": r[5] / r[7], "matrices": r[6], "entries": r[7]}
            for layer, r in sorted(acc.items())]
    return pd.DataFrame(rows)


def compare_runs(runs: Mapping[str, str | Path], pairs: list[tuple[str, str]]):
    """:func:`layer_overlap` of each pair of labelled runs, stacked with a ``pair`` column ("A vs B")."""
    import pandas as pd

    masks = {label: run_masks(path) for label, path in runs.items()}
    parts = [layer_overlap(masks[x], masks[y]).assign(pair=f"{x} vs {y}") for x, y in pairs]
    return pd.concat(parts, ignore_index=True)[["pair", "layer", "jaccard", "chance", "kept_a", "kept_b",
                                                 "matrices", "entries"]]


def head_map(ms: MaskSet):
    """Rows: layers; columns ``q0 … q{H-1}``, ``k…``, ``v…``, ``o…``: the kept fraction per head."""
    import pandas as pd

    heads = ms.meta.get("num_heads")
    cells: dict[int, dict[str, float]] = {}
    for name, layer in _layered(ms).items():
        kind = ms.params[name].get("kind", "")
        if kind not in HEAD_KINDS:
            continue
        fractions = head_fractions(ms.masks[name], kind, heads)
        if fractions is not None:
            cells.setdefault(layer, {}).update({f"{kind}{h}": f for h, f in enumerate(fractions)})
    if not cells:
        raise DataError("no attention matrix with a known number of heads in this mask set")
    order = [f"{k}{h}" for k in HEAD_KINDS for h in range(heads)]
    frame = pd.DataFrame.from_dict(cells, orient="index").sort_index()
    return frame[[c for c in order if c in frame.columns]].rename_axis("layer")
