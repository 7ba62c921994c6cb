"""A study as sweeps: one sweep per dataset, run one after another, read back as one table.

A study's sweep is an ordinary ``adaft sweep`` (``adaft_core.sweep``): its points are ordinary
runs, re-running it skips the finished ones, and the dashboard's Sweeps tab shows it live. The
grid's settings are written as the CLI writes them (the runs folder, then only the settings that
differ from ``TrainConfig``'s defaults), so the notebook's ``wikigold-modes`` is the same sweep as
``adaft sweep --name wikigold-modes …`` with the same flags, and either one continues the other.

The table is the sweep package's aggregation (``adaft_core.sweep.report``: runs, mean ± sample
std of the headline test metric, converged runs, mean epochs and wall time per cell), one sweep
after another with a column naming the sweep's dataset, plus the training-set size of each cell
as the runs recorded it (``run_started.train_size``: sentences for NER, examples for pairs).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Mapping, Sequence

from adaft_core.store.run_log import iter_events
from adaft_core.sweep import DONE, Grid, Manifest, make_grid, report, run_sweep, sweep_status
from adaft_core.studies.datasets import dataset_source


def study_settings(runs_dir: str | Path, **settings: Any) -> dict[str, Any]:
    """The sweep settings: ``output_dir`` and the given settings that differ from the defaults
    (``data`` resolved with :func:`~.datasets.dataset_source`)."""
    from adaft_core.settings.config import TrainConfig

    defaults = TrainConfig().to_dict()
    if "data" in settings:
        settings["data"] = dataset_source(settings["data"])
    kept = {k: v for k, v in settings.items() if k not in defaults or defaults[k] != v}
    return {"output_dir": str(runs_dir), **kept}


def study_grid(name: str, factors: Mapping[str, Sequence[Any]], runs_dir: str | Path, **settings: Any) -> Grid:
    """A checked grid (``make_grid``) named ``name`` with :func:`study_settings`."""
    return make_grid(dict(factors), study_settings(runs_dir, **settings), name=name)


def run_sweeps(grids: Sequence[Grid], runs_dir: str | Path, *, executor: str = "sequential",
               workers: int = 2) -> dict[str, Manifest]:
    """Run each grid's unfinished points (``run_sweep``), one sweep after another."""
    return {g.sweep_name(): run_sweep(g, output_dir=runs_dir, executor=executor, workers=workers) for g in grids}


async def run_sweeps_live(grids: Sequence[Grid], runs_dir: str | Path, **kw) -> dict[str, Manifest]:
    """:func:`run_sweeps` in a worker thread: awaited from a notebook cell, the kernel's event
    loop stays free, so a dashboard embedded above (its pump) keeps drawing the runs live.
    Transformers' own progress bars (a widget per model load in a notebook) are turned off."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return await asyncio.to_thread(run_sweeps, grids, runs_dir, **kw)


def point_runs(name: str, runs_dir: str | Path):
    """One row per point of sweep ``name``: its factor values, ``run_id``, ``run_dir``, ``status``."""
    import pandas as pd

    manifest = sweep_status(name, runs_dir)
    return pd.DataFrame([{**p.values, "run_id": p.run_id, "run_dir": Path(runs_dir) / p.run_id,
                          "status": p.status} for p in manifest.points])


def _train_size(run_dir: Path) -> int | None:
    """``train_size`` of the run's ``run_started`` (the first event), None if not readable."""
    try:
        for ev in iter_events(run_dir / "events.jsonl"):
            return ev.get("train_size") if ev.get("event") == "run_started" else None
    except (OSError, ValueError):
        return None
    return None


def study_table(sweeps: Mapping[str, str], runs_dir: str | Path, column: str = "data"):
    """The per-cell tables of ``sweeps`` ({label: sweep name}) one after another, with ``column``
    = the label first and ``train_examples`` (the recorded training-set size) after the factors."""
    import pandas as pd

    from adaft_core.sweep.aggregate import STAT_COLUMNS

    parts = []
    for label, name in sweeps.items():
        table = report(name, runs_dir)
        factors = [c for c in table.columns if c not in STAT_COLUMNS]
        sizes = []
        points = sweep_status(name, runs_dir).points
        for _, row in table.iterrows():
            same = [p for p in points if p.status in DONE and all(p.values.get(f) == row[f] for f in factors)]
            sizes.append(next((s for s in (_train_size(Path(runs_dir) / p.run_id) for p in same) if s), None))
        table.insert(len(factors), "train_examples", pd.array(sizes, dtype="Int64"))
        table.insert(0, column, label)
        parts.append(table)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def table_markdown(table, metric: str = "score") -> str:
    """The study table in Markdown (``adaft_core.sweep.aggregate.to_markdown``'s layout)."""
    from adaft_core.sweep.aggregate import to_markdown

    if table.empty:
        return "_no finished runs yet_"
    return to_markdown(table.rename(columns={"train_examples": "train examples"}), metric)


def sweep_metric(name: str, runs_dir: str | Path) -> str:
    """The sweep's headline metric (``f1`` for NER, ``accuracy`` for NLI), ``score`` if none ran."""
    return sweep_status(name, runs_dir).metric or "score"
