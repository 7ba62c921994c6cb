"""``adaft dashboard``: serve ``app.ipynb`` with Voila, behind a door, freeing closed pages' kernels.

``adaft dashboard --notebook NAME`` serves one of the project's notebooks (``notebooks/NAME.ipynb``,
or any ``.ipynb`` path, :func:`resolve_notebook`) instead, through the same door, data roots,
``$ADAFT_RUNS_DIR`` and kernel limits; Voila shows it without its code cells.

Each page load gets its own kernel running :class:`adaft_dashboard.App` on the runs folder (passed to
the kernel as ``$ADAFT_RUNS_DIR``, absolute, because the kernel starts in the notebook's
folder) and the data roots (``$ADAFT_DATA_ROOTS``, see :mod:`adaft_core.store.data_roots`). Opening
the page never starts training. A kernel with no page connected for ``cull_idle`` seconds is
shut down, and at most ``max_kernels`` run at once (:mod:`adaft_dashboard.server.kernels`). Runs started from
a page are their own processes (``adaft_core.store.launcher``): culling or closing the page does not
touch them.

The first figure comes fast (issue 12, ``bench/dashboard.py --page``): by default one kernel is
pre-heated (``--preheat N``, Voila's ``preheat_kernel``; ``--no-preheat`` turns it off): started,
its imports done and Plotly warmed up, it waits for the next page request and only then builds
the App (:mod:`adaft_dashboard.server.page_kernel`); pre-heated kernels wait beside the ``max_kernels`` pages
and are never culled. Plotly's widget bundle is served once
(``/voila/labextensions/widgetbundle.js``) instead of travelling, 5 MB each, in every figure's
widget state. ``--notebook`` pages are not pre-heated unless ``--preheat`` says so (a pre-heated
kernel runs the notebook before anyone asks for it).

The door, with Jupyter server's own mechanisms (:func:`voila_config`):

- on loopback the page is open to local users, as before; binding to any other address needs a
  token (generated with :func:`secrets.token_urlsafe` and printed once in the URL, like
  Jupyter, unless ``--token`` or ``$ADAFT_DASHBOARD_TOKEN`` gives one) or a password
  (``--password``: asked for, stored only as its argon2 hash); an explicitly empty token there
  is refused (:func:`check_door`);
- every request's ``Host`` must be a loopback address or an allowed host name (``localhost``
  and the ``--allow-origin`` names: ``allow_remote_access=False`` + ``local_hostnames``), which
  stops DNS-rebinding pages; cross-origin requests are refused unless their origin is one of
  the ``--allow-origin`` URLs (``allow_origin_pat``);
- Voila itself serves no Jupyter REST API (``/api/contents``, ``/api/terminals``, the kernel
  list) and its kernel websocket forwards only comm and info messages, never ``execute_request``.
  Besides the page it serves static files (Voila's, the lab extensions', Plotly's data folder —
  public library files) and, with pre-heating, Voila's ``/voila/query/KERNEL`` websocket, which
  gives a kernel its page request's details (path, query) and needs the kernel's id.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

from adaft_core.errors import AdaftError, ConfigError

from adaft_dashboard.server.page_kernel import BUNDLE_ENV, BUNDLE_URL, plotly_bundle_dir

NOTEBOOK = Path(__file__).resolve().parents[1] / "page" / "app.ipynb"  # alone in its folder: the kernel starts there
NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NEEDED = ("voila", "ipywidgets", "plotly", "anywidget", "ipykernel", "jupyter_server")
DEFAULT_PORT = 8866
TOKEN_ENV = "ADAFT_DASHBOARD_TOKEN"
LOCAL_HOSTNAMES = ("localhost",)
DEFAULT_MAX_KERNELS = 10
DEFAULT_PREHEAT = 1  # kernels kept started, their notebook run up to the page's own part (adaft_dashboard.warm)
KERNEL_MANAGER = "adaft_dashboard.server.kernels.PageKernelManager"
IDENTITY = "adaft_dashboard.server.door.DoorIdentityProvider"  # Jupyter's login, Origin checked with a token too
DEFAULT_GRACE = 60  # s a page's kernel lives without a page connected (--cull-idle)
MAX_PREHEAT = 8


def missing_dependencies() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def is_loopback(ip: str) -> bool:
    """Whether ``ip`` (an address or ``localhost``) only listens on this machine."""
    if ip in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or "": it may resolve to (or mean) every interface


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def check_door(ip: str, token: str | None, hashed_password: str = "") -> str:
    """The token to serve with: ``token`` if given; on a non-loopback ``ip`` without a password,
    a new random one; on loopback none. A non-loopback bind with an empty token and no password
    is a ConfigError."""
    if is_loopback(ip):
        return token or ""
    if token is None:
        return "" if hashed_password else secrets.token_urlsafe(32)
    if not token and not hashed_password:
        raise ConfigError(f"adaft dashboard: listening on {ip!r} (not loopback) needs a token or a password; "
                          "leave --token out to get a generated one, or give --password")
    return token


def allowed_hosts(allow_origins: tuple[str, ...] | list[str] = ()) -> tuple[list[str], list[str]]:
    """(host names accepted in ``Host``, origins accepted cross-origin) from ``--allow-origin``
    values: a host name (``team.example.org``) or an origin URL (``https://team.example.org``)."""
    names, origins = list(LOCAL_HOSTNAMES), []
    for value in allow_origins:
        value = value.strip().rstrip("/")
        if not value:
            continue
        if "://" in value:
            parts = urlsplit(value)
            if not parts.hostname:
                raise ConfigError(f"--allow-origin {value!r} is not a host name or an origin URL")
            origins.append(f"{parts.scheme}://{parts.netloc}")
            host = parts.hostname
        else:
            host = value.split(":")[0] if value.count(":") == 1 else value
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", host):
            raise ConfigError(f"--allow-origin {value!r} is not a host name or an origin URL")
        if not is_loopback(host) and _is_ip(host):
            raise ConfigError(f"--allow-origin {value!r}: Jupyter's Host check accepts IP addresses only on "
                              "loopback; give the machine's host name (DNS or /etc/hosts) instead")
        if host not in names:
            names.append(host)
    return names, origins


def check_flags(runs_dir, port: int, ip: str, cull_idle: int, max_kernels: int, preheat: int | None) -> None:
    """A ConfigError naming the value and its valid range for the first flag out of range (issue 22),
    before anything is bound or written."""
    import socket

    for flag, value, low, high, meaning in (("--port", port, 1, 65535, ""),
                                            ("--cull-idle", cull_idle, 0, None, " (0: never)"),
                                            ("--max-kernels", max_kernels, 0, None, " (0: no bound)"),
                                            ("--preheat", preheat, 0, MAX_PREHEAT, "")):
        if value is not None and not (low <= value and (high is None or value <= high)):
            valid = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise ConfigError(f"adaft dashboard {flag} {value}: must be {valid}{meaning}")
    try:
        socket.getaddrinfo(ip.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        raise ConfigError(f"adaft dashboard --ip {ip!r}: not an address to listen on; give an IP address "
                          "(127.0.0.1, the default; 0.0.0.0 for every interface) or a host name of this machine") from None
    runs = Path(runs_dir).expanduser()
    if runs.exists() and not runs.is_dir():
        raise ConfigError(f"adaft dashboard --runs {str(runs_dir)!r}: is a file; give a folder (created if missing)")


def available_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[str]:
    """The names ``--notebook`` accepts: the ``.ipynb`` stems in the project's ``notebooks/``."""
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def resolve_notebook(name: str | Path | None, folder: Path = NOTEBOOKS_DIR) -> Path:
    """The notebook to serve: the dashboard (``None``), ``folder/NAME.ipynb`` for a bare name such as
    ``04_teaching`` (with or without ``.ipynb``), else an ``.ipynb`` path (its suffix optional);
    anything else is a ConfigError that lists the available names."""
    if name is None or str(name) == "":
        return NOTEBOOK
    text = str(name)
    path = Path(text).expanduser()
    with_suffix = path if path.name.endswith(".ipynb") else path.with_name(path.name + ".ipynb")
    candidates = [with_suffix]
    if path.parent == Path(".") and not path.is_absolute():
        candidates.insert(0, folder / with_suffix.name)  # a bare name: the project's notebooks first
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    names = ", ".join(available_notebooks(folder)) or f"none in {folder}"
    raise ConfigError(f"adaft dashboard --notebook {text!r}: no such notebook; give a path to an .ipynb file "
                      f"or one of: {names}")


def voila_argv(port: int = DEFAULT_PORT, ip: str = "127.0.0.1", cull_idle: int = DEFAULT_GRACE,
               open_browser: bool = False, max_kernels: int = DEFAULT_MAX_KERNELS,
               notebook: str | Path = NOTEBOOK, preheat: int = 0) -> list[str]:
    """The Voila command line (without the program name); the door is in :func:`voila_config`.
    Kernels are managed by :class:`adaft_dashboard.server.kernels.PageKernelManager`: culled ``cull_idle`` s
    after their page closed (checked every ``cull_idle / 2`` s, 1 to 10), at most ``max_kernels``.
    ``notebook``: the page (default: the dashboard), shown without its code cells (Voila's default).
    ``preheat``: kernels Voila keeps started with the notebook already run (its pool); 0: none."""
    argv = [str(notebook), f"--port={int(port)}", f"--Voila.ip={ip}", "--theme=light",
            "--VoilaConfiguration.show_tracebacks=True", "--Voila.port_retries=0",
            f"--VoilaConfiguration.multi_kernel_manager_class={KERNEL_MANAGER}",
            f"--PageKernelManager.max_kernels={max(0, int(max_kernels))}"]
    bundle = plotly_bundle_dir()
    if bundle is not None:  # one copy of Plotly's JavaScript per page, not one per figure
        argv.append(f"--VoilaConfiguration.extra_labextensions_path={bundle}")
    if preheat and preheat > 0:
        argv += ["--VoilaConfiguration.preheat_kernel=True", f"--VoilaConfiguration.default_pool_size={int(preheat)}"]
    if not open_browser:
        argv.append("--no-browser")
    if cull_idle and cull_idle > 0:
        argv += [f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
                 f"--MappingKernelManager.cull_interval={max(1, min(10, int(cull_idle) // 2))}"]
    return argv


def voila_config(token: str = "", hashed_password: str = "", allow_origins=()) -> dict:
    """The door as traitlets config (values typed, which Voila's command line cannot do for
    its ``tornado_settings`` dict): the token or password and the ``Host``/``Origin`` checks."""
    names, origins = allowed_hosts(allow_origins)
    tornado = {"allow_remote_access": False, "local_hostnames": names}
    if origins:
        tornado["allow_origin_pat"] = "^(" + "|".join(re.escape(o) for o in origins) + ")$"
    config: dict = {"Voila": {"token": token, "tornado_settings": tornado, "identity_provider_class": IDENTITY}}
    if hashed_password:
        config["PasswordIdentityProvider"] = {"hashed_password": hashed_password}
    return config


def page_url(ip: str, port: int, token: str = "") -> str:
    host = "127.0.0.1" if ip in ("", "0.0.0.0", "::") else (f"[{ip}]" if ":" in ip else ip)
    return f"http://{host}:{port}/" + (f"?token={token}" if token else "")


def ask_password() -> str:
    """Ask for a password twice on the terminal; its argon2 hash (Jupyter's format)."""
    import getpass

    from jupyter_server.auth.security import passwd

    first = getpass.getpass("dashboard password: ")
    if not first or first != getpass.getpass("again: "):
        raise ConfigError("adaft dashboard: the passwords are empty or differ")
    return passwd(first)


def serve(runs_dir: str | Path = "runs", port: int = DEFAULT_PORT, ip: str = "127.0.0.1",
          cull_idle: int = DEFAULT_GRACE, open_browser: bool = False, token: str | None = None,
          password: bool = False, allow_origins=(), data_roots=(), max_kernels: int = DEFAULT_MAX_KERNELS,
          notebook: str | Path | None = None, preheat: int | None = None) -> int:
    """Run the Voila server in this process until it is interrupted (Ctrl-C); ``notebook``: serve
    that notebook (:func:`resolve_notebook`) instead of the dashboard; ``preheat``: keep that many
    kernels started ahead of the next page (0: a kernel starts with each page request; default: 1 for
    the dashboard, 0 for another notebook, which a pre-heated kernel would run before anyone asks)."""
    missing = missing_dependencies()
    if missing:
        raise AdaftError(f"adaft dashboard needs {', '.join(missing)}: install the dashboard extra, "
                         "e.g. pip install -e '.[dashboard]' (scripts/install.sh does this)")
    check_flags(runs_dir, port, ip, cull_idle, max_kernels, preheat)
    page = resolve_notebook(notebook)  # an unknown name stops here, before anything is set up
    if preheat is None:
        preheat = DEFAULT_PREHEAT if page == NOTEBOOK else 0
    from adaft_core.store.data_roots import ROOTS_ENV, resolve_roots, roots_to_env

    if token is None:
        token = os.environ.get(TOKEN_ENV)
    hashed = ask_password() if password else ""
    token = check_door(ip, token, hashed)
    config = voila_config(token, hashed, allow_origins)  # a bad --allow-origin stops here
    runs = Path(runs_dir).expanduser().resolve()
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"adaft dashboard --runs {str(runs_dir)!r}: cannot create the folder ({exc.strerror})") from None
    roots = resolve_roots(data_roots, runs)
    os.environ["ADAFT_RUNS_DIR"] = str(runs)
    os.environ[ROOTS_ENV] = roots_to_env(roots)
    if plotly_bundle_dir() is not None:
        os.environ[BUNDLE_ENV] = BUNDLE_URL  # adaft_dashboard.server.page_kernel.share_plotly_bundle reads it
    if ip not in ("", "0.0.0.0", "::"):
        os.environ["VOILA_APP_IP"] = ip.strip("[]")  # where a pre-heated kernel asks for its page request
    if not is_loopback(ip):
        hosts = ", ".join(config["Voila"]["tornado_settings"]["local_hostnames"])
        print(f"adaft dashboard: listening on {ip}: anyone with the {'password' if hashed else 'token'} can "
              f"start runs on this machine; pages are served to the host names {hosts} and loopback "
              "addresses (--allow-origin NAME adds one)")
    if page != NOTEBOOK:
        print(f"adaft dashboard: serving the notebook {page}", flush=True)
    print(f"adaft dashboard: runs folder {runs}; data roots {', '.join(map(str, roots))}", flush=True)
    print(f"adaft dashboard: open {page_url(ip, port, token)} (Ctrl-C stops the server)", flush=True)
    from traitlets.config import Config

    from adaft_dashboard.server.door import DashboardVoila

    argv = voila_argv(port, ip, cull_idle, open_browser, max_kernels, page, preheat)
    try:
        DashboardVoila.launch_instance(argv=argv, config=Config(config))
    except KeyboardInterrupt:  # a second Ctrl-C while the server stops: stop quietly, not with a traceback
        print("adaft dashboard: stopped", file=sys.stderr)
    return 0
