"""What the engine needs from a task (NER, classification, regression), and the task registry.

A task turns a validated config into a :class:`PreparedTask`: tokenised features per split, a
collator, the label list, a model factory and a metrics function. Everything that can be wrong
with the user's data or model is found in ``prepare`` — before the engine writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from adaft_core.errors import ConfigError, choices_message


@dataclass
class PreparedTask:
    """The task-specific pieces the training loop consumes."""

    name: str
    metric: str  # headline metric name, e.g. "f1"
    labels: list[str]
    tokenizer: Any
    model_path: str
    features: dict[str, list[dict]]  # "train" / "validation" / "test" -> features
    collator: Callable[[list[dict]], dict]
    load_model: Callable[[], Any]
    # rows: [(feature_index, pred_ids, label_ids)] over a whole split -> metrics dict
    compute_metrics: Callable[[list[tuple[int, Any, Any]], list[dict]], dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)  # sizes etc. for run_started
    # logits -> predictions handed to compute_metrics; None: argmax over the last dim (NER, classes)
    predict: Callable[[Any], Any] | None = None
    # extra splits in ``features`` the engine evaluates with the final model ("eval:<name>")
    eval_splits: list[str] = field(default_factory=list)
    # how evaluate() defines the validation loss: "token_mean" | "batch_mean" (config ``val_loss``)
    val_loss: str = "token_mean"


def get_task(name: str):
    """The ``prepare(config) -> PreparedTask`` function of a task (the registry ``tasks.TASKS``)."""
    from adaft_core.tasks import TASKS

    if name not in TASKS:
        raise ConfigError(choices_message("task", name, TASKS))
    return TASKS[name]
