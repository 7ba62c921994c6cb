"""Runs into TensorBoard, through torch's ``SummaryWriter`` (needs the ``tensorboard`` package).

One folder per run: ``<logdir>/<run_id>``, a sweep's runs side by side in ``<logdir>/<sweep>/``
(``tensorboard --logdir <logdir>`` shows them as runs to compare). Scalars as named in
:mod:`.base`, the settings as a table and the decisions as text (TensorBoard's Text tab), each
mask selection's kept fractions per weight matrix as a histogram (``mask/kept``). Re-exporting a
run replaces its earlier event files; a live, resumed run appends to them.
"""

from __future__ import annotations

from typing import Any, Mapping

from adaft_core.exports.base import RunInfo, Writer
from adaft_core.exports.names import tensorboard_dir


class TensorBoardWriter(Writer):
    tracker = "tensorboard"
    writer = None

    def open(self, info: RunInfo, resumed: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        base = tensorboard_dir(self.target.runs_dir, self.target.logdir)
        self.folder = base / info.sweep / info.run_id if info.sweep else base / info.run_id
        if self.target.replace and self.folder.is_dir():
            for old in self.folder.glob("events.out.tfevents.*"):
                old.unlink()
        self.writer = SummaryWriter(log_dir=str(self.folder), flush_secs=10)
        if not resumed:
            rows = "\n".join(f"| {k} | {v} |" for k, v in {**info.tags, **info.params}.items())
            self.writer.add_text("config", f"| setting | value |\n|---|---|\n{rows}", 0)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step, walltime=self.time)

    def text(self, tag: str, text: str, step: int) -> None:
        self.writer.add_text(tag, text, step, walltime=self.time)

    def mask(self, ev: Mapping[str, Any]) -> None:
        kept = [m["kept"] for m in ev.get("modules") or [] if m.get("kept") is not None]
        if kept:
            import numpy as np

            self.writer.add_histogram("mask/kept", np.asarray(kept, dtype=float), int(ev.get("step") or 0))

    def finish(self, info: RunInfo, status: str, decisions: str) -> None:
        self.writer.add_text("status", status, self.step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def where(self) -> str:
        return str(getattr(self, "folder", tensorboard_dir(self.target.runs_dir, self.target.logdir)))
