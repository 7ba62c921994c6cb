"""adaft's live dashboard: ipywidgets + Plotly views fed by run events; knows nothing of torch.

``from adaft_dashboard import App; App("runs")`` in JupyterLab / Notebook 7, or ``adaft dashboard``
for the same app as a Voila web page. ``app.py`` (the :class:`App` and the pump that ties the
rest) and one folder per concern: ``live/`` (events in — queues and run-log tails — and the pure
event → series reducer), ``views/`` (curves, decisions, masks, the runs table, the Sweeps tab, the
offline report page), ``launch/`` (the form, its ``adaft train`` line, and Start / Stop: a run
launched as its own process, or in a kernel thread with ``App(..., in_process=True)``),
``server/`` (Voila behind a door on every route, page kernels freed and bounded, what a served
page's kernel does first; ``--notebook`` serves any notebook the same way) and ``teaching/`` (the
schedule demo and the replay of a recorded run). ``page/app.ipynb`` is the served page.

The page only reads run logs: closing or reloading it never touches a run, and any page
re-attaches to it. It imports ``adaft_core``'s public, torch-free modules, never
``adaft_core.run``, ``cli``, ``integrations`` or ``studies`` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

__all__ = ["App"]


def __getattr__(name: str):
    if name == "App":  # lazy: `adaft dashboard` checks the optional dependencies before importing widgets
        from adaft_dashboard.app import App

        return App
    raise AttributeError(f"module 'adaft_dashboard' has no attribute {name!r}")
