"""``adaft dashboard`` as a real server for the tests that need one (browser, the door)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from polling import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(tmp_path: Path, runs: Path, *args: str, env: dict | None = None):
    """Start ``adaft dashboard --runs RUNS --port PORT ARGS`` in ``tmp_path``; wait until its port
    accepts connections (a page request would start a kernel). Returns (process, port, log file)."""
    return start_server(tmp_path, lambda port: [sys.executable, "-m", "adaft_core.cli", "dashboard", "--runs",
                                                str(runs), "--port", str(port), *args], env=env)


def start_server(tmp_path: Path, argv, env: dict | None = None, what: str = "the dashboard server"):
    """Start ``argv(port)`` (a free port) in ``tmp_path``, its output in ``tmp_path/server-PORT.log``;
    wait until the port accepts connections. Returns (process, port, log file)."""
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop_dashboard
    proc = subprocess.Popen(argv(port), stdout=log, stderr=subprocess.STDOUT,
                            env={"OMP_NUM_THREADS": "1", **os.environ, **(env or {})}, cwd=tmp_path)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {log_path.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            return False

    try:
        wait_for(up, 90, what, every=0.25)
    except BaseException:
        stop_dashboard(proc, log)
        raise
    return proc, port, log


def stop_dashboard(proc: subprocess.Popen, log) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
