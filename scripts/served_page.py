"""A page served by ``adaft dashboard`` at a free port, started and waited for in one place.

Shared by the screenshot scripts (``scripts/dashboard_screenshot.py``,
``scripts/notebook_screenshot.py``) and the tests' server helper (``tests/dashboard_server.py``,
which the browser tests, the door test and ``bench/`` use)::

    with served_page(["--runs", "runs"]) as server:
        browser_page.goto(server.url)

:func:`start_server` starts ``argv(port)`` on a free port with its output in a log file and
returns once the port accepts connections (a connection, not a page request: a page request
would start a kernel); :func:`stop_server` ends it with SIGTERM (SIGKILL after 30 s). The headless
Chromium that opens such pages is here too: its path (``$ADAFT_CHROMIUM``) and its flags.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

# Chromium's flags for a headless page in a container (the scripts' and the browser tests')
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM = os.environ.get("ADAFT_CHROMIUM", "/usr/bin/chromium")


class ServerError(RuntimeError):
    """The server exited, or its port did not open in time; the message ends with its log's tail."""


@dataclass
class Server:
    """A started server: its process, port and log file."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    log: IO[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_argv(*args: str) -> Callable[[int], list[str]]:
    """``port -> [python, -m, adaft_core.cli, dashboard, ARGS..., --port, PORT]``."""
    return lambda port: [sys.executable, "-m", "adaft_core.cli", "dashboard", *args, "--port", str(port)]


def start_server(argv: Callable[[int], Sequence[str]], *, cwd: Path | None = None, env: dict | None = None,
                 log_dir: Path | None = None, what: str = "the dashboard server", timeout: float = 90) -> Server:
    """Start ``argv(port)`` on a free port in ``cwd``, its output in ``LOG_DIR/server-PORT.log``
    (``log_dir`` defaults to ``cwd``, then the current folder), with one torch thread unless ``env``
    or the environment says otherwise (the runs a page launches inherit it); wait until the port
    accepts connections. Raises :class:`ServerError` if the server exits or ``timeout`` s pass."""
    port = free_port()
    log_path = Path(log_dir or cwd or ".") / f"server-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - closed by stop_server
    proc = subprocess.Popen(list(argv(port)), stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                            env={"OMP_NUM_THREADS": "1", **os.environ, **(env or {})})
    server = Server(proc, port, log_path, log)
    try:
        _wait_for_port(server, what, timeout)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_for_port(server: Server, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise ServerError(f"{what} exited: {server.log_path.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ServerError(f"{what} did not open port {server.port} in {timeout:g} s: "
                                  f"{server.log_path.read_text()[-3000:]}") from None
            time.sleep(0.25)


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL after 30 s; closes the log file (which stays on disk)."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(30)
    server.log.close()


@contextmanager
def served_page(args: Sequence[str], **kw) -> Iterator[Server]:
    """``adaft dashboard ARGS --port PORT`` running while the block runs (``kw``: :func:`start_server`'s)."""
    server = start_server(dashboard_argv(*args), **kw)
    try:
        yield server
    finally:
        stop_server(server)
