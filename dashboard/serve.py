"""``adaft dashboard``: serve ``app.ipynb`` with Voila on 127.0.0.1, culling idle kernels.

Each page load gets its own kernel running :class:`dashboard.App` on the runs folder (passed to
the kernel as ``$ADAFT_RUNS_DIR``, absolute, because the kernel starts in the notebook's
folder). Opening the page never starts training. A kernel counts as idle when it has sent
nothing for ``cull_idle`` seconds — a live page sends updates while anything changes — and an
idle kernel with no page connected is shut down. Runs started from a page are their own processes
(``adaft_core.launcher``): culling or closing the page does not touch them, and the next page
opened shows them live again.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from adaft_core.errors import AdaftError

NOTEBOOK = Path(__file__).with_name("app.ipynb")
NEEDED = ("voila", "ipywidgets", "plotly", "anywidget", "ipykernel", "jupyter_server")
DEFAULT_PORT = 8866


def missing_dependencies() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def voila_argv(port: int = DEFAULT_PORT, ip: str = "127.0.0.1", cull_idle: int = 900,
               open_browser: bool = False) -> list[str]:
    """The Voila command line (without the program name)."""
    argv = [str(NOTEBOOK), f"--port={int(port)}", f"--Voila.ip={ip}", "--theme=light",
            "--VoilaConfiguration.show_tracebacks=True", "--Voila.port_retries=0"]
    if not open_browser:
        argv.append("--no-browser")
    if cull_idle and cull_idle > 0:
        argv += [f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
                 f"--MappingKernelManager.cull_interval={max(10, min(60, int(cull_idle) // 2))}"]
    return argv


def serve(runs_dir: str | Path = "runs", port: int = DEFAULT_PORT, ip: str = "127.0.0.1",
          cull_idle: int = 900, open_browser: bool = False) -> int:
    """Run the Voila server in this process until it is interrupted (Ctrl-C)."""
    missing = missing_dependencies()
    if missing:
        raise AdaftError(f"adaft dashboard needs {', '.join(missing)}: install the dashboard extra, "
                         "e.g. pip install -e '.[dashboard]' (scripts/install.sh does this)")
    runs = Path(runs_dir).expanduser().resolve()
    runs.mkdir(parents=True, exist_ok=True)
    os.environ["ADAFT_RUNS_DIR"] = str(runs)
    if ip not in ("127.0.0.1", "localhost", "::1"):
        print(f"adaft dashboard: listening on {ip}: anyone who can reach it can start runs on this machine")
    print(f"adaft dashboard: runs folder {runs}; open http://{'127.0.0.1' if ip == '127.0.0.1' else ip}:{port}/ "
          "(Ctrl-C stops the server)", flush=True)
    from voila.app import Voila

    Voila.launch_instance(argv=voila_argv(port, ip, cull_idle, open_browser))
    return 0
