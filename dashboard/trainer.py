"""The background trainer behind the form's Start / Stop buttons.

Start runs ``adaft_core.train`` in a daemon thread of this kernel with the dashboard's queue sink
and a ``threading.Event``; Stop sets the event and the engine ends the run after the current step
(status ``stopped``, run log complete). ``adaft_core.train`` (and so torch) is imported only in
that thread; the widgets are touched only by the UI pump, never by the thread.
"""

from __future__ import annotations

import atexit
import threading

from adaft_core.config import TrainConfig
from adaft_core.errors import AdaftError


class Trainer:
    """One background training run at a time; its attributes are read by the UI pump."""

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.stop_event: threading.Event | None = None
        self.state = "idle"  # idle / preparing / running / finished / invalid / failed
        self.error: str | None = None
        self.result = None
        self.run_id: str | None = None
        atexit.register(self.shutdown)

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, cfg: TrainConfig, sinks: list) -> None:
        if self.busy:
            raise RuntimeError("a run is already training in this kernel")
        self.stop_event, self.state, self.error, self.result, self.run_id = threading.Event(), "preparing", None, None, None
        self.thread = threading.Thread(target=self._work, args=(cfg, [*sinks, self]), daemon=True,
                                       name="adaft-train")
        self.thread.start()

    def handle(self, event) -> None:  # a sink: learns the run id as soon as the run starts
        if event.event == "run_started":
            self.run_id, self.state = event.run_id, "running"

    def _work(self, cfg: TrainConfig, sinks: list) -> None:
        try:
            from adaft_core import train  # torch is imported here, in the training thread

            self.result = train(cfg, sinks=sinks, stop_event=self.stop_event)
            self.state = "finished"
        except AdaftError as exc:
            self.error, self.state = str(exc), "invalid"
        except BaseException as exc:  # noqa: BLE001 - shown in the page; the run log has run_ended
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"

    def stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def shutdown(self) -> None:
        """At kernel exit: stop the run so its log ends with ``run_ended`` (status stopped)."""
        if self.busy:
            self.stop()
            self.join(60)
