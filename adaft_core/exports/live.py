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

from adaft_core.events.emitter import Event
from adaft_core.exports import make_writer
from adaft_core.exports.base import Target
from adaft_core.exports.names import parse_trackers, require

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
