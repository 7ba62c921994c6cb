"""Configuration: every setting declared once and checked at the edge, torch-free.

``declare.py`` (how a setting is declared: help, default, range, choices), ``config.py``
(``TrainConfig``, the run's settings), ``strategy_options.py`` (each update strategy's options),
``command_line.py`` (a config as the ``adaft train`` command that runs it).

May import: errors, and the registries' names (modes, tasks, data, exports) to check a value.
Never run/, store/ beyond the run-name rule, cli/ or the dashboard.
"""
