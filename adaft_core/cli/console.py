"""The console sink: a tqdm progress bar per epoch and one line per validation and decision."""

from __future__ import annotations

import sys

from adaft_core.events.display import epoch_label
from adaft_core.events.emitter import Event


class ConsoleSink:
    """Shows training progress in a terminal or notebook; receives events like any sink."""

    def __init__(self, file=None, bar: bool = True):
        self.file = file or sys.stderr
        self.bar_enabled = bar
        self.bar = None
        self.steps_per_epoch = None
        self.max_epochs = None
        self.metric = "f1"  # the task's headline metric, from run_started

    def _write(self, text: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(text, file=self.file)

    def _new_bar(self, epoch: int) -> None:
        from tqdm.auto import tqdm

        self._close_bar()
        if self.bar_enabled:
            self.bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch_label(epoch)}/{self.max_epochs}",
                            unit="step", file=self.file, leave=False, dynamic_ncols=True)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def handle(self, event: Event) -> None:
        e = event.to_dict()
        kind = e["event"]
        if kind == "run_started":
            self.steps_per_epoch, self.max_epochs = e["steps_per_epoch"], e["max_epochs"]
            self.metric = e.get("metric") or self.metric
            unit = "sentences" if e["task"] == "ner" else "examples"
            self._write(f"adaft run {e['run_id']}: task {e['task']}, mode {e['mode']}, strategy "
                        f"{e['strategy']}, {e['train_size']} train / {e['val_size']} validation "
                        f"{unit}, {e['steps_per_epoch']} steps per epoch, device {e['device']}")
            cut = {k: v for k, v in (e.get("truncated") or {}).items() if v}
            if cut:
                self._write("  truncated to max_seq_length (longest_first): "
                            + ", ".join(f"{v} {k}" for k, v in cut.items()))
            dropped = {k: v for k, v in (e.get("dropped") or {}).items() if v}
            if dropped:
                self._write("  rows without a label, dropped: " + ", ".join(f"{v} {k}" for k, v in dropped.items()))
        elif kind == "resumed":
            self.steps_per_epoch, self.max_epochs = e["steps_per_epoch"], e["max_epochs"]
            self.metric = e.get("metric") or self.metric
            self._write(f"adaft run {e['run_id']}: resumed after step {e['step']}, in epoch {epoch_label(e['epoch'])}, "
                        f"from {e.get('checkpoint') or 'the start (no checkpoint yet)'}")
        elif kind == "step":
            if self.bar is None:
                self._new_bar(e["epoch"])
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix(loss=f"{e['loss']:.4f}", lr=f"{e['lr']:.2e}", refresh=False)
        elif kind == "eval":
            self._close_bar()
            score = e.get("score")
            score_txt = f"{e['metric']} {score:.4f}" if isinstance(score, (int, float)) else ""
            loss = e.get("loss")
            loss_txt = f"loss {loss:.4f} " if isinstance(loss, (int, float)) else ""
            self._write(f"epoch {epoch_label(e['epoch'])} {e['split']}: {loss_txt}{score_txt}".rstrip())
        elif kind == "decision":
            self._write(f"  -> {e['action']}: {e['reason']}")
        elif kind == "run_ended":
            self._close_bar()
            m = self.metric
            scored = [("val", e.get("val") or {}), ("test", e.get("test") or {})]
            scored += [(f"eval:{k}", v or {}) for k, v in (e.get("eval_data") or {}).items()]
            extra = "".join(f", {name} {m} {d[m]:.4f}" for name, d in scored
                            if isinstance(d.get(m), (int, float)))
            err = f" ({e['error']})" if e.get("error") else ""
            self._write(f"run {e['run_id']} {e['status']}{err} after {e['epochs']} epochs, "
                        f"{e['steps']} steps, {e['wall_time']:.1f} s{extra}")

    def close(self) -> None:
        self._close_bar()
