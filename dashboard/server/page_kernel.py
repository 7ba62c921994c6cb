"""What a served page's kernel does before it builds the page: share Plotly's bundle, warm up, wait.

Three things keep the first figure of ``adaft dashboard`` fast (issue 12; measured by
``bench/dashboard.py --page``):

- :func:`share_plotly_bundle`. A Plotly ``FigureWidget`` is an anywidget whose state carries
  Plotly's whole JavaScript bundle (``_esm``, ~5 MB); the browser receives and compiles it once
  *per figure* (the dashboard has four), seconds of a small machine's CPU before the first
  figure draws. ``adaft dashboard`` serves that file (``/voila/labextensions/widgetbundle.js``,
  same door as the page) and says so in ``$ADAFT_PLOTLY_BUNDLE``; this function then gives every
  ``FigureWidget`` a 300-byte module that imports it from there: one download, one compile, per
  page. Without that variable (JupyterLab, plain ``voila``) nothing changes.
- :func:`warm_up`. With pre-heating (the default of ``adaft dashboard``), Voila starts a kernel and
  runs the notebook *before* a browser asks for the page. The slow, page-independent part is done
  then: the imports (ipywidgets, Plotly's FigureWidget and validators) and a throwaway
  :class:`~dashboard.app.App` built and ticked on an empty folder (Plotly's first-use caches),
  its widgets closed again.
- :func:`wait_for_page`. The pre-heated kernel then waits until Voila hands it to a page request;
  only then is the real ``App`` built (≈ 0.2 s), on the runs folder as it is *now*: a pre-heated
  page shows, and follows the running run, exactly like a page whose kernel started with the
  request.

Outside a pre-heated kernel :func:`warm_up` and :func:`wait_for_page` do nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

PREHEAT_ENV = "VOILA_PREHEAT"  # "True" in the kernels Voila pre-heats
BUNDLE_ENV = "ADAFT_PLOTLY_BUNDLE"  # the bundle's path under the server's base URL (set by adaft dashboard)
BUNDLE_URL = "voila/labextensions/widgetbundle.js"
PROOF_SCHEME = "adaft-kernel"  # Authorization: adaft-kernel <kernel_proof>, on /voila/query/KERNEL
# The FigureWidget's module: import the served bundle once (the browser's module map keeps it).
STUB = """const config = document.getElementById("jupyter-config-data");
const base = (config && JSON.parse(config.textContent).baseUrl) || "/";
const bundle = await import(new URL(base + "{path}", window.location.href).href);
export default bundle.default;
"""


def preheated() -> bool:
    """Whether this kernel was started by Voila ahead of its page (a pooled kernel)."""
    return os.environ.get(PREHEAT_ENV, "False") == "True"


def plotly_bundle_dir() -> Path | None:
    """The folder holding Plotly's ``widgetbundle.js`` (the server serves it; the kernel's Plotly
    is the same install), found without importing Plotly; None if it is not there."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / "package_data" / "widgetbundle.js").is_file():
            return Path(folder).resolve() / "package_data"
    return None


def share_plotly_bundle() -> bool:
    """Make every FigureWidget created from now on load Plotly's bundle from the server (once per
    page) instead of carrying it in its state; True if done (``$ADAFT_PLOTLY_BUNDLE`` set)."""
    path = os.environ.get(BUNDLE_ENV, "")
    if not path:
        return False
    from plotly.graph_objs import FigureWidget

    FigureWidget._esm = STUB.replace("{path}", path.lstrip("/"))
    return True


def warm_up() -> float:
    """Build, tick and close a throwaway App on an empty folder, closing every widget it made (the
    page would otherwise load their states too); the seconds it took. Does nothing outside a
    pre-heated kernel, where the real App pays the same cost once."""
    if not preheated():
        return 0.0
    t0 = time.perf_counter()
    from ipywidgets.widgets.widget import Widget, _instances

    from adaft_dashboard.app import App

    before = set(_instances)
    with tempfile.TemporaryDirectory() as tmp:
        app = App(Path(tmp) / "runs", autostart=False)
        app.tick()
        app.close()
    for key in set(_instances) - before:
        widget = _instances.get(key)
        if isinstance(widget, Widget):
            widget.close()
    return time.perf_counter() - t0


def wait_for_page() -> None:
    """In a pre-heated kernel, block until Voila hands it to a page request, then put the request's
    details in the environment, as ``voila.utils.wait_for_request`` does; at once elsewhere (or if
    the server cannot be reached: the page is then built ahead, as plain pre-heating does).

    Voila's own client cannot say who is asking; ``adaft dashboard``'s ``/voila/query/KERNEL`` answers
    only this kernel, which shows an HMAC of its id under its connection key
    (:func:`kernel_proof`)."""
    if not preheated():
        return
    import json

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    try:
        socket = connect(query_url(), additional_headers={"Authorization": f"{PROOF_SCHEME} {proof()}"},
                         open_timeout=5)
    except Exception as exc:  # noqa: BLE001 - the page still works, only built before its request
        import sys

        print(f"adaft dashboard: a pre-heated kernel could not read its page request ({exc!r}); "
              "its page is built ahead", file=sys.__stderr__, flush=True)  # the server's log, not the page
        return
    with socket:
        try:
            os.environ.update(json.loads(socket.recv()))
        except ConnectionClosed:  # the server stopped before any page came
            pass


def query_url() -> str:
    """Where Voila tells this kernel its page request (the address ``voila.utils.wait_for_request`` uses)."""
    env = os.environ.get
    base = env("VOILA_WS_BASE_URL", env("VOILA_SERVER_URL", "/"))
    return (f"{env('VOILA_WS_PROTOCOL', 'ws')}://{env('VOILA_APP_IP', '127.0.0.1')}:{env('VOILA_APP_PORT', '8866')}"
            f"{base}voila/query/{env('VOILA_KERNEL_ID')}")


def kernel_proof(key: bytes, kernel_id: str) -> str:
    """What a kernel shows to read its page request: HMAC-SHA256 of its id under its connection key,
    which only the server and that kernel hold (checked by :class:`adaft_dashboard.server.door.KernelQuerySocket`)."""
    import hashlib
    import hmac

    return hmac.new(key, kernel_id.encode(), hashlib.sha256).hexdigest()


def proof() -> str:
    """This kernel's :func:`kernel_proof`, from its session's key."""
    from IPython import get_ipython

    return kernel_proof(get_ipython().kernel.session.key, os.environ.get("VOILA_KERNEL_ID", ""))


def start_page() -> None:
    """What ``app.ipynb`` runs before ``App.from_env()``: the three steps above, in order."""
    share_plotly_bundle()
    warm_up()
    wait_for_page()
