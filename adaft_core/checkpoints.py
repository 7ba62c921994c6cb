"""Crash-safe writes: a folder or file is written beside its target, then renamed into place.

``os.replace`` of a file is atomic. A folder cannot be swapped atomically on POSIX, so
``atomic_dir`` writes ``NAME.tmp-PID``, moves any old ``NAME`` to ``NAME.old``, renames the new
folder into place and only then deletes ``NAME.old``: at every instant a complete copy exists
under ``NAME`` or ``NAME.old``, never a half-written ``NAME``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable


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


def save_model_dir(path: str | Path, model, tokenizer) -> Path:
    """``save_pretrained`` (safetensors) of model and tokenizer into ``path``, atomically."""

    from transformers.utils import logging as hf_logging

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar per epoch would bury ours
    try:
        return atomic_dir(path, write)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
