"""The run setup form (its Start / Stop buttons drive a :class:`~adaft_dashboard.launch.trainer.Trainer`).

Each field is built from the setting's declaration (``adaft_core.settings.config.SETTINGS``,
``adaft_core.settings.strategy_options.OPTIONS``): closed choices (task, mode, strategy, final model, mixed
precision …) become drop-downs listing exactly what ``adaft train`` accepts, open ones (shipped
models and datasets) combo boxes, bools check boxes, numbers and names text boxes converted with
the setting's own parser. Whenever a field changes the form checks the whole config with
``TrainConfig.validated()`` (no torch: instant) and shows the
:class:`~adaft_core.ConfigError` message under the field it names (``exc.setting``) or at the top
of the form; the unfolded "more settings" opens when the field at fault is in it. Start hands the
validated config to the Trainer; a Start that fails before its run begins (a model that cannot be
found, say) is shown the same way, and cleared when a field is edited. Under the buttons: the run's
status (red only for failures), its progress line and the equivalent ``adaft train`` command.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any, Callable

import ipywidgets as W
import traitlets

from adaft_core.settings.config import SETTINGS, TrainConfig
from adaft_core.store.data_roots import check_eval_source, check_source, roots_from_env
from adaft_core.errors import ConfigError
from adaft_core.settings.declare import Setting
from adaft_core.settings.strategy_options import OPTIONS, defaults_text, option_defaults

from adaft_dashboard.launch.command import command_html
from adaft_dashboard.views.panels import FAILED, status_color
from adaft_dashboard.launch.trainer import Trainer

# A demo that finishes, with early stopping firing, in about half a minute on a laptop CPU:
# the shipped MiniLM cut to 2 layers, 10 % of WikiGold's training sentences, a higher LR and a
# 2-epoch cooldown, no per-epoch checkpoints.
DEMO_PRESET: dict[str, Any] = dict(model="minilm-2l", train_fraction=0.1, val_fraction=0.2, lr=5e-4,
                                   max_seq_length=64, warmup_epochs=1, cooldown_epochs=2, max_epochs=30,
                                   save_checkpoints=False)
PRESETS = {"defaults": {}, "demo": DEMO_PRESET}
PRESET_LABELS = [("shipped defaults (MiniLM-L6, WikiGold)", "defaults"), ("tiny demo (~30 s on a CPU)", "demo")]
MAIN = ("model", "data", "task", "mode", "strategy", "keep_fraction", "lr", "train_fraction", "val_fraction",
        "seed", "max_epochs")
ADVANCED = ("batch_size", "max_seq_length", "warmup_epochs", "cooldown_epochs", "patience", "restarts",
            "final_model", "val_loss", "mixed_precision", "run_name", "save_model", "save_checkpoints",
            "strategy_options")
FIELDS = tuple(n for n in MAIN + ADVANCED if n in SETTINGS and n != "strategy_options")  # TrainConfig fields
LABEL_WIDTH = "120px"  # the fields' labels; the inputs take the rest of the form's width (nothing clipped)
FIELD_WIDTH = "96%"  # of the box a field is in (the form, or the narrower "more settings"), margins included
FORM_WIDTH = "400px"
ERROR_STYLE = "color:#dc2626"


class SettingText(W.Text):
    """A text box whose value may also be set to a number (``field.value = 1e-4``): kept as text
    and converted by the setting's parser, so a typo is reported, not silently reverted."""

    value = traitlets.CUnicode("", help="String value").tag(sync=True)


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def setting_widget(spec: Setting, value: Any, title: str | None = None) -> W.Widget:
    """The widget of one setting, from its declaration."""
    title = title or spec.title or spec.name.replace("_", " ")
    tip = f"{spec.help} (default: {spec.shown_default()})"
    kw = dict(description=title, tooltip=tip, style={"description_width": LABEL_WIDTH},
              layout=W.Layout(width=FIELD_WIDTH))
    if spec.kind is bool:
        return W.Checkbox(value=value, indent=False, description=title, tooltip=tip)
    if spec.valid_choices():
        return W.Dropdown(options=list(spec.valid_choices()), value=value, **kw)
    if spec.valid_suggestions():
        return W.Combobox(options=list(spec.valid_suggestions()), value=as_text(value), ensure_option=False, **kw)
    placeholder = f"({spec.shown_default()})" if spec.optional else ""
    return SettingText(value=as_text(value), placeholder=placeholder, **kw)


def widget_value(spec: Setting, widget: W.Widget) -> Any:
    """The setting's value from its widget: a drop-down's or check box's as is, text converted by
    the setting's parser (a ConfigError naming the setting if it can't be)."""
    value = widget.value
    if not isinstance(value, str) or spec.valid_choices():
        return value
    return value.strip() if spec.kind is str and not spec.optional else spec.convert(value)


class RunForm:
    def __init__(self, runs_dir: Path, make_sinks: Callable[[], list], trainer: Trainer | None = None):
        self.runs_dir = Path(runs_dir)
        self.make_sinks = make_sinks
        self.data_roots = roots_from_env()  # set by `adaft dashboard`; None: nothing restricted
        self.trainer = trainer or Trainer()
        d = TrainConfig()
        self.preset = W.Dropdown(options=PRESET_LABELS, value="defaults", description="preset",
                                 style={"description_width": "60px"}, layout=W.Layout(width=FIELD_WIDTH))
        self.fields: dict[str, W.Widget] = {}
        for name in MAIN + ADVANCED:
            if name in FIELDS:
                self.fields[name] = setting_widget(SETTINGS[name], getattr(d, name))
            elif name == "keep_fraction":
                self.fields[name] = setting_widget(OPTIONS[name], None, title="keep fraction")
            else:  # strategy_options: the other options, as JSON
                self.fields[name] = SettingText(value="", description="strategy options",
                                                placeholder='JSON, e.g. {"stage_steps": 50}',
                                                tooltip=SETTINGS[name].help, style={"description_width": LABEL_WIDTH},
                                                layout=W.Layout(width=FIELD_WIDTH))
        self.errors = {name: W.HTML(layout=W.Layout(margin="0 0 0 124px")) for name in self.fields}
        self.message = W.HTML()  # a problem no field is at fault for: at the top, always in sight
        self.status = W.HTML("<span class='adaft-form-status'>idle</span>")
        self.progress = W.HTML()
        self.command = W.HTML()
        self.start_button = W.Button(description="Start", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.preset.observe(lambda c: self.apply_preset(c["new"]), names="value")
        self._quiet = False
        self._failure: tuple | None = None  # the failed Start whose error is shown (until a field is edited)
        self._dismissed: tuple | None = None
        for w in self.fields.values():
            w.observe(lambda _c: None if self._quiet else self.edited(), names="value")
        box = lambda names: W.VBox([W.VBox([self.fields[n], self.errors[n]]) for n in names])  # noqa: E731
        self.advanced = W.Accordion(children=[box(ADVANCED)], titles=("more settings",), selected_index=None)
        self.widget = W.VBox([W.HTML("<b>New run</b>"), self.message, self.preset, box(MAIN), self.advanced,
                              W.HBox([self.start_button, self.stop_button]), self.status, self.progress,
                              self.command],
                             layout=W.Layout(width=FORM_WIDTH, min_width=FORM_WIDTH))
        self._show_keep_fraction()
        self._show_command()

    # ------------------------------------------------------------------ config
    def apply_preset(self, name: str) -> None:
        d = TrainConfig()
        values = {**{k: getattr(d, k) for k in FIELDS}, **PRESETS.get(name, {})}
        self._quiet = True  # one validation for the whole preset, not one per field
        try:
            for key, value in values.items():
                widget = self.fields[key]
                widget.value = as_text(value) if isinstance(widget, (SettingText, W.Combobox)) else value
        finally:
            self._quiet = False
        self.edited()

    def _show_keep_fraction(self) -> None:
        """The keep-fraction box applies to the chosen strategy only; its placeholder is that
        strategy's default."""
        box = self.fields["keep_fraction"]
        defaults = option_defaults(self.fields["strategy"].value)
        box.disabled = "keep_fraction" not in defaults
        box.placeholder = (f"(default {defaults['keep_fraction']})" if not box.disabled
                           else "(not an option of this strategy)")
        box.tooltip = f"{OPTIONS['keep_fraction'].help} (default: {defaults_text('keep_fraction')})"

    def config(self) -> TrainConfig:
        """The config the fields describe (not validated yet); a field whose text is not a
        value of its setting's type is a ConfigError naming it."""
        values = {name: widget_value(SETTINGS[name], self.fields[name]) for name in FIELDS}
        options: dict[str, Any] = {}
        keep = self.fields["keep_fraction"]
        if not keep.disabled and str(keep.value).strip():
            options["keep_fraction"] = OPTIONS["keep_fraction"].convert(keep.value)
        extra_text = str(self.fields["strategy_options"].value).strip()
        if extra_text:
            try:
                extra = json.loads(extra_text)
            except ValueError as exc:
                raise SETTINGS["strategy_options"].fail(f"strategy_options must be a JSON object: {exc}") from exc
            if not isinstance(extra, dict):
                raise SETTINGS["strategy_options"].fail('strategy_options must be a JSON object, e.g. '
                                                        '{"stage_steps": 50}')
            options.update(extra)
        return TrainConfig(**values, strategy_options=options, output_dir=str(self.runs_dir))

    def edited(self) -> None:
        """A field changed: the error of an earlier failed Start is gone, the whole config is checked."""
        self._dismissed = self._failure
        self.validate()

    def field_of(self, text: str, setting: str | None = None) -> str | None:
        """The field a message is about: the setting it names, else the field its text starts with."""
        if setting in self.fields:
            return setting
        return next((n for n in sorted(self.fields, key=len, reverse=True)
                     if text.startswith((n, f"unknown {n}", SETTINGS[n].what if n in SETTINGS else n))), None)

    def show_error(self, text: str, field: str | None) -> None:
        """``text`` under ``field`` (unfolding "more settings" when it is there), else at the top."""
        target = self.errors[field] if field else self.message
        target.value = f"<span class='adaft-error' style='{ERROR_STYLE}'>{html.escape(text)}</span>"
        if field in ADVANCED:
            self.advanced.selected_index = 0

    def validate(self) -> TrainConfig | None:
        """Show the first problem under its field; the validated config if there is none."""
        self._show_keep_fraction()
        for e in self.errors.values():
            e.value = ""
        self.message.value = ""
        try:
            cfg = self.readable(self.config()).validated()
        except ConfigError as exc:
            self.show_error(str(exc), self.field_of(str(exc), getattr(exc, "setting", None)))
            self._show_command()
            return None
        self._show_command()
        return cfg

    def _show_command(self) -> None:
        """The ``adaft train`` command of the form's settings, to copy (while they are valid)."""
        try:
            cfg = self.config()
            cfg.validated()
        except ConfigError:
            cfg = None
        self.command.value = command_html(cfg)

    def readable(self, cfg: TrainConfig) -> TrainConfig:
        """``cfg`` with its data sources checked against the data roots (before anything is read)."""
        evals = [check_eval_source(e, self.data_roots) if isinstance(e, str) else e for e in cfg.eval_data]
        return dataclasses.replace(cfg, data=check_source(cfg.data, self.data_roots), eval_data=evals)

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

    def refresh(self, run=None) -> None:
        """Mirror the trainer's state in the buttons, the status line (red only for a failure) and
        the progress line of ``run`` (its :class:`~adaft_dashboard.live.state.RunState`, when the page has
        read it); a failed Start's error goes under its field (called by the UI pump)."""
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
            state = t.result.status
            text = f"{t.result.status}: {t.result.run_id}"
        failure = (id(t.launched), id(t.thread), t.run_id, t.error) if t.error and not busy else None
        if failure is not None and failure != self._failure:
            self._failure = failure
            self.show_error(t.error, self.field_of(t.error))  # next to the field at fault, else at the top
        if failure is not None and failure == self._dismissed:
            state, text = "idle", "idle"  # edited since: the old error no longer applies
        failed = state in FAILED
        status = (f"<span class='adaft-form-status{' adaft-error' if failed else ''}' "
                  f"style='color:{status_color(state)}'>{html.escape(text)}</span>")
        if self.status.value != status:
            self.status.value = status
        line = run.progress_text() if run is not None else ""
        progress = f"<span class='adaft-progress' style='color:#374151'>{html.escape(line)}</span>" if line else ""
        if self.progress.value != progress:
            self.progress.value = progress
