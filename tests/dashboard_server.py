"""``adaft dashboard`` as a real server for the tests that need one (browser, the door) and for
``bench/``: the tests' names for ``scripts/served_page.py``, which the screenshot scripts share."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from served_page import Server, dashboard_argv, free_port, start_server as _start  # noqa: E402
from served_page import stop_server  # noqa: E402

__all__ = ["Server", "free_port", "start_dashboard", "start_server", "stop_dashboard", "stop_server"]


def start_dashboard(tmp_path: Path, runs: Path, *args: str, env: dict | None = None):
    """Start ``adaft dashboard --runs RUNS ARGS --port PORT`` in ``tmp_path``; wait until its port
    accepts connections (a page request would start a kernel). Returns (process, port, log file)."""
    return start_server(tmp_path, dashboard_argv("--runs", str(runs), *args), env=env)


def start_server(tmp_path: Path, argv, env: dict | None = None, what: str = "the dashboard server"):
    """Start ``argv(port)`` (a free port) in ``tmp_path``, its output in ``tmp_path/server-PORT.log``;
    wait until the port accepts connections. Returns (process, port, log file)."""
    server = _start(argv, cwd=tmp_path, env=env, what=what)
    return server.proc, server.port, server.log


def stop_dashboard(proc, log) -> None:
    """SIGTERM, then SIGKILL after 30 s; closes the log."""
    stop_server(Server(proc, 0, Path(log.name), log))
