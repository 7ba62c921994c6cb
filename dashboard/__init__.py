"""adaft's live dashboard: ipywidgets + Plotly views fed by run events; knows nothing of torch.

``from adaft_dashboard import App; App("runs")`` in JupyterLab / Notebook 7, or ``adaft dashboard``
for the same app as a Voila web page. Modules: ``state`` (event → series reducer), ``source``
(queue + run-log tails), ``figures`` / ``panels`` / ``masks`` / ``runs_table`` / ``sweeps_view``
(with ``sweep_rows``) / ``form`` (the views), ``trainer`` (Start / Stop: a run launched as its
own process, or in a kernel thread with ``App(..., in_process=True)``), ``app`` (the pump that
ties them), ``serve`` (Voila, behind a door; ``--notebook`` serves any notebook the same way),
``door`` (Host and Origin on every route, the query socket), ``report_page`` (an offline page of a run),
``kernels`` (page kernels freed and bounded, pre-heated ones beside them) and ``page_kernel``
(what a served page's kernel does before the App: Plotly's bundle once per page, warm-up, wait).
The page only reads run logs: closing or reloading it never
touches a run, and any page re-attaches to it.
"""

from __future__ import annotations

__all__ = ["App"]


def __getattr__(name: str):
    if name == "App":  # lazy: `adaft dashboard` checks the optional dependencies before importing widgets
        from adaft_dashboard.app import App

        return App
    raise AttributeError(f"module 'adaft_dashboard' has no attribute {name!r}")
