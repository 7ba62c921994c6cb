"""The console sink: a tqdm progress bar per epoch and one line per validation and decision."""

from __future__ import annotations

import sys

from .events import Event


class ConsoleSink:
    """Shows training progress in a terminal or notebook; receives events like any sink."""

    def __init__(self, file=None, bar: bool = True):
        self.file = file or sys.stderr
        self.bar_enabled = bar
        self.bar = None
        self.steps_per_epoch = None
        self.max_epochs = None

    def _write(self, text: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(text, file=self.file)

    def _new_bar(self, epoch: int) -> None:
        from tqdm.auto import tqdm

        self._close_bar()
        if self.bar_enabled:
            self.bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{self.max_epochs}",
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
            self._write(f"adaft run {e['run_id']}: task {e['task']}, mode {e['mode']}, strategy "
                        f"{e['strategy']}, {e['train_size']} train / {e['val_size']} validation "
                        f"sentences, {e['steps_per_epoch']} steps per epoch, device {e['device']}")
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
            self._write(f"epoch {e['epoch']} {e['split']}: loss {e['loss']:.4f} {score_txt}")
        elif kind == "decision":
            self._write(f"  -> {e['action']}: {e['reason']}")
        elif kind == "run_ended":
            self._close_bar()
            test = e.get("test") or {}
            extra = f", test f1 {test['f1']:.4f}" if "f1" in test else ""
            err = f" ({e['error']})" if e.get("error") else ""
            self._write(f"run {e['run_id']} {e['status']}{err} after {e['epochs']} epochs, "
                        f"{e['steps']} steps, {e['wall_time']:.1f} s{extra}")

    def close(self) -> None:
        self._close_bar()
