"""Start a run as its own process: the one launcher of the dashboard and the sweep's local executor.

``launch_run(config)`` writes the config to ``<runs>/.launch/<name>.json`` and starts
``python -P -m adaft_core.cli train --config FILE --run-name NAME --output-dir DIR`` detached from
the caller (a new session, stdin from /dev/null, stdout and stderr appended to
``<runs>/.launch/<name>.log``); ``launch_run(resume=RUN)`` starts ``train --resume RUN`` the same
way. The caller may exit, be culled or reload: the run goes on, writes its own run folder, and
anyone reads it from there. The returned :class:`LaunchedRun` waits for it, tells whether it is
alive, asks it to stop (the ``STOP`` file) and, when the process ends before the run started,
says why (the log's ``adaft: error:`` line).

Names: an explicit ``run_name`` is checked free first; a generated one (time-task-mode-seed) is
reserved by creating its log file exclusively, so runs launched in the same second get ``-2``,
``-3``, ... instead of colliding.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from adaft_core.settings.config import TrainConfig
from adaft_core.errors import ConfigError
from adaft_core.store.liveness import HOST, process_alive
from adaft_core.store.module_path import python_command
from adaft_core.store.run_log import read_run_json
from adaft_core.store.runs import (EVENTS_FILE, RUN_FILE, STOP_FILE, check_resumable, check_run_name_free, find_run, new_run_id,
                                   request_stop)

LAUNCH_DIR = ".launch"  # under the runs folder; hidden, so not a run


@dataclass
class LaunchedRun:
    """A run started by :func:`launch_run` (``process`` is None for one found on disk later)."""

    run_id: str
    run_dir: Path
    pid: int
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False, compare=False)
    pid_start: float | None = None  # for a run found on disk: tells its process from a reused pid

    @property
    def alive(self) -> bool:
        """Is the run's process still there? (reaps it when it has ended)"""
        if self.process is not None:
            return self.process.poll() is None
        return process_alive(self.pid, self.pid_start)

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    @property
    def started(self) -> bool:
        """Has the run written its first event (data and model are loaded)?"""
        try:
            return (self.run_dir / EVENTS_FILE).stat().st_size > 0
        except OSError:
            return False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the process to end; True if it ended within ``timeout`` seconds."""
        if self.process is not None:
            try:
                self.process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.alive:  # not our child: poll (a bounded wait for another process)
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def stop(self) -> str:
        """Ask the run to stop after its current step; before its folder exists (still loading),
        interrupt the process instead. Returns what was done, in words."""
        if self.run_dir.is_dir():
            return request_stop(self.run_dir)[1]
        if self.alive:
            os.kill(self.pid, signal.SIGINT)
            return f"interrupted {self.run_id} while it was loading"
        return f"{self.run_id} is not running"

    def failure(self) -> str | None:
        """Why the process ended before the run started (the log's error line), else None."""
        if self.alive or self.started:
            return None
        lines = [ln.strip() for ln in _tail(self.log_path).replace("\r", "\n").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("adaft: error:")]
        if errors:
            return errors[-1].removeprefix("adaft: error:").strip()
        code = self.returncode
        how = f"was killed (signal {-code})" if code is not None and code < 0 else f"exited (status {code})"
        return f"the run process {how} before the run started" + (f": {lines[-1]}" if lines else "")


def _tail(path: Path, size: int = 16384) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _reserve_log(launch_dir: Path, base: str, root: Path) -> tuple[str, Path]:
    """A free generated name: its log file created exclusively (``base``, ``base-2``, ...)."""
    n = 1
    while True:
        name = base if n == 1 else f"{base}-{n}"
        log = launch_dir / f"{name}.log"
        if not (root / name).exists():
            try:
                os.close(os.open(log, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                return name, log
            except FileExistsError:
                pass
        n += 1


def _env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(int(threads))
    return env


def launch_run(config: TrainConfig | dict | None = None, *, resume: str | None = None,
               output_dir: str | Path | None = None, threads: int | None = None) -> LaunchedRun:
    """Start ``config`` (or resume the run ``resume``: a name, prefix or folder) as a detached
    ``adaft train`` process. Config and name errors raise :class:`ConfigError` here, at once."""
    if (config is None) == (resume is None):
        raise ConfigError("launch_run needs a config or a run to resume (one of the two)")
    if resume is not None:
        run_dir = find_run(output_dir or "runs", resume).resolve()
        check_resumable(run_dir)
        (run_dir / STOP_FILE).unlink(missing_ok=True)  # the stop that ended it must not end the resume
        root, name = run_dir.parent, run_dir.name
        launch_dir = root / LAUNCH_DIR
        launch_dir.mkdir(parents=True, exist_ok=True)
        log = launch_dir / f"{name}.log"
        args = ["--resume", str(run_dir)]
    else:
        cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        cfg = cfg.validated()
        root = Path(output_dir if output_dir is not None else cfg.output_dir).expanduser().resolve()
        launch_dir = root / LAUNCH_DIR
        launch_dir.mkdir(parents=True, exist_ok=True)
        if cfg.run_name:
            check_run_name_free(root, cfg.run_name)
            name, log = cfg.run_name, launch_dir / f"{cfg.run_name}.log"
        else:
            name, log = _reserve_log(launch_dir, new_run_id(cfg.task, cfg.mode, cfg.seed), root)
        cfg_file = launch_dir / f"{name}.json"
        settings = {**cfg.to_dict(), "run_name": name, "output_dir": str(root)}
        cfg_file.write_text(json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8")
        args = ["--config", str(cfg_file), "--run-name", name, "--output-dir", str(root)]
    cmd = [*python_command("adaft_core.cli"), "train", *args, "--no-progress"]  # no working folder on its path
    with open(log, "ab") as out:
        out.write(f"adaft launcher {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=_env(threads), close_fds=True)
    return LaunchedRun(name, root / name, proc.pid, log, proc)


def launch_log(run_dir: str | Path) -> Path:
    """Where :func:`launch_run` writes the output of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    return run_dir.parent / LAUNCH_DIR / f"{run_dir.name}.log"


def running_launched(output_dir: str | Path, newest: int = 50) -> list[LaunchedRun]:
    """Runs that :func:`launch_run` started in ``output_dir`` and whose process still runs on this
    host, newest first (a new page re-attaches to them)."""
    root = Path(output_dir)
    try:
        logs = sorted((root / LAUNCH_DIR).glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    out = []
    for log in logs[:newest]:
        run_dir = root / log.stem
        info, _ = read_run_json(run_dir / RUN_FILE)
        owner = (info or {}).get("owner")
        if not (isinstance(owner, dict) and info.get("status") == "running" and owner.get("host") == HOST
                and isinstance(owner.get("pid"), int)):
            continue
        if process_alive(owner["pid"], owner.get("pid_start")):
            out.append(LaunchedRun(log.stem, run_dir, owner["pid"], log, pid_start=owner.get("pid_start")))
    return out
