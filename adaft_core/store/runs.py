"""The run store: run folder layout, names, and reading runs back whatever state they are in.

A run lives in ``<output_dir>/<run_id>/``:

- ``events.jsonl`` — the run log (one event per line, flushed per event; the contract of
  ``docs/events.md``);
- ``run.json`` — config, owner (host, pid, process start) and status (``running`` while it
  trains, then the final status);
- ``heartbeat.json`` — rewritten every few seconds while the run's process lives (liveness.py);
- ``checkpoint/`` — the state after the last completed epoch (written atomically);
- ``model/`` — the final model + tokenizer (``transformers.pipeline`` loads it);
- ``STOP`` — create this file to ask a run in another process to stop after the current step.

Every other top-level folder whose name starts with a dot (``.launch/``: the launcher's logs) or
is in :data:`NOT_RUNS` is not a run. :func:`summarize_run` never raises: a run that has not ended
and whose process is gone is ``interrupted``; a folder whose files are missing, damaged or not
readable by this user is ``unreadable`` with the reason (``file:line: why``, see run_log.py), and
what could be read is still summarised. A folder with neither ``run.json`` nor a log is
``starting`` for :data:`STARTING_GRACE`, then ``unreadable`` (``not a run: ...``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

from adaft_core.errors import ConfigError
from adaft_core.store.liveness import read_heartbeat, run_liveness
from adaft_core.store.run_log import EVENTS_FILE, drop_incomplete_tail, iter_events, read_events, read_log, read_run_json  # noqa: F401

RUN_FILE = "run.json"
STOP_FILE = "STOP"
NOT_RUNS = ("sweeps", "exports")  # folders of the runs folder that hold no run
FINAL = ("completed", "early_stopped", "stopped", "failed")
RESUMABLE = ("interrupted", "stopped", "failed")  # adaft train --resume continues these
STARTING_GRACE = 60.0  # a new folder without files yet is "starting" for this long


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
    if explicit_name:
        check_run_name_free(root, run_id)  # says whether it runs or can be resumed
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            raise ConfigError(f"run {run_id!r} was just created in {root} by another process; "
                              "choose another --run-name") from None
    n = 2
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            path = root / f"{run_id}-{n}"
            n += 1


@dataclass
class RunSummary:
    """One row of ``adaft runs list`` (built from ``run.json``, the run log and liveness)."""

    run_id: str
    path: Path
    status: str = "unknown"  # running/starting/interrupted/unreadable or run_ended's status
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
    reason: str | None = None  # why the run is unreadable (the first problem found)
    notes: list[str] = field(default_factory=list)  # smaller things worth saying (ignored half line, ...)
    last_seen: float | None = None  # interrupted/running: last heartbeat or event
    owner: dict[str, Any] | None = None  # host, pid, pid_start of the process that writes it
    alive: bool | None = None  # None: the run has ended (or never started)
    error: str | None = None  # run_ended's error
    extra: dict[str, Any] = field(default_factory=dict)


def _fold(s: RunSummary, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Fill ``s`` from the events; the ``run_ended`` that ends the log (None if it has not ended)."""
    ended, last_eval = None, None
    for ev in events:
        kind = ev["event"]
        if kind == "run_started":
            s.started = ev.get("time", s.started)
            s.task, s.mode = ev.get("task", s.task), ev.get("mode", s.mode)
            s.strategy, s.metric = ev.get("strategy", s.strategy), ev.get("metric") or s.metric
        elif kind == "eval" and ev.get("split") == "validation":
            last_eval = ev
            s.epochs, s.metric = (ev.get("epoch") or 0) + 1, ev.get("metric", s.metric)
        elif kind == "resumed":
            ended = None  # a resumed run writes on: an earlier run_ended no longer ends it
        elif kind == "run_ended":
            ended = ev
    if last_eval is not None:
        s.val_score = last_eval.get("score")
    if ended is not None:
        s.status, s.epochs, s.best_epoch = ended.get("status", "unknown"), ended.get("epochs"), ended.get("best_epoch")
        s.wall_time, s.error = ended.get("wall_time"), ended.get("error")
        val, test = ended.get("val"), ended.get("test")
        s.val_score = val.get(s.metric) if isinstance(val, dict) else s.val_score
        s.test_score = test.get(s.metric) if isinstance(test, dict) else None
    return ended


def resumes(events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int, float]]:
    """Each ``resumed`` event of a log with how many logged steps it replays (those after its
    checkpoint's step: trained again and logged twice, the later line counts) and the seconds the
    run was not running before it (since the last event before it: down time plus restart)."""
    out, logged, last_time = [], set(), None
    for ev in events:
        t = ev.get("time") if isinstance(ev.get("time"), (int, float)) else None
        if ev["event"] == "resumed":
            at = ev.get("step") if isinstance(ev.get("step"), int) else 0
            gap = t - last_time if t is not None and last_time is not None else 0.0
            out.append((ev, sum(1 for n in logged if n > at), max(0.0, gap)))
            logged = {n for n in logged if n <= at}
        elif ev["event"] == "step" and isinstance(ev.get("step"), int):
            logged.add(ev["step"])
        last_time = t if t is not None else last_time
    return out


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def summarize_run(path: str | Path, now: float | None = None) -> RunSummary:
    """Read a run folder into a :class:`RunSummary`; never raises (see the module docstring): a
    file or folder this user may not read (mode 000) makes it ``unreadable``, naming the file."""
    path = Path(path)
    try:
        return _summarize(path, time.time() if now is None else now)
    except OSError as exc:  # the readers below name what they cannot read; this is the last net
        where = Path(exc.filename).name if exc.filename else path.name
        return RunSummary(run_id=path.name, path=path, status="unreadable",
                          reason=f"{where} cannot be read ({exc.strerror or exc})")


def _summarize(path: Path, now: float) -> RunSummary:
    s = RunSummary(run_id=path.name, path=path)
    info, info_problem = read_run_json(path / RUN_FILE)
    if info is not None:
        cfg = info.get("config") if isinstance(info.get("config"), dict) else {}
        s.status, s.task, s.mode = str(info.get("status", "unknown")), cfg.get("task", ""), cfg.get("mode", "")
        s.strategy = cfg.get("strategy", "")
        s.owner = info.get("owner") if isinstance(info.get("owner"), dict) else None
        s.started = info.get("started") if isinstance(info.get("started"), (int, float)) else None
    log = read_log(path / EVENTS_FILE)
    ended = _fold(s, log.events)
    if log.bad_lines > 1:
        s.notes.append(f"{log.bad_lines} bad lines skipped")
    if ended is None and s.status not in FINAL:  # not ended: is its process still there?
        mtimes = [t for t in (_mtime(path / EVENTS_FILE), _mtime(path / RUN_FILE), _mtime(path)) if t]
        lv = run_liveness(path, owner=s.owner, now=now, log_mtime=max(mtimes, default=None))
        if not lv.alive:  # it may have ended since run.json was read: the final run.json says so
            again, _ = read_run_json(path / RUN_FILE)
            if again is not None and again.get("status") in FINAL:
                return _summarize(path, now)
        last_event = log.events[-1].get("time") if log.events else None
        seen = [t for t in (lv.last_seen, last_event) if isinstance(t, (int, float))]
        s.alive, s.last_seen = lv.alive, max(seen, default=None)
        s.status = "running" if lv.alive else "interrupted"
        if not lv.alive:
            s.notes.append(f"process gone ({lv.why}); last seen {_when(s.last_seen)}")
        if s.started is not None:  # the time it was not running (before each resume) left out
            down = sum(gap for _, _, gap in resumes(log.events))
            s.wall_time = (now if lv.alive else (s.last_seen or now)) - s.started - down
    if log.incomplete is not None and log.events:
        s.notes.append(f"{EVENTS_FILE}:{log.incomplete}: incomplete last line "
                       f"({'being written' if s.alive else 'ignored'})")
    problem = info_problem or log.problem
    if not log.events and not log.bad_lines:  # nothing logged yet: just created, or never started
        young = now - (_mtime(path) or 0) < STARTING_GRACE
        owned = s.owner is not None or read_heartbeat(path) is not None  # else "alive" means a recent mtime
        if (s.alive and owned) or (young and info is None and (log.missing or log.problem is None)):
            s.status, s.reason = "starting", None
            return s
        if info is None and log.missing and not owned:
            s.status, s.notes = "unreadable", []
            s.reason = (f"not a run: no {RUN_FILE} or {EVENTS_FILE} after {STARTING_GRACE:.0f} s (a run that died "
                        "while claiming this folder, or a folder of something else)")
            return s
        problem = problem or (f"{EVENTS_FILE}:1: an incomplete line and nothing else" if log.incomplete
                              else f"{EVENTS_FILE} is empty")
    if problem is not None:
        if info_problem and log.problem and info_problem != log.problem:
            s.notes.insert(0, log.problem)
        s.status, s.reason = "unreadable", problem
    return s


def _when(t: float | None) -> str:
    return "never" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def is_run_folder(path: Path) -> bool:
    """A folder of the runs folder that should hold a run (not hidden, not ``sweeps/`` etc.)."""
    return path.is_dir() and not path.name.startswith(".") and path.name not in NOT_RUNS


def run_folders(output_dir: str | Path) -> list[Path]:
    root = Path(output_dir)
    if not root.exists():
        return []
    if not root.is_dir():
        raise ConfigError(f"runs folder {root} is a file, not a folder")
    return sorted(p for p in root.iterdir() if is_run_folder(p))


def list_runs(output_dir: str | Path) -> list[RunSummary]:
    """Every run folder under ``output_dir``, newest first; damaged ones as ``unreadable``."""
    runs = [summarize_run(p) for p in run_folders(output_dir)]
    return sorted(runs, key=lambda r: r.started or _mtime(r.path) or 0, reverse=True)


def find_run(output_dir: str | Path, run: str) -> Path:
    """A run folder by path, exact name or unique name prefix; one clear error otherwise (an empty
    name too: as a prefix it would match the only run there)."""
    if not run.strip():
        raise ConfigError(f"no run named: give a run name, a unique beginning of one, or a run folder "
                          f"(`adaft runs list --runs {output_dir}` lists them)")
    direct = Path(run)
    try:
        if direct.is_dir() and ((direct / EVENTS_FILE).exists() or (direct / RUN_FILE).exists()):
            return direct
    except PermissionError:  # a run folder this user may not read: named all the same
        return direct
    root = Path(output_dir)
    names = [p.name for p in run_folders(root)]
    if run in names:
        return root / run
    matches = [n for n in names if n.startswith(run)]
    if len(matches) == 1:
        return root / matches[0]
    if matches:
        raise ConfigError(f"run {run!r} is ambiguous in {root}: {len(matches)} runs begin with it "
                          f"({_some(matches)}); give more of the name")
    raise ConfigError(f"no run {run!r} in {root} (runs there: {_some(names) or 'none'}); "
                      "give a run name, a unique beginning of one, or a run folder")


def _some(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def check_run_name_free(output_dir: str | Path, name: str) -> None:
    """Raise :class:`ConfigError` if ``<output_dir>/<name>`` exists, saying what it holds: a run
    that is running, one that can be resumed, a finished one, or something else."""
    root, path = Path(output_dir), Path(output_dir) / name
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise ConfigError(f"{path} exists and is not a run folder; choose another --run-name")
    s = summarize_run(path)
    if s.status in ("running", "starting"):
        who = f" (process {s.owner['pid']} on {s.owner.get('host')})" if s.owner else ""
        raise ConfigError(f"run {name!r} is already running in {root}{who}; choose another --run-name "
                          "or stop that run first")
    if s.status in RESUMABLE:
        raise ConfigError(f"run {name!r} already exists in {root} ({s.status}); continue it with "
                          f"`adaft train --resume {name}` or choose another --run-name")
    if s.status == "unreadable":
        raise ConfigError(f"a folder {name!r} already exists in {root} and is not a readable run "
                          f"({s.reason}); choose another --run-name or remove that folder")
    raise ConfigError(f"run {name!r} already exists in {root} ({s.status}); choose another --run-name "
                      "or remove that folder")


def request_stop(path: str | Path) -> tuple[bool, str]:
    """Ask the run in ``path`` to stop after its current step (``STOP`` file) if its process is
    there; (asked, what happened in words) — an interrupted run is said to be so."""
    s = summarize_run(path)
    if s.alive:
        (Path(path) / STOP_FILE).touch()
        return True, f"asked {s.run_id} to stop after its current step"
    if s.status == "interrupted":
        return False, (f"{s.run_id} is interrupted: its process is gone (last seen {_when(s.last_seen)}); "
                       "nothing to stop — resume it to continue")
    return False, f"{s.run_id} is not running ({s.status})"


def check_resumable(run_dir: Path) -> dict:
    """The ``run.json`` of a run that may be continued (read only).

    Refuses, saying why, a run that is still running, has ended (completed / early stopped),
    or is unreadable.
    """
    s = summarize_run(run_dir)
    if s.status not in RESUMABLE:
        owner = f" (process {s.owner.get('pid')} on {s.owner.get('host')})" if s.owner else ""
        why = {"running": f"it is still running{owner}; stop it first",
               "starting": "it is just starting; stop it first",
               "completed": "it has already completed; start a new run instead",
               "early_stopped": "it has already ended (early stopped); start a new run instead",
               "unreadable": f"its folder is unreadable ({s.reason}); make it readable to resume it, or start "
                             f"the run over with a new `adaft train` (moving {run_dir} away)"}.get(
            s.status, f"its status is {s.status}")
        raise ConfigError(f"run {run_dir.name!r} in {run_dir.parent} cannot be resumed: {why}")
    info = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))  # readable: checked above
    if not isinstance(info.get("config"), dict):
        raise ConfigError(f"run {run_dir.name!r} cannot be resumed: its {RUN_FILE} holds no config")
    return info
