"""The sweep manifest ``<runs>/sweeps/<name>/sweep.json``: the grid, its points, their runs and status.

The manifest is rewritten atomically after every change, so a killed sweep leaves a readable
file. A point's status is read back from its run folder (the run store is the truth), so a point
whose process died shows ``interrupted`` and a re-run of the sweep continues it.

One runs folder is shared: :func:`sweep_lock` lets one process at a time run a sweep of a name
(a second is refused with a message), and a run folder under a point's name that holds another
run (e.g. one started from the dashboard with that name) is never taken for the point
(:func:`other_run`): the point fails, saying so, and that run is left alone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adaft_core.store.atomic import atomic_write_json
from adaft_core.errors import ConfigError
from adaft_core.sweep.grid import Grid, point_run_name

MANIFEST = "sweep.json"
LOCK = "sweep.lock"  # held (flock) by the process running the sweep
DONE = ("completed", "early_stopped")


@dataclass
class Point:
    """One grid point: its factor values, its run and what became of it."""

    values: dict[str, Any]
    run_id: str
    status: str = "queued"  # queued / running / completed / early_stopped / stopped / failed / interrupted
    reason: str | None = None
    score: float | None = None  # the final model's test score
    val_score: float | None = None  # its last validation score
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


@contextmanager
def sweep_lock(runs_dir: str | Path, name: str):
    """Hold sweep ``name``'s lock while it runs; a ConfigError if another process holds it. An
    OS lock (``flock``) goes with its process, so a killed sweep leaves no stale lock."""
    import fcntl

    folder = sweep_dir(runs_dir, name)
    folder.mkdir(parents=True, exist_ok=True)
    f = open(folder / LOCK, "a+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise ConfigError(f"sweep {name!r} is already running in {runs_dir} ({holder}); wait for it to end "
                          "(or stop it), then run the same command again to continue it") from None
    try:
        f.truncate(0)
        f.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        yield
    finally:
        f.close()  # releases the lock


def other_run(folder: Path, point: Point, settings: dict[str, Any] | None = None) -> str | None:
    """Why the run in ``folder`` is not ``point``'s, or None. The point's run has the point's
    values and the grid's ``settings`` in its config (output settings aside: folder, what is
    saved); a folder without a readable config is not judged."""
    from adaft_core.settings.config import SETTINGS
    from adaft_core.store.run_log import read_run_json

    info, _ = read_run_json(folder / "run.json")
    config = info.get("config") if isinstance(info, dict) else None
    if not isinstance(config, dict):
        return None
    for key, want in {**(settings or {}), **point.values}.items():
        spec = SETTINGS.get(key)
        if spec is None or spec.group == "output" or key not in config:
            continue
        if json.loads(json.dumps(config[key])) != json.loads(json.dumps(want)):
            return (f"the run folder {folder} holds another run ({key} {config[key]!r}, this point's "
                    f"{want!r}), started under the point's name outside this sweep; it is left alone: rename "
                    "or remove it, then run the sweep again with --retry-failed")
    return None


def refresh_point(point: Point, runs_dir: str | Path, settings: dict[str, Any] | None = None) -> Point:
    """Update a point's status and results from its run folder (absent folder: unchanged; a folder
    holding another run, see :func:`other_run`: failed, with why). ``settings``: the grid's."""
    from adaft_core.store.runs import summarize_run

    folder = Path(runs_dir) / point.run_id
    if not folder.is_dir():
        return point
    taken = other_run(folder, point, settings)
    if taken:
        point.status, point.reason, point.score, point.val_score = "failed", taken, None, None
        point.epochs, point.wall_time = None, None
        return point
    s = summarize_run(folder)
    point.status = s.status if s.status not in ("unknown", "starting") else point.status
    point.epochs, point.wall_time = s.epochs, s.wall_time
    point.score, point.val_score = s.test_score, s.val_score
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
