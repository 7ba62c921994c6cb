"""After the fact: a finished (or running, or damaged) run's log, or a whole sweep, into a tracker.

``export_run`` reads the run log back with the tolerant reader and hands every event to the
tracker's writer, exactly as a live run would have (:mod:`.live`); an earlier export of the same
run is replaced, so exporting twice gives one copy. ``export_sweep`` does that for every point of
a sweep with the sweep named, so TensorBoard puts its runs side by side, MLflow under one parent
run and trackio in one group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from adaft_core.exports import make_writer
from adaft_core.exports.base import Target
from adaft_core.exports.reader import read_run, sweep_run_ids


@dataclass
class Exported:
    """One exported run: its id, where it went and what was skipped in its log."""

    run_id: str
    where: str
    events: int
    problem: str | None = None


def export_run(run: str, tracker: str, target: Target) -> Exported:
    """Write run ``run`` (an id, unique prefix or folder in ``target.runs_dir``) to ``tracker``."""
    run_dir, events, problem = read_run(target.runs_dir, run)
    writer = make_writer(tracker, replace(target, runs_dir=run_dir.parent, replace=True))
    try:
        for ev in events:
            writer.handle(ev)
    finally:
        writer.close()
    return Exported(run_dir.name, writer.where(), len(events), problem)


def export_sweep(name: str, tracker: str, target: Target) -> list[Exported]:
    """Write every point of sweep ``name`` that has a run folder to ``tracker``, as one sweep."""
    target = replace(target, sweep=name)
    return [export_run(str(Path(target.runs_dir) / run_id), tracker, target)
            for run_id in sweep_run_ids(target.runs_dir, name)]
