"""Reading what an export needs from the runs folder: a run's log, its config, its sweep.

Built on the tolerant readers every view uses (:mod:`adaft_core.store.run_log`, :func:`runs.find_run`,
the sweep manifest), so a damaged log exports its good events and says what it skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adaft_core.errors import ConfigError


def read_run(runs_dir: str | Path, run: str) -> tuple[Path, list[dict[str, Any]], str | None]:
    """A run's folder (a run id, unique prefix or folder), its good events and its log's first
    problem (None: the whole log read)."""
    from adaft_core.store.run_log import EVENTS_FILE, read_log
    from adaft_core.store.runs import find_run

    run_dir = find_run(runs_dir, run)
    log = read_log(run_dir / EVENTS_FILE)
    if not log.events:
        raise ConfigError(f"run {run_dir.name} has no events to export ({log.problem or 'empty log'})")
    return run_dir, log.events, log.problem


def run_config(run_dir: Path) -> dict[str, Any]:
    """The config in a run's ``run.json`` ({} when unreadable)."""
    from adaft_core.store.run_log import read_run_json

    data, _ = read_run_json(run_dir / "run.json")
    return dict((data or {}).get("config") or {})


def sweep_of(runs_dir: str | Path, run_id: str) -> str | None:
    """The sweep whose manifest lists ``run_id`` as a point (a live point finds its sweep here,
    whichever executor started it), or None."""
    for manifest in sorted((Path(runs_dir) / "sweeps").glob("*/sweep.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if any(p.get("run_id") == run_id for p in data.get("points", [])):
                return str(data.get("name") or manifest.parent.name)
        except (OSError, ValueError, AttributeError):
            continue
    return None


def sweep_run_ids(runs_dir: str | Path, name: str) -> list[str]:
    """The run ids of sweep ``name``'s points that have a run folder, in grid order."""
    from adaft_core.sweep.manifest import load_manifest

    manifest = load_manifest(runs_dir, name)
    if manifest is None:
        known = sorted(p.parent.name for p in (Path(runs_dir) / "sweeps").glob("*/sweep.json"))
        raise ConfigError(f"no sweep {name!r} in {runs_dir} (sweeps there: {', '.join(known) or 'none'})")
    ids = [p.run_id for p in manifest.points if (Path(runs_dir) / p.run_id).is_dir()]
    if not ids:
        raise ConfigError(f"sweep {name!r} has no run folders yet; run it first (adaft sweep)")
    return ids
