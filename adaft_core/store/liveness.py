"""Who runs a run, and whether that process is still there.

A run records its owner — ``{"host", "pid", "pid_start"}`` (the process start time, so a pid
reused by another process is not mistaken for the run) — in ``run.json`` and in a heartbeat
file, ``heartbeat.json`` in the run folder, that a daemon thread rewrites (atomically) every
few seconds with the current time. A reader judges a run that has not ended:

- same host: alive while a process with that pid and that start time exists (a zombie counts
  as gone);
- another host (a shared folder): alive while the heartbeat is younger than
  :data:`HEARTBEAT_TIMEOUT`;
- no owner and no heartbeat (a log written before 0.2.0): alive while the log changed within
  :data:`LEGACY_TIMEOUT`.

A run found not alive is ``interrupted``; the heartbeat's time (else the last event) is when it
was last seen. :func:`judge` is the pure decision, :func:`run_liveness` reads a folder.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HEARTBEAT_FILE = "heartbeat.json"
HEARTBEAT_INTERVAL = 5.0  # seconds between beats
HEARTBEAT_TIMEOUT = 60.0  # another host's run is seen as gone after this long without a beat
LEGACY_TIMEOUT = 900.0  # a run without owner or heartbeat: gone when its log is this old
HOST = socket.gethostname()


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, in a unit fixed per host (Linux: clock ticks since boot from
    ``/proc/<pid>/stat``; elsewhere psutil's create time, if psutil is installed); None if unknown."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return float(fields[19])  # field 22 of stat(5); fields[0] is field 3 (the state)
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil

        return round(psutil.Process(int(pid)).create_time(), 2)
    except Exception:  # noqa: BLE001 - no psutil, no such process, no access: unknown
        return None


def process_alive(pid: int, pid_start: float | None = None) -> bool:
    """Is process ``pid`` (started at ``pid_start``, when known) still running on this host?"""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):  # killed, waiting to be reaped: it will never write again
            return False
        return pid_start is None or float(fields[19]) == float(pid_start)
    except FileNotFoundError:
        return False
    except (OSError, IndexError, ValueError):
        pass  # no /proc (macOS): ask the kernel
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    now_start = process_start_time(pid)
    return pid_start is None or now_start is None or now_start == pid_start


def owner_info(pid: int | None = None) -> dict[str, Any]:
    """``{"host", "pid", "pid_start"}`` of this process (or of ``pid`` on this host)."""
    pid = os.getpid() if pid is None else int(pid)
    return {"host": HOST, "pid": pid, "pid_start": process_start_time(pid)}


@dataclass(frozen=True)
class Liveness:
    """A verdict: ``alive``, when the run was ``last_seen`` (Unix time: its last heartbeat; None if
    it has none; the log's time for a run without owner) and ``why`` in words."""

    alive: bool
    last_seen: float | None
    why: str


def judge(owner: dict | None, beat: dict | None, *, now: float, log_mtime: float | None = None,
          host: str = HOST, probe: Callable[[int, float | None], bool] = process_alive,
          timeout: float = HEARTBEAT_TIMEOUT) -> Liveness:
    """Is the process behind a run that has not ended still there? (see the module docstring)"""
    owner = owner if isinstance(owner, dict) and owner.get("pid") else beat if isinstance(beat, dict) else None
    seen = beat.get("time") if isinstance(beat, dict) and isinstance(beat.get("time"), (int, float)) else None
    if owner and owner.get("host") == host and isinstance(owner.get("pid"), int):
        alive = probe(owner["pid"], owner.get("pid_start"))
        return Liveness(alive, seen, f"process {owner['pid']} on {host} "
                                          f"{'is running' if alive else 'is gone'}")
    if seen is not None:
        alive = now - seen <= timeout
        where = f"on {owner.get('host')}" if owner else "elsewhere"
        return Liveness(alive, seen, f"heartbeat {now - seen:.0f} s ago ({where})")
    if log_mtime is not None:
        alive = now - log_mtime <= LEGACY_TIMEOUT
        return Liveness(alive, log_mtime, f"no owner recorded; log last written {now - log_mtime:.0f} s ago")
    return Liveness(False, None, "no owner, heartbeat or log recorded")


def read_heartbeat(run_dir: str | Path) -> dict | None:
    """The heartbeat file's content, or None (absent or unreadable: never an error)."""
    try:
        beat = json.loads((Path(run_dir) / HEARTBEAT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return beat if isinstance(beat, dict) else None


def run_liveness(run_dir: str | Path, owner: dict | None = None, now: float | None = None,
                 log_mtime: float | None = None) -> Liveness:
    """:func:`judge` for a run folder (``owner`` from its ``run.json``, when read already)."""
    return judge(owner, read_heartbeat(run_dir), now=time.time() if now is None else now, log_mtime=log_mtime)


class Heartbeat:
    """Rewrites ``<run_dir>/heartbeat.json`` every ``interval`` seconds from a daemon thread."""

    def __init__(self, run_dir: str | Path, interval: float = HEARTBEAT_INTERVAL):
        self.path = Path(run_dir) / HEARTBEAT_FILE
        self.interval = interval
        self.owner = owner_info()
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Write one beat through a temporary file and ``os.replace`` (a reader never sees half)."""
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            tmp.write_text(json.dumps({**self.owner, "time": time.time(), "beats": self.beats}), encoding="utf-8")
            os.replace(tmp, self.path)
            self.beats += 1
        except OSError:
            pass  # a full disk must not end the run; readers fall back on the owner's pid

    def start(self) -> "Heartbeat":
        self.beat()
        self._thread = threading.Thread(target=self._loop, name="adaft-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        """Stop beating (the file stays: it tells when the run was last seen)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 1)
        self.beat()
