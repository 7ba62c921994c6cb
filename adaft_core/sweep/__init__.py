"""``adaft sweep``: a grid of ordinary runs over modes × strategies × data sizes × seeds, and its report.

Each point is an ordinary run (own folder and run log, deterministic name ``<sweep>-<values>``),
so ``adaft runs``, the dashboard and ``resume`` work on it as on any run. The manifest
``<runs>/sweeps/<name>/sweep.json`` lists the points, their run ids and status. Re-running a
sweep skips finished points, continues interrupted ones and runs the rest; a point that fails is
recorded with its reason and the sweep goes on. Changing the grid of an existing sweep is an
error that says what changed, unless ``extend=True``. One process at a time runs a sweep of a
name (``manifest.sweep_lock``). A point saves its final model only when the grid's settings ask
(``save_model``); its scores, logs and masks stay, and a point that completes drops its
checkpoint like every run.

    from adaft_core.sweep import make_grid, run_sweep, report
    grid = make_grid({"mode": ["original", "adaptive"], "seed": [1, 2, 3]}, {"train_fraction": 0.1})
    run_sweep(grid, output_dir="runs")
    table = report(grid.sweep_name(), output_dir="runs")   # a pandas DataFrame per cell

May import: errors, settings, store (run folders, the launcher) and the package's public
``adaft_core.train`` / ``resume`` (a point trained in this process or in a Ray task). Never run/'s
modules directly (run/ never imports this folder), cli/ or the dashboard.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable

from adaft_core.errors import ConfigError, choices_message
from adaft_core.sweep.aggregate import aggregate, figure, to_markdown
from adaft_core.sweep.executors import EXECUTORS, RUNNERS
from adaft_core.sweep.grid import FACTORS, Grid, extend_grid, grid_changes, make_grid, read_grid_file
from adaft_core.sweep.manifest import DONE, Manifest, load_manifest, other_run, refresh_point, sweep_dir, sweep_lock

__all__ = ["DONE", "EXECUTORS", "FACTORS", "Grid", "Manifest", "load_manifest", "make_grid", "read_grid_file",
           "report", "run_sweep", "sweep_status", "write_report_files"]


def point_configs(grid: Grid, output_dir: str) -> list[dict[str, Any]]:
    """The validated config dict of every point (bad values stop here, before anything runs).
    Points save no final model unless the settings ask (a 100-point grid of models fills a disk)."""
    from adaft_core.settings.config import TrainConfig
    from adaft_core.sweep.grid import point_run_name

    name, out = grid.sweep_name(), []
    for point in grid.points():
        d = {"save_model": False, **grid.point_settings(point), "output_dir": str(output_dir),
             "run_name": point_run_name(name, point)}
        try:
            cfg = TrainConfig.from_dict(d).validated()
        except ConfigError as exc:
            values = ", ".join(f"{k}={v}" for k, v in point.items())
            raise ConfigError(f"sweep point ({values}): {exc}") from None
        out.append(cfg.to_dict())
    return out


def prepare_manifest(grid: Grid, output_dir: str | Path, extend: bool = False) -> Manifest:
    """The manifest to run: new, the stored one (same grid), or the stored one extended."""
    stored = load_manifest(output_dir, grid.sweep_name())
    if stored is None:
        return Manifest.for_grid(grid)
    changes = grid_changes(stored.grid, grid.to_dict())
    if changes and not extend:
        raise ConfigError(f"sweep {grid.sweep_name()!r} exists in {sweep_dir(output_dir, grid.sweep_name())} with "
                          f"another grid ({'; '.join(changes)}); pass --extend to add values, or choose another --name")
    if changes:
        grid = extend_grid(stored.grid, grid)
    fresh = Manifest.for_grid(grid)
    known = {p.run_id: p for p in stored.points}
    fresh.points = [known.get(p.run_id, p) for p in fresh.points]
    fresh.created = stored.created
    return fresh


def run_sweep(grid: Grid, *, output_dir: str | Path = "runs", executor: str = "sequential", workers: int = 2,
              extend: bool = False, retry_failed: bool = False, ray_address: str | None = None,
              cpus_per_point: int = 1, gpus_per_point: float = 0,
              on_point: Callable[[Any, Manifest], None] | None = None,
              on_start: Callable[[int], None] | None = None) -> Manifest:
    """Run every point of ``grid`` that has not finished; returns the final manifest.

    ``on_start(n)`` is called once with the number of points already finished, ``on_point(point,
    manifest)`` after each point that ran (the CLI's progress bar)."""
    if executor not in RUNNERS:
        raise ConfigError(choices_message("executor", executor, EXECUTORS))
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("the ray executor needs Ray: pip install 'adaft[ray]' (or pip install ray)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive whole number, got {workers!r}")
    point_configs(grid, str(output_dir))  # bad values: said before the sweep's folder is made
    with sweep_lock(output_dir, grid.sweep_name()):
        return _run_locked(grid, output_dir, executor, extend, retry_failed, on_point, on_start,
                           dict(workers=workers, ray_address=ray_address, cpus_per_point=cpus_per_point,
                                gpus_per_point=gpus_per_point))


def _run_locked(grid: Grid, output_dir, executor: str, extend: bool, retry_failed: bool, on_point, on_start,
                executor_options: dict) -> Manifest:
    """:func:`run_sweep`'s work, with the sweep's lock held."""
    manifest = prepare_manifest(grid, output_dir, extend)
    grid = Grid(manifest.grid["factors"], manifest.grid["settings"], manifest.name)
    configs = dict(zip((p.run_id for p in manifest.points), point_configs(grid, str(output_dir))))
    jobs = []
    for point in manifest.points:
        refresh_point(point, output_dir, grid.settings)
        if (point.status in DONE or (point.status == "failed" and not retry_failed) or point.status == "running"
                or other_run(Path(output_dir) / point.run_id, point, grid.settings)):
            continue  # finished, still running in another process, or its name taken by another run
        resume = point.status in ("interrupted", "stopped") and (Path(output_dir) / point.run_id).is_dir()
        if not resume and (Path(output_dir) / point.run_id).exists():
            _set_aside(Path(output_dir) / point.run_id)
        point.status, point.reason = "queued", None
        jobs.append((point, configs[point.run_id], resume))
    manifest.save(output_dir)
    if on_start is not None:
        on_start(len(manifest.points) - len(jobs))

    def done(point) -> None:
        refresh_point(point, output_dir, grid.settings)
        if point.status in DONE:
            point.reason = None
        elif point.status in ("queued", "running"):
            point.status, point.reason = "failed", point.reason or "the run ended without a complete run log"
        if manifest.metric is None and point.status in DONE:
            manifest.metric = _metric(output_dir, manifest)
        manifest.save(output_dir)
        if on_point is not None:
            on_point(point, manifest)

    RUNNERS[executor](jobs, Path(output_dir), done, **executor_options)
    manifest.metric = _metric(output_dir, manifest)
    manifest.save(output_dir)
    return manifest


def _set_aside(folder: Path) -> None:
    """A failed point's old folder, kept as ``<name>.failed-N`` when it is run again."""
    n = 1
    while folder.with_name(f"{folder.name}.failed-{n}").exists():
        n += 1
    folder.rename(folder.with_name(f"{folder.name}.failed-{n}"))


def _metric(output_dir, manifest: Manifest) -> str | None:
    from adaft_core.store.runs import summarize_run

    for p in manifest.points:
        folder = Path(output_dir) / p.run_id
        if p.status in DONE and folder.is_dir():
            return summarize_run(folder).metric
    return manifest.metric


def sweep_status(name: str, output_dir: str | Path = "runs") -> Manifest:
    """The stored manifest with every point's status refreshed from its run folder."""
    manifest = load_manifest(output_dir, name)
    if manifest is None:
        known = sorted(p.name for p in (Path(output_dir) / "sweeps").glob("*") if (p / "sweep.json").exists())
        raise ConfigError(f"no sweep {name!r} in {output_dir}; sweeps there: {', '.join(known) or 'none'}")
    for point in manifest.points:
        refresh_point(point, output_dir, manifest.grid.get("settings"))
    manifest.metric = manifest.metric or _metric(output_dir, manifest)
    return manifest


SPLITS = ("test", "validation")  # which score a report aggregates


def report(name: str, output_dir: str | Path = "runs", *, split: str = "test",
           baseline: tuple[str, Any] | None = None):
    """The per-cell table of sweep ``name`` as a pandas DataFrame (see ``aggregate``): the final
    model's ``split`` score (``validation``: the last validation, e.g. to choose a recipe without
    looking at the test split); with ``baseline`` (``("strategy", "vanilla")``) the paired columns."""
    return _table(sweep_status(name, output_dir), split, baseline)


def _table(manifest: Manifest, split: str, baseline: tuple[str, Any] | None):
    if split not in SPLITS:
        raise ConfigError(f"split {split!r}: choose one of {', '.join(SPLITS)}")
    rows = [{**p.values, "score": (p.score if split == "test" else p.val_score) if p.status in DONE else None,
             "epochs": p.epochs, "wall_time": p.wall_time} for p in manifest.points]
    return aggregate(rows, list(manifest.grid["factors"]), baseline)


def write_report_files(name: str, output_dir: str | Path = "runs", *, split: str = "test",
                       baseline: tuple[str, Any] | None = None) -> tuple[Path, Path]:
    """``report.md`` (the table ``adaft sweep report`` prints) and the standalone ``figure.html``
    next to the manifest; the run logs are read once."""
    manifest = sweep_status(name, output_dir)
    table = _table(manifest, split, baseline)
    metric = manifest.metric or "score"
    folder = sweep_dir(output_dir, name)
    md = folder / "report.md"
    md.write_text(to_markdown(table, f"{split} {metric}", baseline) + "\n", encoding="utf-8")
    html = folder / "figure.html"
    figure(table, metric, split=split).write_html(str(html), include_plotlyjs=True, full_html=True)
    return md, html
