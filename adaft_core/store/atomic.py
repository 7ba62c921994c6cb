"""Crash-safe writes: a folder or file is written beside its target, then renamed into place.

``os.replace`` of a file is atomic. A folder cannot be swapped atomically on POSIX, so
``atomic_dir`` writes ``NAME.tmp-PID``, moves any old ``NAME`` to ``NAME.old``, renames the new
folder into place and only then deletes ``NAME.old``: at every instant a complete copy exists
under ``NAME`` or ``NAME.old``, never a half-written ``NAME``. A write that fails (a full disk)
removes its temporary folder and leaves the previous ``NAME`` as it was.

Output faults become one :class:`~adaft_core.errors.OutputError` naming the folder and the
problem: :func:`check_output_dir` before a run (a file in the way, no permission),
:func:`output_error` for a write that fails mid-run (a full disk). safetensors reports a failed
write with its own ``SafetensorError``; :func:`save_model_dir` raises it as the ``OSError`` it wraps.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from adaft_core.errors import OutputError


def atomic_dir(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_folder)`` and move the result to ``path`` without a half-written state."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f"{path.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_model_dir(path: str | Path, model, tokenizer, extra: Callable[[Path], None] | None = None) -> Path:
    """``save_pretrained`` (safetensors) of model and tokenizer into ``path``, atomically;
    ``extra(folder)`` writes more files into the same folder (a checkpoint's training state)."""

    from transformers.utils import logging as hf_logging

    def write(tmp: Path) -> None:
        from safetensors import SafetensorError

        try:
            model.save_pretrained(tmp, safe_serialization=True)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            if extra is not None:
                extra(tmp)
        except SafetensorError as exc:  # its own type for a failed write: "... (os error 28)"
            code = re.search(r"\(os error (\d+)\)", str(exc))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from exc

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar per epoch would bury ours
    try:
        return atomic_dir(path, write)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def check_output_dir(path: str | Path) -> None:
    """Raise an OutputError if the output folder cannot be used (writes nothing: input errors
    found later must leave no folder behind): a file in its place or in a parent's, no
    permission to write it or to create it in its nearest existing parent."""
    path = Path(path)
    for p in (path, *path.parents):
        if not p.exists():
            continue
        if not p.is_dir():
            what = "is a file, not a folder" if p == path else f"cannot be created: {p} is a file"
            raise OutputError(f"output folder {path} {what}; choose another --output-dir")
        if not os.access(p, os.W_OK | os.X_OK):
            what = "is not writable" if p == path else f"cannot be created: no permission to write in {p}"
            raise OutputError(f"output folder {path} {what}; choose another --output-dir")
        return


def output_error(exc: OSError, folder: str | Path | None, doing: str) -> OutputError:
    """One message for a failed write: the folder, what was being done and the system's reason."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.ENOSPC:
        reason += " (free space there, then resume the run)"
    where = f"output folder {folder}" if folder is not None else (exc.filename or "the output folder")
    return OutputError(f"cannot {doing} in {where}: {reason}")
