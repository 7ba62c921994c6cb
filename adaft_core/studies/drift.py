"""How far training moved the weights from the pre-trained ones, per layer, from the run logs.

Every strategy's run (vanilla with ``strategy_options={"telemetry": True}``) writes a
``telemetry`` event after each validation with ``drift``: block index (as text), ``"pooler"``
or ``"head"`` → ‖W − W⁰‖ / ‖W⁰‖ over that group's weight matrices (the DPS scope for every
strategy, so runs compare with vanilla; ``adaft_core/strategies/telemetry.py``). This module
reads those numbers; it computes none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from adaft_core.errors import DataError
from adaft_core.store.run_log import iter_events


def group_order(group: str) -> tuple[int, int | str]:
    """Layers in numeric order, then ``pooler``, then ``head`` (then anything else)."""
    if str(group).isdigit():
        return (0, int(group))
    return (1, {"pooler": 0, "head": 1}.get(group, 2))


def drift_frame(run_dir: str | Path):
    """One row per (epoch, group) of the run's validation telemetry: ``epoch`` (1-based), ``group``,
    ``drift``; groups in :func:`group_order`."""
    import pandas as pd

    rows = [{"epoch": ev["epoch"] + 1, "group": str(group), "drift": value}
            for ev in iter_events(Path(run_dir) / "events.jsonl")
            if ev.get("event") == "telemetry" and ev.get("trigger") == "validation"
            and isinstance(ev.get("drift"), dict)
            for group, value in ev["drift"].items()]
    if not rows:
        raise DataError(f"{run_dir}: no drift telemetry in the run log (vanilla needs "
                        "strategy_options={'telemetry': True})")
    frame = pd.DataFrame(rows)
    order = sorted(frame["group"].unique(), key=group_order)
    frame["group"] = pd.Categorical(frame["group"], categories=order, ordered=True)
    return frame.sort_values(["epoch", "group"], ignore_index=True)


def runs_drift(points):
    """Drift of every finished run in ``points`` (a DataFrame with ``run_dir`` and its factor columns,
    e.g. :func:`~.sweeps.point_runs`), stacked with those columns."""
    import pandas as pd

    factors = [c for c in points.columns if c not in ("run_id", "run_dir", "status")]
    parts = [drift_frame(row["run_dir"]).assign(**{f: row[f] for f in factors})
             for _, row in points.iterrows() if row["status"] in ("completed", "early_stopped")]
    if not parts:
        raise DataError("no finished run to read drift from")
    frame = pd.concat(parts, ignore_index=True)
    order = sorted({str(g) for g in frame["group"]}, key=group_order)
    frame["group"] = pd.Categorical(frame["group"].astype(str), categories=order, ordered=True)
    return frame


def final_drift(frame, by: Iterable[str] = ("strategy",)):
    """Each run's drift at its last validation, then mean and sample std over the other factors
    (the seeds) per ``by`` and group: columns ``*by``, ``group``, ``mean``, ``std``, ``runs``."""
    by = list(by)
    run_keys = [c for c in frame.columns if c not in ("epoch", "group", "drift")]
    last = frame[frame["epoch"] == frame.groupby(run_keys, observed=True)["epoch"].transform("max")]
    out = last.groupby([*by, "group"], observed=True, sort=False)["drift"].agg(["mean", "std", "size"])
    return _in_order(out.rename(columns={"size": "runs"}).reset_index(), frame, [*by, "group"])


def drift_over_epochs(frame, by: Iterable[str] = ("strategy",)):
    """Mean drift over the transformer layers per run and epoch, then mean and std over the seeds
    per ``by`` and epoch: columns ``*by``, ``epoch``, ``mean``, ``std``."""
    by = list(by)
    layers = frame[frame["group"].astype(str).str.isdigit()]
    run_keys = [c for c in frame.columns if c not in ("epoch", "group", "drift")]
    per_run = layers.groupby([*run_keys, "epoch"], observed=True)["drift"].mean().reset_index()
    out = per_run.groupby([*by, "epoch"], observed=True, sort=False)["drift"].agg(["mean", "std"])
    return _in_order(out.reset_index(), frame, [*by, "epoch"])


def _in_order(out, frame, keys: list[str]):
    """Rows sorted by ``keys``, each factor in the order it first appears in ``frame`` (the
    sweep's order: strategies as the grid lists them), groups in :func:`group_order`."""
    rank = {k: {v: i for i, v in enumerate(dict.fromkeys(frame[k].astype(str)))} for k in keys
            if k not in ("group", "epoch")}
    rank["group"] = {g: i for i, g in enumerate(sorted(set(frame["group"].astype(str)), key=group_order))}

    def key(col):
        return col.astype(str).map(rank[col.name]) if col.name in rank else col

    return out.sort_values(keys, key=key, ignore_index=True)
