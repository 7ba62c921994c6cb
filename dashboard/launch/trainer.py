"""The trainer behind the form's Start / Stop buttons: a launched process, or a kernel thread.

By default Start launches the run as its own process through :func:`adaft_core.store.launcher.launch_run`
(``adaft train`` detached from the kernel): the page only reads the run's log, so a reload, a
second tab or a culled kernel changes nothing for the run, and a new page re-attaches to it
(:meth:`Trainer.attach`). Stop writes the run's ``STOP`` file; the run ends after its current
step (status ``stopped``, run log complete). Kernel exit leaves launched runs alone.

``Trainer(in_process=True)`` (``App(..., in_process=True)`` in a notebook) keeps the old way for
people who want the model object back: ``adaft_core.train`` in a daemon thread of this kernel
with the dashboard's queue sink and a ``threading.Event`` as the stop signal; ``result`` is the
:class:`~adaft_core.RunResult`. Such a run is stopped cleanly when the kernel exits.

The attributes the form reads — ``busy``, ``state`` (idle / preparing / running / finished /
invalid / failed), ``run_id``, ``error``, ``result`` (``.status``, ``.run_id``), ``stop_event`` —
mean the same in both ways; the widgets are touched only by the UI pump, never by a thread.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from adaft_core.settings.config import TrainConfig
from adaft_core.errors import AdaftError


class Trainer:
    """One run at a time, followed by the form; its attributes are read by the UI pump."""

    def __init__(self, in_process: bool = False, threads: int | None = None):
        self.in_process = in_process
        self.threads = threads  # torch threads of a launched run (None: torch's default)
        self.thread: threading.Thread | None = None
        self.launched = None  # adaft_core.store.launcher.LaunchedRun
        self.stop_event: threading.Event | None = None
        self._state = "idle"
        self.error: str | None = None
        self.result = None  # RunResult (in process) or RunSummary (launched), once finished
        self.run_id: str | None = None
        if in_process:
            atexit.register(self.shutdown)

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        if self.launched is not None:
            return self.launched.alive
        return self.thread is not None and self.thread.is_alive()

    @property
    def state(self) -> str:
        if self.launched is not None and self._state in ("preparing", "running"):
            self._follow()
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value

    def _follow(self) -> None:
        """The launched run's state from its process and folder (cheap: a poll and a stat)."""
        run = self.launched
        if run.alive:
            self._state = "running" if run.started else "preparing"
            return
        failure = run.failure()
        if failure is not None and self.stop_event is not None and self.stop_event.is_set():
            self._state = "stopped before it started"  # Stop pressed while data and model were loading
            return
        if failure is not None:
            self.error, self._state = failure, ("invalid" if run.returncode == 2 else "failed")
            return
        from adaft_core.store.runs import summarize_run

        self.result, self._state = summarize_run(run.run_dir), "finished"

    # ------------------------------------------------------------------ actions
    def _reset(self) -> None:
        if self.busy:
            raise RuntimeError("a run is already training here")
        self.stop_event, self._state, self.error, self.result = threading.Event(), "preparing", None, None
        self.run_id, self.launched, self.thread = None, None, None

    def start(self, cfg: TrainConfig, sinks: list) -> None:
        """Start ``cfg``: launched (``sinks`` unused: the page reads the run log) or in process."""
        self._reset()
        if self.in_process:
            self.thread = threading.Thread(target=self._work, args=(cfg, [*sinks, self]), daemon=True,
                                           name="adaft-train")
            self.thread.start()
            return
        from adaft_core.store.launcher import launch_run

        try:
            self.attach(launch_run(cfg, threads=self.threads))
        except AdaftError as exc:
            self.error, self._state = str(exc), "invalid"

    def resume(self, run: str, runs_dir: str | Path) -> None:
        """Continue an interrupted, stopped or failed run (``adaft train --resume``) as its own process."""
        self._reset()
        from adaft_core.store.launcher import launch_run

        try:
            self.attach(launch_run(resume=run, output_dir=runs_dir, threads=self.threads))
        except AdaftError as exc:
            self.error, self._state = str(exc), "invalid"

    def attach(self, launched) -> None:
        """Follow a launched run (one started here, or found running by a new page)."""
        self.launched, self.run_id = launched, launched.run_id
        self.stop_event = self.stop_event or threading.Event()
        self._state = "preparing"
        self._follow()

    def handle(self, event) -> None:  # a sink (in process): learns the run id as soon as the run starts
        if event.event == "run_started":
            self.run_id, self._state = event.run_id, "running"

    def _work(self, cfg: TrainConfig, sinks: list) -> None:
        try:
            from adaft_core import train  # torch is imported here, in the training thread

            self.result = train(cfg, sinks=sinks, stop_event=self.stop_event)
            self._state = "finished"
        except AdaftError as exc:
            self.error, self._state = str(exc), "invalid"
        except BaseException as exc:  # noqa: BLE001 - shown in the page; the run log has run_ended
            self.error, self._state = f"{type(exc).__name__}: {exc}", "failed"

    def stop(self) -> str | None:
        """Ask the run to stop after its current step; what was done, in words (launched runs)."""
        if self.stop_event is not None:
            self.stop_event.set()
        if self.launched is not None and self.launched.alive:
            return self.launched.stop()
        return None

    def join(self, timeout: float | None = None) -> None:
        if self.launched is not None:
            self.launched.wait(timeout)
        elif self.thread is not None:
            self.thread.join(timeout)

    def shutdown(self) -> None:
        """At kernel exit: stop an in-process run so its log ends with ``run_ended`` (status
        stopped). A launched run is its own process and goes on."""
        if self.in_process and self.busy:
            self.stop()
            self.join(60)
