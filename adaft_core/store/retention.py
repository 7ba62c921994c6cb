"""What runs leave on disk, and freeing it (``adaft runs list``'s size, ``adaft runs clean``).

A run folder holds its log, ``run.json`` and ``masks/`` (kilobytes to a few megabytes) and two
big folders: ``checkpoint/`` (weights, AdamW state and the rest of the training state: about
three times the model) and ``model/`` (the final model). A run that completes or stops early
drops its checkpoint as it ends (:func:`drop_checkpoint`: it cannot be resumed) unless
``keep_checkpoint`` is set; a stopped, failed or interrupted run keeps it for ``--resume``.

:func:`plan_clean` picks, among finished runs (completed or early stopped), the checkpoints and
models a rule lets go — older than an age, not the best run of its sweep cell, in one sweep —
and :func:`free` removes them. Torch-free; never touches a run that may still be resumed.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from adaft_core.errors import ConfigError

CHECKPOINT, MODEL = "checkpoint", "model"
FINISHED = ("completed", "early_stopped")  # the runs whose checkpoint can never be resumed
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def folder_size(path: str | Path) -> int:
    """Bytes of the files under ``path`` (0 if it is gone; files vanishing meanwhile are skipped)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def format_size(n: int) -> str:
    """``812 B``, ``4.1 kB``, ``87.4 MB``, ``3.1 GB`` (powers of 1000, as disks are sold)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def checkpoint_parts(run_dir: Path) -> list[Path]:
    """The checkpoint folder and what an interrupted swap left beside it (``.old``, ``.tmp-PID``)."""
    return sorted(p for p in run_dir.glob(f"{CHECKPOINT}*")
                  if p.is_dir() and re.fullmatch(rf"{CHECKPOINT}(\.old|\.tmp-\d+)?", p.name))


def drop_checkpoint(run_dir: Path) -> None:
    """Remove a finished run's checkpoint (see the module docstring)."""
    for part in checkpoint_parts(run_dir):
        shutil.rmtree(part, ignore_errors=True)


def parse_age(text: str) -> float:
    """``30m``, ``12h``, ``7d``, ``2w`` → seconds; anything else is a ConfigError saying how."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text))
    if not m:
        raise ConfigError(f"--older-than {text!r}: give a number and a unit (s, m, h, d, w), e.g. 30m, 12h, 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class Freeable:
    """One finished run's folders that a clean would remove, and their size."""

    run_id: str
    parts: list[Path] = field(default_factory=list)
    size: int = 0
    ended: float | None = None


def plan_clean(runs_dir: str | Path, *, what: tuple[str, ...] = (CHECKPOINT, MODEL), older_than: float | None = None,
               keep_best: bool = False, sweep: str | None = None, now: float | None = None) -> list[Freeable]:
    """The checkpoints and models of finished runs that the rule lets go, oldest first.

    ``older_than``: only runs that ended more than this many seconds ago; ``keep_best``: spare
    the best run of each sweep cell (highest test score, else validation score); ``sweep``: only
    that sweep's points. Runs that may be resumed (stopped, failed, interrupted) are never listed.
    """
    from adaft_core.store.runs import list_runs

    now = time.time() if now is None else now
    runs = [r for r in list_runs(runs_dir) if r.status in FINISHED]
    if sweep is not None:
        members = _sweep_cells(runs_dir, {r.run_id: r for r in runs}, only=sweep)
        runs = [r for r in runs if r.run_id in {run for cell in members.values() for run in cell}]
    spared = _best_of_cells(runs_dir, runs) if keep_best else set()
    plan = []
    for r in runs:
        ended = (r.started + r.wall_time) if r.started is not None and r.wall_time is not None else _mtime(r.path)
        if r.run_id in spared or (older_than is not None and (ended is None or now - ended < older_than)):
            continue
        parts = (checkpoint_parts(r.path) if CHECKPOINT in what else []) + (
            [r.path / MODEL] if MODEL in what and (r.path / MODEL).is_dir() else [])
        if parts:
            plan.append(Freeable(r.run_id, parts, sum(folder_size(p) for p in parts), ended))
    return sorted(plan, key=lambda f: f.ended or 0)


def free(plan: list[Freeable]) -> int:
    """Remove every part of ``plan``; the bytes freed."""
    for item in plan:
        for part in item.parts:
            shutil.rmtree(part, ignore_errors=True)
    return sum(item.size for item in plan)


def _sweep_cells(runs_dir: str | Path, finished: dict, only: str | None = None) -> dict[tuple, list[str]]:
    """(sweep, cell values without the seed) → the finished runs of that cell, from the manifests."""
    from adaft_core.sweep.manifest import load_manifest

    names = [only] if only is not None else sorted(p.parent.name for p in Path(runs_dir, "sweeps").glob("*/sweep.json"))
    cells: dict[tuple, list[str]] = {}
    for name in names:
        try:
            manifest = load_manifest(runs_dir, name)
        except ConfigError:
            if only is not None:
                raise
            continue  # a damaged manifest of another sweep spares nothing and hides nothing
        if manifest is None:
            raise ConfigError(f"no sweep {name!r} in {runs_dir}")
        for p in manifest.points:
            if p.run_id in finished:
                cell = tuple(sorted((k, str(v)) for k, v in p.values.items() if k != "seed"))
                cells.setdefault((name, cell), []).append(p.run_id)
    return cells


def _best_of_cells(runs_dir: str | Path, runs: list) -> set[str]:
    by_id = {r.run_id: r for r in runs}

    def score(run_id: str) -> float:
        r = by_id[run_id]
        value = r.test_score if r.test_score is not None else r.val_score
        return float("-inf") if value is None else value

    return {max(members, key=score) for members in _sweep_cells(runs_dir, by_id).values()}


def _mtime(path: Path) -> float | None:
    try:
        return (path / "run.json").stat().st_mtime
    except OSError:
        return None
