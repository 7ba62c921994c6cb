"""The sweep manifest ``<runs>/sweeps/<name>/sweep.json``: the grid, its points, their runs and status.

The manifest is rewritten atomically after every change, so a killed sweep leaves a readable
file. A point's status is read back from its run folder (the run store is the truth), so a point
whose process died shows ``interrupted`` and a re-run of the sweep continues it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoints import atomic_write_json
from ..errors import ConfigError
from .grid import Grid, point_run_name

MANIFEST = "sweep.json"
DONE = ("completed", "early_stopped")


@dataclass
class Point:
    """One grid point: its factor values, its run and what became of it."""

    values: dict[str, Any]
    run_id: str
    status: str = "queued"  # queued / running / completed / early_stopped / stopped / failed / interrupted
    reason: str | None = None
    score: float | None = None
    epochs: int | None = None
    wall_time: float | None = None


@dataclass
class Manifest:
    name: str
    grid: dict[str, Any]
    points: list[Point] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    metric: str | None = None

    @classmethod
    def for_grid(cls, grid: Grid) -> "Manifest":
        name = grid.sweep_name()
        return cls(name, grid.to_dict(), [Point(p, point_run_name(name, p)) for p in grid.points()])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "grid": self.grid, "created": self.created, "metric": self.metric,
                "points": [asdict(p) for p in self.points]}

    def save(self, runs_dir: str | Path) -> Path:
        path = sweep_dir(runs_dir, self.name) / MANIFEST
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, self.to_dict())
        return path

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.points:
            out[p.status] = out.get(p.status, 0) + 1
        return out


def sweep_dir(runs_dir: str | Path, name: str) -> Path:
    return Path(runs_dir) / "sweeps" / name


def load_manifest(runs_dir: str | Path, name: str) -> Manifest | None:
    """The stored manifest of sweep ``name``, or None; a damaged one is a clear error."""
    path = sweep_dir(runs_dir, name) / MANIFEST
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        points = [Point(**p) for p in d["points"]]
        return Manifest(d["name"], d["grid"], points, d.get("created", 0.0), d.get("metric"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"sweep manifest {path} is unreadable ({exc}); move it away to start the sweep anew") from None


def refresh_point(point: Point, runs_dir: str | Path) -> Point:
    """Update a point's status and results from its run folder (absent folder: unchanged)."""
    from ..runs import summarize_run

    folder = Path(runs_dir) / point.run_id
    if not folder.is_dir():
        return point
    s = summarize_run(folder)
    point.status = s.status if s.status not in ("unknown", "starting") else point.status
    point.epochs, point.wall_time = s.epochs, s.wall_time
    point.score = s.test_score if s.test_score is not None else None
    if s.status in ("failed", "stopped", "interrupted", "unreadable"):
        point.reason = _run_error(folder) or point.reason or f"{s.status} (see its run log)"
    return point


def _run_error(folder: Path) -> str | None:
    """The ``error`` the run recorded in run.json, if it is readable."""
    try:
        error = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("error")
    except (OSError, ValueError, AttributeError):
        return None
    return str(error) if error else None
