"""Frozen event records and the sinks that receive them.

The event kinds and their fields are declared once, in :mod:`adaft_core.events.schema` (types,
meaning, since which version; ``validate_event`` / ``check_stream`` check them, and
``schema.describe()`` prints them). Every event has ``event``, ``run_id``, ``seq``
(0, 1, 2, ...) and ``time`` (Unix seconds); fields are extended, never renamed.

The engine calls :meth:`EventEmitter.emit` with an event name and its fields; the emitter adds
``event``, ``run_id``, ``seq`` and ``time`` and hands the frozen :class:`Event` to every sink.
Sinks only observe: a sink that raises is reported once (a warning) and training goes on.

Sinks:
- :class:`JsonlSink` — the run log ``runs/<run_id>/events.jsonl``, flushed per event.
- :class:`QueueSink` — a thread-safe ``queue.Queue`` for live views (the dashboard).
- :class:`RecorderSink` — keeps events in a list (tests, notebooks).
- :class:`ConsoleSink` — lives in ``adaft_core/cli/console.py`` (progress bar).
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Protocol

from adaft_core.events.schema import EVENT_NAMES  # noqa: F401 - re-exported: the kinds, in schema order


@dataclass(frozen=True)
class Event:
    """One event: its name, run, sequence number, Unix time and read-only fields."""

    event: str
    run_id: str
    seq: int
    time: float
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON object written to the run log."""
        return {"event": self.event, "run_id": self.run_id, "seq": self.seq, "time": self.time,
                **self.fields}

    def to_json(self) -> str:
        return json.dumps(_json_safe(self.to_dict()), ensure_ascii=False, allow_nan=False)


def _json_safe(value: Any) -> Any:
    """NaN/inf become ``null`` (strict JSON); tuples become lists; numpy/torch scalars floats."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalar
        return _json_safe(value.item())
    return value


class Sink(Protocol):
    """Anything with ``handle(event)``; ``close()`` is optional."""

    def handle(self, event: Event) -> None: ...


class EventEmitter:
    """Numbers events, stamps them and fans them out to sinks, isolating sink failures.

    ``first_seq``: the ``seq`` of the first event (a resumed run continues its log's numbering).
    """

    def __init__(self, run_id: str, sinks: Iterable[Sink] = (), first_seq: int = 0):
        self.run_id = run_id
        self.sinks = list(sinks)
        self._seq = first_seq
        self._lock = threading.Lock()
        self._failed: dict[int, int] = {}  # id(sink) -> failure count

    def emit(self, name: str, **fields: Any) -> Event:
        with self._lock:
            event = Event(name, self.run_id, self._seq, time.time(), MappingProxyType(fields))
            self._seq += 1
        for sink in self.sinks:
            try:
                sink.handle(event)
            except Exception as exc:  # noqa: BLE001 - a sink must never stop training
                count = self._failed.get(id(sink), 0)
                self._failed[id(sink)] = count + 1
                if count == 0:
                    warnings.warn(f"adaft: event sink {type(sink).__name__} failed ({exc!r}); training "
                                  "continues and later failures of this sink are not reported",
                                  RuntimeWarning, stacklevel=2)
        return event

    @property
    def sink_failures(self) -> dict[str, int]:
        return {type(s).__name__: self._failed[id(s)] for s in self.sinks if id(s) in self._failed}

    def close(self) -> None:
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001
                    pass


class JsonlSink:
    """Appends each event as one JSON line and flushes it, so a crash loses nothing written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run

    def handle(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class QueueSink:
    """Puts every event on a thread-safe queue for a live view to drain at its own pace."""

    def __init__(self, q: "queue.Queue[Event] | None" = None):
        self.queue: queue.Queue[Event] = q if q is not None else queue.Queue()

    def handle(self, event: Event) -> None:
        self.queue.put_nowait(event)

    def drain(self) -> list[Event]:
        """Everything queued so far, without blocking."""
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out


class RecorderSink:
    """Keeps every event in memory: ``names()`` gives the event order for assertions."""

    def __init__(self):
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [e.event for e in self.events]

    def of(self, name: str) -> list[Event]:
        return [e for e in self.events if e.event == name]
