"""adaft for existing ``transformers.Trainer`` code: the adaptive mode, the update strategies and the
live run log by adding three lines (see ``kit.py``)::

    from adaft_core.integrations import AdaptiveKit
    kit = AdaptiveKit(mode="adaptive", strategy="dps-dense", runs_dir="runs")
    kit.attach(trainer)

Modules: ``schedule.py`` (the ``lr_at`` scheduler and the per-epoch ``decide`` callback),
``strategy_hooks.py`` (where the strategy hooks run in Trainer's step), ``run_log.py`` (adaft's
run log), ``resume.py`` (the kit's state in Trainer's checkpoints, and resuming from them),
``kit.py`` (the user API), ``metrics.py`` (adaft's NER scores as Trainer's ``compute_metrics``).
Importing this package imports ``transformers``.

May import: errors, events, store, modes, strategies and run (the checkpoint state's pickle-free
format, library versions). Never cli/, studies/ or the dashboard; run/ never imports this folder.
"""

from adaft_core.integrations.kit import AdaptiveKit
from adaft_core.integrations.metrics import argmax_logits, ner_trainer_metrics
from adaft_core.integrations.run_log import RunLogCallback
from adaft_core.integrations.schedule import AdaptiveLR, AdaptiveScheduleCallback, ScheduleState
from adaft_core.integrations.strategy_hooks import StrategyCallback

__all__ = ["AdaptiveKit", "AdaptiveLR", "AdaptiveScheduleCallback", "RunLogCallback", "ScheduleState",
           "StrategyCallback", "argmax_logits", "ner_trainer_metrics"]
