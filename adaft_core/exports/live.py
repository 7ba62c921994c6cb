"""Live: a run's events into trackers as the run goes (``report_to``), as event sinks.

:func:`report_sinks` makes one :class:`TrackerSink` per tracker named in a config's
``report_to``, checking each library first (a missing one stops the run before it starts, with
the extra to install). A sink hands every event to its tracker's writer (:mod:`.base`), the same
writer an after-the-fact export uses. A tracker that fails never fails the run: the engine's
emitter counts the failure and warns once (``events.EventEmitter``; ``run_ended.sink_failures``
names the sink, e.g. ``MlflowSink``); after its first failure the sink stops writing (it does not
retry a store that failed on every event) and every later event counts as one more failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..events import Event
from . import make_writer
from .base import Target
from .names import parse_trackers, require

SINK_NAMES = {"tensorboard": "TensorBoardSink", "mlflow": "MlflowSink", "trackio": "TrackioSink"}


class TrackerError(RuntimeError):
    """A tracker that failed earlier in this run; it writes nothing more."""


class TrackerSink:
    """Feeds a tracker's writer from the live event stream; see the module docs for failures."""

    tracker = "?"

    def __init__(self, runs_dir: str | Path):
        self.writer = make_writer(self.tracker, Target(Path(runs_dir)))
        self.failure: Exception | None = None

    def handle(self, event: Event) -> None:
        if self.failure is not None:
            raise TrackerError(f"{self.tracker} stopped after: {self.failure!r}")
        try:
            self.writer.handle(event.to_dict())
        except Exception as exc:
            self.failure = exc
            raise TrackerError(f"{self.tracker} could not write the run ({exc}); the run goes on "
                               f"without it (adaft export RUN --to {self.tracker} writes it afterwards)") from exc

    def close(self) -> None:
        if self.failure is None:
            self.writer.close()


SINKS = {name: type(cls_name, (TrackerSink,), {"tracker": name, "__doc__": f"The {name} tracker as a sink."})
         for name, cls_name in SINK_NAMES.items()}


def report_sinks(report_to: str | None, runs_dir: str | Path) -> list[Any]:
    """One sink per tracker in ``report_to`` (e.g. ``"tensorboard,mlflow"``), writing under
    ``runs_dir``; a tracker whose library is missing: a ConfigError naming its extra."""
    names = parse_trackers(report_to)
    for name in names:
        require(name)
    return [SINKS[name](runs_dir) for name in names]


def config_sinks(config: Any) -> list[Any]:
    """:func:`report_sinks` of a TrainConfig or config dict (none when it reports nowhere)."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return report_sinks(get("report_to"), get("output_dir", "runs") or "runs") if get("report_to") else []


def run_sinks(run: str, runs_dir: str | Path) -> list[Any]:
    """:func:`report_sinks` of a run being resumed, from its ``run.json`` (none when unreadable:
    resuming reports that run's problem itself)."""
    from ..errors import ConfigError
    from ..runs import find_run
    from .reader import run_config

    try:
        run_dir = find_run(runs_dir, str(run))
    except ConfigError:
        return []
    return report_sinks(run_config(run_dir).get("report_to"), run_dir.parent)
