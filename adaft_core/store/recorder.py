"""A run's folder written from its start to its end: :class:`RunRecorder`, used by adaft's own loop
(``run/engine.py``) and by the Hugging Face Trainer kit (``integrations/run_log.py``).

A recorder claims a new run folder (:meth:`RunRecorder.new`) or reopens one to continue it
(:meth:`RunRecorder.reopen`, after :func:`reopen_log`), then keeps it up to date while the run
trains: the heartbeat (``liveness.py``), the log (``events.jsonl``, through an
:class:`~adaft_core.events.emitter.EventEmitter` with the caller's sinks beside it) and
``run.json`` (``running`` from the start). It writes the events that mark the lifecycle —
``run_started`` or ``resumed``, ``eval`` → ``decision`` → ``telemetry`` after each validation,
``run_ended`` — with the fields the caller gives (the contract: ``events/schema.py``), and ends with
the final ``run.json``. The caller decides when a run ends and with which status; it calls
:meth:`RunRecorder.end` on every path (completed, stopped, failed, interrupted).

Only one process writes a run: the others of a data-parallel run hold a :meth:`RunRecorder.quiet`
one, whose events go nowhere. Torch-free.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any, Iterable

from adaft_core.events.emitter import EventEmitter, JsonlSink
from adaft_core.store.atomic import atomic_write_json
from adaft_core.store.liveness import Heartbeat, owner_info
from adaft_core.store.run_log import read_log
from adaft_core.store.runs import EVENTS_FILE, RUN_FILE, STOP_FILE, claim_run_dir, drop_incomplete_tail, new_run_id


class RunRecorder:
    """The folder, log, heartbeat and ``run.json`` of one run, opened on creation, closed by :meth:`end`.

    ``config``: the run's settings as ``run.json`` holds them; ``started``: the time the run first
    started (a resumed run keeps its own); ``first_seq``: the ``seq`` the next event gets.
    ``run_dir=None`` is a quiet recorder (another rank's): it writes nothing.
    """

    def __init__(self, run_dir: Path | None, config: dict[str, Any], sinks: Iterable[Any] = (), *,
                 started: float | None = None, first_seq: int = 0):
        self.run_dir, self.config, self.started = run_dir, config, started
        self.heartbeat: Heartbeat | None = None
        self.ended = False
        if run_dir is None:
            self.emitter = EventEmitter("", [])
            return
        self.heartbeat = Heartbeat(run_dir).start()
        self.emitter = EventEmitter(run_dir.name, [JsonlSink(run_dir / EVENTS_FILE), *sinks], first_seq=first_seq)
        self.write_run_json("running")

    @classmethod
    def new(cls, output_dir: str | Path, *, task: str, mode: str, seed: int, run_name: str | None,
            config: dict[str, Any], sinks: Iterable[Any] = (), started: float | None = None) -> "RunRecorder":
        """Claim a new run folder in ``output_dir`` (named ``run_name``, else by task, mode, seed and time)."""
        run_id = new_run_id(task, mode, seed, run_name)
        run_dir = claim_run_dir(output_dir, run_id, explicit_name=bool(run_name))
        return cls(run_dir, config, sinks, started=started)

    @classmethod
    def reopen(cls, run_dir: str | Path, *, config: dict[str, Any], sinks: Iterable[Any] = (),
               started: float | None = None) -> "RunRecorder":
        """Continue the log of an existing run folder (a resumed run), its numbering going on."""
        run_dir = Path(run_dir)
        return cls(run_dir, config, sinks, started=started, first_seq=reopen_log(run_dir))

    @classmethod
    def quiet(cls) -> "RunRecorder":
        """A recorder that writes nothing (a data-parallel run's other ranks)."""
        return cls(None, {})

    @property
    def run_id(self) -> str:
        return self.emitter.run_id

    # ------------------------------------------------------------------ events
    def emit(self, name: str, **fields: Any) -> None:
        self.emitter.emit(name, **fields)

    def run_started(self, **fields: Any) -> None:
        """``run_started`` with ``fields``, and the host and process that run it."""
        self.emit("run_started", **fields, host=socket.gethostname(), pid=os.getpid())

    def resumed(self, *, step: int, epoch: int, checkpoint: str | None, **fields: Any) -> None:
        """``resumed`` (where the run goes on, from which checkpoint, in which process) with ``fields``."""
        self.emit("resumed", step=step, epoch=epoch, checkpoint=checkpoint, host=socket.gethostname(),
                  pid=os.getpid(), **fields)

    def eval(self, *, epoch: int, step: int, split: str, metric: str, metrics: dict[str, Any]) -> None:
        """``eval``: one evaluation's ``metrics`` (with its ``loss``) and the task's ``metric`` score."""
        self.emit("eval", epoch=epoch, step=step, split=split, loss=_number(metrics["loss"]), metric=metric,
                  score=_number(metrics.get(metric)), metrics=metrics)

    def validation(self, *, epoch: int, step: int, metric: str, metrics: dict[str, Any], decision: Any,
                   strategy: Any) -> None:
        """After a validation: its ``eval``, the mode's ``decision``, then the strategy's ``telemetry``
        (``strategy.on_validation``, called on every rank: it may gather over ranks)."""
        self.eval(epoch=epoch, step=step, split="validation", metric=metric, metrics=metrics)
        self.emit("decision", **vars(decision))
        telemetry = strategy.on_validation(epoch=epoch, step=step)  # drift, leakage
        if telemetry:
            self.emit("telemetry", **telemetry)

    # ------------------------------------------------------------------ folder
    def stop_requested(self) -> bool:
        """Whether a ``STOP`` file asks the run to stop (``adaft runs stop``, the dashboard's button)."""
        return self.run_dir is not None and (self.run_dir / STOP_FILE).exists()

    def write_run_json(self, status: str, result: dict[str, Any] | None = None) -> None:
        """``run.json``: id, status, config, start time and owner, then ``result``'s fields."""
        data = {"run_id": self.run_dir.name, "status": status, "config": self.config, "started": self.started,
                "owner": owner_info(), **(result or {})}
        atomic_write_json(self.run_dir / RUN_FILE, data)

    def end(self, status: str, summary: dict[str, Any], result: dict[str, Any] | None = None) -> None:
        """``run_ended`` (``status``, ``summary``, the sinks' failures), the final ``run.json``
        (``result``, by default the same facts), the heartbeat's last beat; the log is closed.
        Once: later calls do nothing."""
        if self.ended:
            return
        self.ended = True
        self.emit("run_ended", status=status, **summary, sink_failures=self.emitter.sink_failures)
        if self.run_dir is not None:
            try:
                self.write_run_json(status, result if result is not None else {"status": status, **summary})
            except OSError:
                pass  # a full disk: the log's run_ended (if it could be written) tells the end
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.emitter.close()


def reopen_log(run_dir: Path) -> int:
    """Prepare a run folder for appending: cut a half-written last line off the log, remove the
    ``STOP`` file of the stop being resumed from and the temporary files of writes the previous
    process did not finish; the ``seq`` the next event gets."""
    drop_incomplete_tail(run_dir / EVENTS_FILE)
    (run_dir / STOP_FILE).unlink(missing_ok=True)
    for tmp in run_dir.glob("*.tmp-*"):  # half-done atomic writes of the dead process
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    events = read_log(run_dir / EVENTS_FILE).events
    return events[-1]["seq"] + 1 if events else 0


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
