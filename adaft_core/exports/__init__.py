"""Runs and sweeps into the trackers people already use: TensorBoard, MLflow, trackio.

The run log is the source: the same events go to a tracker live, as the run goes (``adaft train
--report-to tensorboard,mlflow,trackio``, a sink: :mod:`.live`), or after the fact (``adaft export
RUN|--sweep NAME --to TRACKER``: :mod:`.export`). What is written is decided once (:mod:`.base`:
names, steps, params, tags); each tracker module writes it with its library's own writer:

- ``to_tensorboard.py`` — torch's ``SummaryWriter``, a folder per run (a sweep's side by side);
- ``to_mlflow.py`` — ``MlflowClient``, a SQLite store by default, a sweep as a parent run;
- ``to_trackio.py`` — ``trackio.init/log/finish``, trackio's local store, a sweep as a group.

The libraries are optional extras (``pip install 'adaft[tensorboard]'`` …; ``names.require``
says which is missing). This package imports none of them, nor torch, until a writer is made.

May import: errors, events, store (run logs and folders) and sweep (a sweep's manifest). Never
run/ (the loop imports the live sinks), cli/, integrations/, studies/ or the dashboard.
"""

from __future__ import annotations

from importlib import import_module

from adaft_core.exports.base import Target, Writer
from adaft_core.exports.names import TRACKERS, parse_trackers, require

WRITERS = {"tensorboard": "to_tensorboard:TensorBoardWriter", "mlflow": "to_mlflow:MlflowWriter",
           "trackio": "to_trackio:TrackioWriter"}


def make_writer(tracker: str, target: Target) -> Writer:
    """The writer of ``tracker`` (its library checked first: a missing one is a ConfigError)."""
    require(tracker)
    module, cls = WRITERS[tracker].split(":")
    return getattr(import_module(f"{__name__}.{module}"), cls)(target)


__all__ = ["TRACKERS", "Target", "Writer", "make_writer", "parse_trackers", "require"]
