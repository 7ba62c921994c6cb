"""Inputs of the report tests (tests/test_report.py, tests/test_report_browser.py): a long synthetic
DPS run and a small finished sweep, written as run folders."""

from __future__ import annotations

from dashboard_events import mask_event, synthetic_run, write_log
from run_folders import write_finished_run

from adaft_core.modes import ModeSettings
from adaft_core.sweep import Manifest, make_grid

LIMIT = 5_000_000  # bytes: "under 5 MB"


def long_run(runs, run_id="long-run", epochs=50, spe=100):
    """A 50-epoch DPS run (synthetic events): 5,000 steps, a stage every 50 steps, per-type scores, masks."""
    losses = [1.0 - 0.01 * i for i in range(epochs)]
    events = synthetic_run(run_id, losses, spe=spe, settings=ModeSettings(max_epochs=epochs), stage_every=50,
                           strategy="dps-dense")
    masks = [mask_event(run_id, 0, step, selection=k + 1) for k, step in enumerate(range(100, epochs * spe, 500))]
    events = events[:-2] + masks + events[-2:]
    per_type = {"PER": {"f1": 0.61, "precision": 0.6, "recall": 0.62, "support": 40},
                "LOC": {"f1": 0.48, "precision": 0.5, "recall": 0.46, "support": 31}}
    events[-1]["test"] = {"f1": 0.55, "precision": 0.54, "recall": 0.56, "per_type": per_type}
    for seq, ev in enumerate(events):
        ev["seq"] = seq
    return write_log(runs, events)


def small_sweep(runs):
    """A finished sweep ``syn``: 2 modes × 2 train fractions × 1 seed, known scores."""
    manifest = Manifest.for_grid(make_grid({"mode": ["original", "adaptive"], "train_fraction": [0.1, 0.2],
                                            "seed": [1]}, name="syn"))
    for k, p in enumerate(manifest.points):
        write_finished_run(runs, p.run_id, score=0.4 + 0.05 * k, epochs=3 + k, wall=10.0)
    manifest.metric = "f1"
    manifest.save(runs)
    return manifest
