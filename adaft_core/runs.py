"""Run directory layout and reading run logs back.

A run lives in ``<output_dir>/<run_id>/``:

- ``events.jsonl`` — the run log (one event per line, DESIGN.md's contract), flushed per event;
- ``run.json`` — config and status (``running`` while it trains, then the final status);
- ``checkpoint/`` — the model after the last completed epoch (written atomically);
- ``model/`` — the final model + tokenizer (``transformers.pipeline`` loads it);
- ``STOP`` — create this file to ask a run in another process to stop after the current step.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import ConfigError

EVENTS_FILE = "events.jsonl"
RUN_FILE = "run.json"
STOP_FILE = "STOP"


def new_run_id(task: str, mode: str, seed: int, run_name: str | None = None) -> str:
    """``run_name`` if given (checked for safe characters), else ``YYYYmmdd-HHMMSS-task-mode-sN``."""
    if run_name:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run_name):
            raise ConfigError(f"run name {run_name!r} may use only letters, digits, '.', '_' and '-'")
        return run_name
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{task}-{mode}-s{seed}"


def claim_run_dir(output_dir: str | Path, run_id: str, explicit_name: bool) -> Path:
    """Create the run folder; an explicit name that exists is an error, a generated one gets ``-2``..."""
    root = Path(output_dir)
    path = root / run_id
    if explicit_name and path.exists():
        raise ConfigError(f"run {run_id!r} already exists in {root}; choose another --run-name "
                          "or remove that folder")
    n = 2
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            path = root / f"{run_id}-{n}"
            n += 1


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete events of a run log; a half-written last line (a live run) is skipped."""
    return list(iter_events(path))


def iter_events(path: str | Path) -> Iterator[dict[str, Any]]:
    """The complete events of a run log (a folder or its ``events.jsonl``), read once from the
    start; a live view tails new lines by byte offset with ``dashboard.source.LogTail``."""
    path = Path(path)
    if path.is_dir():
        path = path / EVENTS_FILE
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # still being written
            line = line.strip()
            if line:
                yield json.loads(line)


@dataclass
class RunSummary:
    """One row of ``adaft runs list`` (built from ``run.json`` and the run log)."""

    run_id: str
    path: Path
    status: str = "unknown"
    task: str = ""
    mode: str = ""
    strategy: str = ""
    epochs: int | None = None
    best_epoch: int | None = None
    val_score: float | None = None
    test_score: float | None = None
    metric: str = "f1"
    started: float | None = None
    wall_time: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def summarize_run(path: str | Path) -> RunSummary:
    """Read a run folder into a :class:`RunSummary`; works while the run is still going."""
    path = Path(path)
    s = RunSummary(run_id=path.name, path=path)
    info = {}
    if (path / RUN_FILE).exists():
        info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        cfg = info.get("config", {})
        s.status, s.task, s.mode = info.get("status", "unknown"), cfg.get("task", ""), cfg.get("mode", "")
        s.strategy = cfg.get("strategy", "")
    if not (path / EVENTS_FILE).exists():
        return s
    last_eval = None
    for ev in iter_events(path / EVENTS_FILE):
        kind = ev["event"]
        if kind == "run_started":
            s.started, s.task, s.mode = ev["time"], ev.get("task", s.task), ev.get("mode", s.mode)
            s.strategy = ev.get("strategy", s.strategy)
        elif kind == "eval" and ev.get("split") == "validation":
            last_eval = ev
            s.epochs, s.metric = ev["epoch"] + 1, ev.get("metric", s.metric)
        elif kind == "run_ended":
            s.status, s.epochs, s.best_epoch = ev["status"], ev.get("epochs"), ev.get("best_epoch")
            s.wall_time = ev.get("wall_time")
            s.val_score = (ev.get("val") or {}).get(s.metric)
            s.test_score = (ev.get("test") or {}).get(s.metric)
    if s.val_score is None and last_eval is not None:
        s.val_score = last_eval.get("score")
    if s.wall_time is None and s.started is not None and s.status in ("running", "unknown"):
        s.wall_time = time.time() - s.started
    return s


def list_runs(output_dir: str | Path) -> list[RunSummary]:
    """Every run folder under ``output_dir`` (newest first)."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    runs = [summarize_run(p) for p in root.iterdir() if p.is_dir() and (p / EVENTS_FILE).exists()]
    return sorted(runs, key=lambda r: r.started or 0, reverse=True)


def find_run(output_dir: str | Path, run: str) -> Path:
    """A run folder by path, exact id or unique id prefix; a clear error otherwise."""
    direct = Path(run)
    if (direct / EVENTS_FILE).exists():
        return direct
    root = Path(output_dir)
    if (root / run / EVENTS_FILE).exists():
        return root / run
    matches = [r.path for r in list_runs(root) if r.run_id.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(r.run_id for r in list_runs(root)) or "none"
    what = "is ambiguous" if matches else "not found"
    raise ConfigError(f"run {run!r} {what} in {root}; runs there: {known}")
