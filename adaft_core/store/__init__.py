"""The run store: run folders on disk, their logs, who runs them, and starting runs as processes.

``runs.py`` (folder layout, names, reading runs back), ``recorder.py`` (a run's folder written from
its claim to ``run_ended``: log, heartbeat, ``run.json``), ``run_log.py`` (tolerant log reading),
``liveness.py`` (owner + heartbeat), ``atomic.py`` (crash-safe writes), ``retention.py`` (what
runs leave on disk, ``runs clean``), ``launcher.py`` + ``module_path.py`` (a run as its own
process, importing installed libraries only), ``data_roots.py`` (what a served page may read).

May import: errors, settings, events (and the sweep manifest, to spare a sweep's runs). Never
run/, cli/ or the dashboard. Torch-free.
"""
