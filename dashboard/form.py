"""The run setup form (its Start / Stop buttons drive a :class:`~dashboard.trainer.Trainer`).

The form turns its fields into a :class:`~adaft_core.TrainConfig` and checks it with
``TrainConfig.validated()`` whenever a field changes; the :class:`~adaft_core.ConfigError`
message is shown under the field it names (or under the form). Start runs
``adaft_core.train`` in a daemon thread of this kernel with the dashboard's queue sink and a
``threading.Event``; Stop sets the event and the engine ends the run after the current step
(status ``stopped``, run log complete). ``adaft_core.train`` (and so torch) is imported only in
that thread; the widgets are touched only by the UI pump (``refresh``), never by the thread.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable

import ipywidgets as W

from adaft_core.config import TASKS, TrainConfig
from adaft_core.errors import ConfigError
from adaft_core.modes import MODES

from .trainer import Trainer

STRATEGY_CHOICES = ("vanilla", "dps-dense", "dps-mix", "childtuning-d", "childtuning-f")
MODEL_CHOICES = ("minilm", "minilm-2l")
# A demo that finishes, with early stopping firing, in about half a minute on a laptop CPU:
# the shipped MiniLM cut to 2 layers, 10 % of WikiGold's training sentences, a higher LR and a
# 2-epoch cooldown, no per-epoch checkpoints.
DEMO_PRESET: dict[str, Any] = dict(model="minilm-2l", train_fraction=0.1, val_fraction=0.2, lr=5e-4,
                                   max_seq_length=64, warmup_epochs=1, cooldown_epochs=2, max_epochs=30,
                                   save_checkpoints=False)
PRESETS = {"defaults": {}, "demo": DEMO_PRESET}
PRESET_LABELS = [("shipped defaults (MiniLM-L6, WikiGold)", "defaults"), ("tiny demo (~30 s on a CPU)", "demo")]
FIELDS = ("model", "data", "task", "mode", "strategy", "lr", "train_fraction", "val_fraction", "seed",
          "max_epochs", "batch_size", "max_seq_length", "warmup_epochs", "cooldown_epochs", "patience",
          "restarts", "final_model", "run_name", "save_model", "save_checkpoints")


def _text(description: str, value: Any, cls=W.Text, **kw) -> W.Widget:
    return cls(value=value, description=description, style={"description_width": "120px"},
               layout=W.Layout(width="330px"), **kw)


class RunForm:
    def __init__(self, runs_dir: Path, make_sinks: Callable[[], list], trainer: Trainer | None = None):
        self.runs_dir = Path(runs_dir)
        self.make_sinks = make_sinks
        self.trainer = trainer or Trainer()
        d = TrainConfig()
        self.preset = _text("preset", "defaults", W.Dropdown, options=PRESET_LABELS)
        self.fields: dict[str, W.Widget] = {
            "model": _text("model", d.model, W.Combobox, options=list(MODEL_CHOICES), ensure_option=False),
            "data": _text("dataset", d.data, W.Combobox, options=["wikigold"], ensure_option=False),
            "task": _text("task", d.task, W.Dropdown, options=list(TASKS)),
            "mode": _text("training mode", d.mode, W.Dropdown, options=list(MODES)),
            "strategy": _text("update strategy", d.strategy, W.Dropdown, options=list(STRATEGY_CHOICES)),
            "keep_fraction": _text("keep fraction", "", placeholder="(strategy default)"),
            "lr": _text("learning rate", d.lr, W.FloatText, step=1e-5),
            "train_fraction": _text("train fraction", d.train_fraction, W.FloatText, step=0.05),
            "val_fraction": _text("val fraction", d.val_fraction, W.FloatText, step=0.05),
            "seed": _text("seed", d.seed, W.IntText),
            "max_epochs": _text("max epochs", 0, W.IntText, tooltip="0: the mode's default (adaptive: cap 250)"),
            "batch_size": _text("batch size", d.batch_size, W.IntText),
            "max_seq_length": _text("max seq length", d.max_seq_length, W.IntText),
            "warmup_epochs": _text("warm-up epochs", d.warmup_epochs, W.IntText),
            "cooldown_epochs": _text("cooldown epochs", d.cooldown_epochs, W.IntText),
            "patience": _text("patience", d.patience, W.IntText),
            "restarts": W.Checkbox(value=d.restarts, description="restarts", indent=False),
            "final_model": _text("final model", d.final_model, W.Dropdown, options=["last", "best"]),
            "run_name": _text("run name", "", placeholder="(automatic)"),
            "save_model": W.Checkbox(value=d.save_model, description="save final model", indent=False),
            "save_checkpoints": W.Checkbox(value=d.save_checkpoints, description="checkpoint every epoch",
                                           indent=False),
            "strategy_options": _text("strategy options", "", placeholder='JSON, e.g. {"stage_steps": 50}'),
        }
        self.errors = {name: W.HTML(layout=W.Layout(margin="0 0 0 124px")) for name in self.fields}
        self.message = W.HTML()
        self.status = W.HTML("<span class='adaft-form-status'>idle</span>")
        self.start_button = W.Button(description="Start", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.preset.observe(lambda c: self.apply_preset(c["new"]), names="value")
        self._quiet = False
        for w in self.fields.values():
            w.observe(lambda _c: None if self._quiet else self.validate(), names="value")
        main = ("model", "data", "task", "mode", "strategy", "keep_fraction", "lr", "train_fraction",
                "val_fraction", "seed", "max_epochs")
        advanced = [n for n in self.fields if n not in main]
        box = lambda names: W.VBox([W.VBox([self.fields[n], self.errors[n]]) for n in names])  # noqa: E731
        self.advanced = W.Accordion(children=[box(advanced)], titles=("more settings",), selected_index=None)
        self.widget = W.VBox([W.HTML("<b>New run</b>"), self.preset, box(main), self.advanced, self.message,
                              W.HBox([self.start_button, self.stop_button]), self.status],
                             layout=W.Layout(width="360px", min_width="360px"))

    # ------------------------------------------------------------------ config
    def apply_preset(self, name: str) -> None:
        values = {**{k: getattr(TrainConfig(), k) for k in FIELDS}, "max_epochs": 0, "run_name": "",
                  **PRESETS.get(name, {})}
        self._quiet = True  # one validation for the whole preset, not one per field
        try:
            for key, value in values.items():
                if key in self.fields and value is not None:
                    self.fields[key].value = value
        finally:
            self._quiet = False
        self.validate()

    def config(self) -> TrainConfig:
        """The config the fields describe (not validated yet)."""
        f = {name: w.value for name, w in self.fields.items()}
        options: dict[str, Any] = {}
        keep = str(f["keep_fraction"]).strip()
        if keep and f["strategy"] != "vanilla":
            try:
                options["keep_fraction"] = float(keep)
            except ValueError as exc:
                raise ConfigError(f"keep_fraction must be a number in (0, 1], got {keep!r}") from exc
        if str(f["strategy_options"]).strip():
            try:
                extra = json.loads(f["strategy_options"])
            except ValueError as exc:
                raise ConfigError(f"strategy_options must be a JSON object: {exc}") from exc
            if not isinstance(extra, dict):
                raise ConfigError('strategy_options must be a JSON object, e.g. {"stage_steps": 50}')
            options.update(extra)
        values = {k: f[k] for k in FIELDS}
        values.update(strategy_options=options, output_dir=str(self.runs_dir),
                      max_epochs=f["max_epochs"] or None, run_name=(f["run_name"] or "").strip() or None,
                      model=str(f["model"]).strip(), data=str(f["data"]).strip())
        return TrainConfig(**values)

    def validate(self) -> TrainConfig | None:
        """Show the first problem under its field; the validated config if there is none."""
        for e in self.errors.values():
            e.value = ""
        self.message.value = ""
        try:
            cfg = self.config().validated()
        except ConfigError as exc:
            text = str(exc)
            field = next((n for n in sorted(self.fields, key=len, reverse=True)
                          if text.startswith((n, f"unknown {n}"))), None)
            target = self.errors[field] if field else self.message
            target.value = f"<span class='adaft-error' style='color:#dc2626'>{html.escape(text)}</span>"
            return None
        return cfg

    # ------------------------------------------------------------------ actions
    def start(self) -> bool:
        if self.trainer.busy:
            self.message.value = "a run is already training here; stop it first"
            return False
        cfg = self.validate()
        if cfg is None:
            return False
        self.trainer.start(cfg, self.make_sinks())
        self.refresh()
        return True

    def stop(self) -> None:
        self.trainer.stop()
        self.refresh()

    def refresh(self) -> None:
        """Mirror the trainer's state in the buttons and status line (called by the UI pump)."""
        t = self.trainer
        busy = t.busy
        self.start_button.disabled = busy
        self.stop_button.disabled = not busy
        stopping = busy and t.stop_event is not None and t.stop_event.is_set()
        state = "stopping…" if stopping else t.state
        text = f"{state}" + (f": {t.run_id}" if t.run_id else "")
        if t.state == "preparing" and not stopping:
            text = "preparing data and model…"
        if t.state == "finished" and t.result is not None:
            text = f"{t.result.status}: {t.result.run_id}"
        status = f"<span class='adaft-form-status'>{html.escape(text)}</span>"
        if t.error:
            status += f"<div class='adaft-error' style='color:#dc2626'>{html.escape(t.error)}</div>"
        if self.status.value != status:
            self.status.value = status
