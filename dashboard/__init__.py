"""adaft's live dashboard: ipywidgets + Plotly views fed by run events; knows nothing of torch.

``from dashboard import App; App("runs")`` in JupyterLab / Notebook 7, or ``adaft dashboard``
for the same app as a Voila web page. Modules: ``state`` (event → series reducer), ``source``
(queue + run-log tails), ``figures`` / ``panels`` / ``masks`` / ``runs_table`` / ``form`` (the
views), ``app`` (the pump that ties them), ``serve`` (Voila).
"""

from __future__ import annotations

__all__ = ["App"]


def __getattr__(name: str):
    if name == "App":  # lazy: `adaft dashboard` checks the optional dependencies before importing widgets
        from .app import App

        return App
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
