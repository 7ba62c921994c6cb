"""Reading a run folder's two files tolerantly: every problem becomes a reason, never an exception.

The runs folder is shared state that other processes, crashes, full disks and people write to, so
:func:`read_log` and :func:`read_run_json` accept whatever they find. A log is read line by line
in binary (a line is never longer than :data:`MAX_LINE`); each complete line must be UTF-8 JSON,
an object with ``event`` and an integer ``seq`` above the previous line's, and the first event
must be ``run_started``. A bad line is skipped and the first one is named as ``file:line: why``;
a last line without its newline is a line still being written (or cut off by a crash) and is
left out, its number kept in :attr:`LogRead.incomplete`.

Also here: :func:`read_events` (strict: for logs this package just wrote, e.g. in tests) and
:func:`drop_incomplete_tail` (a resumed run cuts a crash's half line before appending).
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

EVENTS_FILE = "events.jsonl"
MAX_LINE = 8 * 2**20  # a longer line is damage (the largest events, masks of big models, are far smaller)


@dataclass
class LogRead:
    """The good events of a log, its first problem and how many lines were skipped."""

    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line number of each event
    problem: str | None = None  # "events.jsonl:12: not JSON (...)"
    bad_lines: int = 0
    incomplete: int | None = None  # number of a half-written last line (left out)
    missing: bool = False


def _kind(value: Any) -> str:
    return {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean", type(None): "JSON null",
            int: "a JSON number", float: "a JSON number"}.get(type(value), type(value).__name__)


def check_line(raw: bytes, last_seq: int, first: bool) -> tuple[dict | None, str | None]:
    """One complete log line → (the event, None) or (None, why it is not a valid next event)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start}: binary data?)"
    try:
        ev = json.loads(text)
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(ev, dict):
        return None, f"{_kind(ev)}, not an event object"
    if "event" not in ev or "seq" not in ev:
        keys = ", ".join(list(ev)[:4]) or "none"
        return None, f"not an adaft event (no 'event' or 'seq' field; keys: {keys})"
    if not isinstance(ev["seq"], int) or isinstance(ev["seq"], bool) or not isinstance(ev["event"], str):
        return None, "'event' must be a string and 'seq' an integer"
    if ev["seq"] <= last_seq:
        return None, f"seq {ev['seq']} after seq {last_seq} (lines out of order or repeated)"
    if first and ev["event"] != "run_started":
        return None, f"the log does not begin with run_started (first event: {ev['event']!r})"
    return ev, None


def is_folder(path: Path) -> bool:
    """``path.is_dir()`` that is False, not a PermissionError, inside a folder this user may not
    read (Python < 3.12 raises there); the open that follows names the problem."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


def read_log(path: str | Path) -> LogRead:
    """The good events of ``path`` (an ``events.jsonl``) and what was wrong with the rest."""
    path = Path(path)
    out = LogRead()
    if is_folder(path):
        out.problem = f"{path.name} is a folder, not a file"
        return out
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        out.problem, out.missing = f"no {path.name}", True
        return out
    except OSError as exc:
        out.problem = f"{path.name} cannot be read ({exc.strerror or exc})"
        return out
    last_seq, lineno = -1, 0
    with f:
        while True:
            try:
                raw = f.readline(MAX_LINE + 1)
            except OSError as exc:
                out.problem = out.problem or f"{path.name}:{lineno + 1}: read error ({exc.strerror or exc})"
                break
            if not raw:
                break
            lineno += 1
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE:
                    out.problem = out.problem or f"{path.name}:{lineno}: a line longer than {MAX_LINE // 2**20} MiB"
                    out.bad_lines += 1
                    while raw and not raw.endswith(b"\n"):  # skip the rest of that line
                        raw = f.readline(MAX_LINE + 1)
                    continue
                out.incomplete = lineno
                break
            if not raw.strip():
                continue
            ev, why = check_line(raw, last_seq, first=not (out.events or out.bad_lines))
            if why is not None:
                out.problem = out.problem or f"{path.name}:{lineno}: {why}"
                out.bad_lines += 1
                continue
            out.events.append(ev)
            out.lines.append(lineno)
            last_seq = ev["seq"]
    return out


def read_run_json(path: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """``run.json`` as a dict, or (None, why not)."""
    path = Path(path)
    if is_folder(path):
        return None, f"{path.name} is a folder, not a file"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, f"no {path.name}"
    except OSError as exc:
        return None, f"{path.name} cannot be read ({exc.strerror or exc})"
    if not raw.strip():
        return None, f"{path.name} is empty"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{path.name} is not UTF-8 text (binary data?)"
    except ValueError as exc:
        return None, f"{path.name} is not JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} holds {_kind(data)}, not an object"
    return data, None


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete events of a run log; a half-written last line (a live run) is skipped."""
    return list(iter_events(path))


def iter_events(path: str | Path) -> Iterator[dict[str, Any]]:
    """The complete events of a log this package wrote (a folder or its ``events.jsonl``); strict:
    a bad line raises. Readers of arbitrary folders use :func:`adaft_core.store.run_log.read_log`."""
    path = Path(path)
    if path.is_dir():
        path = path / EVENTS_FILE
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # still being written
            line = line.strip()
            if line:
                yield json.loads(line)


def drop_incomplete_tail(path: str | Path) -> int:
    """Cut a half-written last line off a log (before appending to it on resume); bytes removed."""
    path = Path(path)
    with open(path, "rb+") as f:
        size = keep = f.seek(0, 2)
        while keep > 0:
            start = max(0, keep - 65536)
            f.seek(start)
            newline = f.read(keep - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            keep = start
        if keep != size:
            f.truncate(keep)
        return size - keep
