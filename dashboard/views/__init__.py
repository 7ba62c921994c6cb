"""What the page shows: widgets and figures drawn from :mod:`adaft_dashboard.live` state.

``figures.py`` (the live curves), ``panels.py`` (decisions), ``masks.py`` (subnetwork masks),
``runs_table.py``, ``sweeps_view.py`` + ``sweep_rows.py`` (the Sweeps tab), ``plotting.py``
(shared helpers), ``report_page.py`` (a finished run or sweep as one HTML page).

May import: adaft_dashboard.live, and adaft_core's public, torch-free modules (events, store,
sweep, report, modes); never adaft_core.run or adaft_core.cli. Views show what events say.
"""
