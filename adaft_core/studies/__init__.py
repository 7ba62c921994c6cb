"""The study notebooks' logic (``notebooks/02_adaptive_vs_original``, ``03_dps_masks``), as tested
functions the notebooks only call:

- :mod:`.datasets`: the data a study names (shipped or beside the checkout) and a small evaluation
  sample of an NLI folder for quick runs;
- :mod:`.sweeps`: a study as one sweep per dataset (``adaft_core.sweep``), run live, and its
  per-cell table (the sweep package's aggregation) with the training-set size of each cell;
- :mod:`.masks_compare`: two runs' saved masks compared per transformer layer, kept fraction per
  attention head;
- :mod:`.drift`: ‖W − W⁰‖ / ‖W⁰‖ per layer from the runs' ``telemetry`` events;
- :mod:`.figures`: their Plotly figures.

Everything reads run folders and event logs (what the engine recorded); nothing re-derives it.

May import: errors, settings, store, strategies (mask files) and sweep. Never run/, cli/ or the
dashboard; only the notebooks import this folder.
"""
