"""Where a sweep's points run: in this process, in local worker processes, or as Ray tasks.

Each executor takes the pending points as ``(point, config dict, resume)`` jobs and calls
``done(point)`` as each one finishes; the point's status is then read from its run folder.

- ``sequential``: one point after another in this process (``adaft_core.train`` / ``resume``).
- ``local``: up to N points at once, each its own ``adaft train`` process started by the same
  launcher the dashboard uses (``adaft_core.store.launcher``), with torch threads split so that
  workers × threads never exceeds the cores.
- ``ray``: each point a Ray task (``num_cpus`` / ``num_gpus``) running the same entry point; Ray
  schedules them (we write no scheduler). Run logs land in the runs folder when workers share
  the disk, else the task ships ``events.jsonl`` and ``run.json`` back and the driver writes them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from adaft_core.errors import AdaftError, ConfigError

EXECUTORS = ("sequential", "local", "ray")
Job = tuple[Any, dict, bool]  # (manifest Point, TrainConfig dict, resume?)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Torch threads for each of ``workers`` processes: never more than the cores in total."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def run_sequential(jobs: Sequence[Job], runs_dir: Path, done: Callable[[Any], None], **_) -> None:
    import adaft_core

    for point, cfg, resume in jobs:
        point.status = "running"
        try:
            if resume:
                adaft_core.resume(point.run_id, output_dir=str(runs_dir))
            else:
                adaft_core.train(cfg)
            point.reason = None
        except AdaftError as exc:  # bad input: nothing was written for this point
            point.status, point.reason = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the run log has run_ended; the sweep goes on
            point.status, point.reason = "failed", f"{type(exc).__name__}: {exc}"
        done(point)


def run_local(jobs: Sequence[Job], runs_dir: Path, done: Callable[[Any], None], *, workers: int = 2,
              poll: float = 0.5, **_) -> None:
    from adaft_core.settings.config import TrainConfig
    from adaft_core.store.launcher import launch_run

    threads = threads_per_worker(workers)
    queue, running = list(jobs), []
    while queue or running:
        while queue and len(running) < workers:
            point, cfg, resume = queue.pop(0)
            point.status = "running"
            try:
                handle = (launch_run(resume=point.run_id, output_dir=str(runs_dir), threads=threads) if resume
                          else launch_run(TrainConfig.from_dict(cfg), threads=threads))
            except AdaftError as exc:
                point.status, point.reason = "failed", str(exc)
                done(point)
                continue
            running.append((point, handle))
        time.sleep(poll)
        for item in [r for r in running if not r[1].alive]:
            running.remove(item)
            point, handle = item
            point.reason = handle.failure()  # why it ended before the run started, else None
            done(point)


def _ray_point(cfg: dict, resume: str | None, runs_dir: str, driver_folder: str | None = None) -> dict:
    """Body of one Ray task: train (or resume) and return the run's log files for the driver.
    Ray puts the driver's working folder on a worker's module path: it is dropped first."""
    from adaft_core.store.module_path import drop_working_folder, explain_import_error

    drop_working_folder(*filter(None, [driver_folder]))
    import adaft_core

    error = None
    try:
        if resume:
            adaft_core.resume(resume, output_dir=runs_dir)
        else:
            adaft_core.train(cfg)
    except ImportError as exc:
        error = explain_import_error(exc)
    except Exception as exc:  # noqa: BLE001 - reported in the manifest
        error = str(exc) if isinstance(exc, AdaftError) else f"{type(exc).__name__}: {exc}"
    run_id = resume or cfg["run_name"]
    folder = Path(runs_dir) / run_id
    files = {}
    for name in ("events.jsonl", "run.json"):
        if (folder / name).exists():
            files[name] = (folder / name).read_text(encoding="utf-8")
    return {"run_id": run_id, "error": error, "files": files}


def run_ray(jobs: Sequence[Job], runs_dir: Path, done: Callable[[Any], None], *, ray_address: str | None = None,
            cpus_per_point: int = 1, gpus_per_point: float = 0, **_) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray: pip install 'adaft[ray]' (or pip install ray)") from None
    if not ray.is_initialized():  # a local Ray listens on loopback only; --ray-address joins a cluster
        local = {} if ray_address else {"_node_ip_address": "127.0.0.1"}
        ray.init(address=ray_address, include_dashboard=False, log_to_driver=False, **local)
    task = ray.remote(num_cpus=cpus_per_point, num_gpus=gpus_per_point)(_ray_point)
    env_threads = {"OMP_NUM_THREADS": str(cpus_per_point)}
    refs = {}
    for point, cfg, resume in jobs:
        point.status = "running"
        ref = task.options(runtime_env={"env_vars": env_threads}).remote(cfg, point.run_id if resume else None,
                                                                         str(runs_dir), os.getcwd())
        refs[ref] = point
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        point = refs[ready[0]]
        try:
            out = ray.get(ready[0])
        except Exception as exc:  # noqa: BLE001 - a killed worker: recorded, the sweep goes on
            point.status, point.reason = "failed", f"worker lost: {type(exc).__name__}: {exc}"
            done(point)
            continue
        folder = Path(runs_dir) / out["run_id"]
        if out["files"] and not (folder / "events.jsonl").exists():  # workers without the shared disk
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in out["files"].items():
                (folder / name).write_text(text, encoding="utf-8")
        point.reason = out["error"]
        if out["error"] and not out["files"]:
            point.status = "failed"
        done(point)


RUNNERS = {"sequential": run_sequential, "local": run_local, "ray": run_ray}
