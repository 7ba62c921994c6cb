"""Where the dashboard's events come from: live queues and the tails of run logs on disk.

:class:`EventSource` merges two kinds of input into one list of event dicts per pump tick:

- a thread-safe queue (``source.sink()`` gives a :class:`~adaft_core.events.emitter.QueueSink` on it) —
  runs trained in this kernel (``App(in_process=True)``), and recorded events that tests and the
  benchmark ``feed`` in;
- every ``events.jsonl`` under the runs folder, read from the byte offset where the last read
  stopped (a half-written last line waits for the next tick), so runs launched from this page,
  the CLI or another notebook show up live and a page opened later (a reload, a second tab, a
  new kernel) sees every run and re-attaches to the live ones.

The runs folder is read tolerantly (``adaft_core.store.run_log``): a line that is not a valid next
event is skipped and a folder with a damaged or missing log or ``run.json`` lands in
:attr:`EventSource.problems` (folder name → ``file:line: why``) for the runs table to list as
``unreadable``. Every scan also asks whether each run that has not ended still has its process
(``adaft_core.store.liveness``); :attr:`EventSource.gone` holds those that do not, with when they were
last seen, and the app shows them as ``interrupted``.

A run whose events arrive through the queue is not also tailed; when both deliver an event the
reducer (:mod:`.state`) drops the duplicate by ``seq``. Nothing here blocks: the training thread
only ever does ``put_nowait`` on the queue.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from adaft_core.events.emitter import QueueSink
from adaft_core.store.liveness import run_liveness
from adaft_core.store.run_log import check_line, read_run_json
from adaft_core.store.runs import EVENTS_FILE, RUN_FILE, is_run_folder, summarize_run


class LogTail:
    """Reads the complete new lines of one ``events.jsonl`` from a byte offset, checking each."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.finished = False  # a run_ended was read (a later ``resumed`` reopens it)
        self.bad_lines = 0
        self.problem: str | None = None  # the first bad line, "events.jsonl:N: why"
        self.lines = 0
        self.last_seq = -1
        self.first = True
        self.last_time: float | None = None  # of the last event read

    def grew(self) -> bool:
        try:
            return self.path.stat().st_size > self.offset
        except OSError:
            return False

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
        for line in chunk[: end + 1].split(b"\n")[:-1]:
            self.lines += 1
            if not line.strip():
                continue
            ev, why = check_line(line, self.last_seq, self.first)
            if why is not None:  # a damaged line must not stop the page: skip it, name the first
                self.bad_lines += 1
                self.problem = self.problem or f"{self.path.name}:{self.lines}: {why}"
                self.first = False
                continue
            self.first, self.last_seq = False, ev["seq"]
            self.last_time = ev.get("time") if isinstance(ev.get("time"), (int, float)) else self.last_time
            out.append(ev)
            if ev["event"] == "run_ended":
                self.finished = True
            elif ev["event"] == "resumed":
                self.finished = False
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
        self.problems: dict[str, str] = {}  # folder name -> why it is unreadable
        self.gone: dict[str, float | None] = {}  # run id -> last seen, for runs whose process is gone
        self._next_scan = -float("inf")

    # ------------------------------------------------------------------ inputs
    def sink(self) -> QueueSink:
        """A sink for ``adaft_core.train(..., sinks=[...])`` that feeds this source."""
        return QueueSink(self.queue)

    def feed(self, events: Iterable[Any]) -> None:
        """Queue recorded events (dicts or :class:`~adaft_core.events.emitter.Event`) for the next poll."""
        for ev in events:
            self.queue.put_nowait(ev)

    # ------------------------------------------------------------------ polling
    def poll(self, force_scan: bool = False) -> list[dict[str, Any]]:
        """Drain the queue, then read what the run logs gained since the last poll; every
        ``scan_interval`` also look for new folders and check the liveness of unended runs."""
        out = self._drain_queue()
        now = self.clock()
        scan = self.runs_dir is not None and (force_scan or now >= self._next_scan)
        for name, tail in list(self.tails.items()):
            if name in self.owned or (tail.finished and not (scan and tail.grew())):
                continue
            out.extend(tail.read())
        if scan:
            out.extend(self._scan())
            self._next_scan = now + self.scan_interval
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

    def _scan(self) -> list[dict[str, Any]]:
        """Tail every run folder not seen before (returning its events so far), note damaged
        folders and check whether the runs that have not ended still have their process."""
        try:
            folders = [p for p in self.runs_dir.iterdir() if is_run_folder(p)]
        except OSError:
            return []
        out = []
        for folder in folders:
            name, first_sight = folder.name, folder.name not in self.tails
            if first_sight:
                if not (folder / EVENTS_FILE).is_file():
                    s = summarize_run(folder)  # no log: cheap; "starting" for a folder just made
                    if s.status == "unreadable":
                        self.problems[name] = s.reason or "unreadable"
                    continue
                self.problems.pop(name, None)
                self.tails[name] = LogTail(folder / EVENTS_FILE)
                self.paths[name] = folder
                if name not in self.owned:
                    out.extend(self.tails[name].read())
            tail = self.tails[name]
            check = first_sight or not tail.finished or name in self.problems
            info, info_problem = read_run_json(folder / RUN_FILE) if check else (None, None)
            problem = tail.problem or info_problem
            if problem:
                self.problems[name] = problem
            else:
                self.problems.pop(name, None)
            if tail.finished or name in self.owned:  # ended, or trained in this kernel
                self.gone.pop(name, None)
                continue
            try:
                mtime = tail.path.stat().st_mtime
            except OSError:
                mtime = None
            lv = run_liveness(folder, owner=(info or {}).get("owner"), log_mtime=mtime)
            if lv.alive:
                self.gone.pop(name, None)
            else:  # last seen: its last heartbeat or event
                self.gone[name] = max((t for t in (lv.last_seen, tail.last_time) if t is not None), default=None)
        return out

    def run_dir(self, run_id: str) -> Path | None:
        """The folder of a run (its id is its folder name), if it is in the runs folder."""
        if run_id in self.paths:
            return self.paths[run_id]
        if self.runs_dir is not None and (self.runs_dir / run_id / EVENTS_FILE).exists():
            return self.runs_dir / run_id
        return None
