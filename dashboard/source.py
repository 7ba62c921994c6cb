"""Where the dashboard's events come from: live queues and the tails of run logs on disk.

:class:`EventSource` merges two kinds of input into one list of event dicts per pump tick:

- a thread-safe queue (``source.sink()`` gives a :class:`~adaft_core.events.QueueSink` on it) —
  runs started in this kernel, and recorded events that tests and the benchmark ``feed`` in;
- every ``events.jsonl`` under the runs folder, read from the byte offset where the last read
  stopped (a half-written last line waits for the next tick), so runs started from the CLI or
  another notebook show up live and a page reopened after a kernel restart sees every run.

A run whose events arrive through the queue is not also tailed; when both deliver an event the
reducer (:mod:`.state`) drops the duplicate by ``seq``. Nothing here blocks: the training thread
only ever does ``put_nowait`` on the queue.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from adaft_core.events import QueueSink
from adaft_core.runs import EVENTS_FILE


class LogTail:
    """Reads the complete new lines of one ``events.jsonl`` from a byte offset."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.finished = False  # a run_ended was read: nothing more will come
        self.bad_lines = 0

    def read(self, max_bytes: int | None = None) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read() if max_bytes is None else f.read(max_bytes)
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out = []
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                self.bad_lines += 1  # a corrupt line must not stop the page
                continue
            if isinstance(ev, dict):
                out.append(ev)
                if ev.get("event") == "run_ended":
                    self.finished = True
        return out


class EventSource:
    """One ``poll()`` per UI tick returns every new event from the queue and the run logs."""

    def __init__(self, runs_dir: str | Path | None = None, scan_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.queue: queue.Queue = queue.Queue()
        self.scan_interval = scan_interval
        self.clock = clock
        self.tails: dict[str, LogTail] = {}  # run folder name -> tail
        self.owned: set[str] = set()  # run ids delivered by the queue: not tailed
        self.paths: dict[str, Path] = {}  # run id -> folder, for runs found on disk
        self._next_scan = -float("inf")

    # ------------------------------------------------------------------ inputs
    def sink(self) -> QueueSink:
        """A sink for ``adaft_core.train(..., sinks=[...])`` that feeds this source."""
        return QueueSink(self.queue)

    def feed(self, events: Iterable[Any]) -> None:
        """Queue recorded events (dicts or :class:`~adaft_core.events.Event`) for the next poll."""
        for ev in events:
            self.queue.put_nowait(ev)

    # ------------------------------------------------------------------ polling
    def poll(self, force_scan: bool = False) -> list[dict[str, Any]]:
        """Drain the queue, then read what the run logs gained since the last poll."""
        out = self._drain_queue()
        now = self.clock()
        if self.runs_dir is not None and (force_scan or now >= self._next_scan):
            self._scan()
            self._next_scan = now + self.scan_interval
        for name, tail in list(self.tails.items()):
            if tail.finished or name in self.owned:
                continue
            out.extend(tail.read())
        return out

    def _drain_queue(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                ev = self.queue.get_nowait()
            except queue.Empty:
                return out
            ev = ev.to_dict() if hasattr(ev, "to_dict") else dict(ev)
            run_id = ev.get("run_id")
            if run_id and run_id not in self.owned:
                self.owned.add(run_id)
            out.append(ev)

    def _scan(self) -> None:
        """Start tailing every run folder not seen before."""
        try:
            folders = [p for p in self.runs_dir.iterdir() if p.is_dir()]
        except OSError:
            return
        for folder in folders:
            if folder.name in self.tails or not (folder / EVENTS_FILE).exists():
                continue
            self.tails[folder.name] = LogTail(folder / EVENTS_FILE)
            self.paths[folder.name] = folder

    def run_dir(self, run_id: str) -> Path | None:
        """The folder of a run (its id is its folder name), if it is in the runs folder."""
        if run_id in self.paths:
            return self.paths[run_id]
        if self.runs_dir is not None and (self.runs_dir / run_id / EVENTS_FILE).exists():
            return self.runs_dir / run_id
        return None
