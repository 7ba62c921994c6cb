"""The training run: the one loop and what it is built from and leaves behind.

``engine.py`` (``train`` / ``resume``: the loop), ``checkpoints.py`` (its resume seam: checkpoint,
restore, a resumed epoch's position), ``state.py`` (what a checkpoint holds beyond the weights),
``setup.py`` (accelerator, optimizer, loader), ``evaluate.py`` (one evaluation pass),
``padding_free.py`` (packed batches), ``results.py`` (the run's result record).

May import: errors, settings, events, store, data, tasks, modes, strategies, exports (the
trackers' sinks), report (the model card). Never cli/ or the dashboard. Imports torch.
"""
