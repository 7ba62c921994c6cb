"""A Hugging Face model card (``README.md``) for a model adaft saved: how it was trained, from the
run log.

The metadata block is ``huggingface_hub``'s :class:`~huggingface_hub.ModelCardData` (base model,
datasets, task, tags and the scores as ``model-index`` :class:`~huggingface_hub.EvalResult`\\ s,
which the Hub shows as an evaluation widget); the body is Markdown sections built from the run's
facts (:class:`~adaft_core.report.RunFacts`): the mode and what it decided (epochs, every decision,
why it stopped), the strategy, validation/test scores and per-type scores, the settings, the adaft
version and the ``adaft train …`` command that reproduces the run. ``ModelCard.load`` reads it back.

:func:`write_model_cards` is called by the engine as a run ends (``model/`` and, where it is kept,
``checkpoint/``); a card that cannot be written is a warning, never a failed run.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from adaft_core.report import RunFacts, per_type_rows

CARD_FILE = "README.md"
PIPELINE_TAGS = {"ner": "token-classification", "classification": "text-classification",
                 "regression": "text-classification"}
SHIPPED_BASES = {"minilm": "sentence-transformers/all-MiniLM-L6-v2",
                 "minilm-2l": "sentence-transformers/all-MiniLM-L6-v2"}  # minilm-2l: its first 2 layers


def model_card(facts: RunFacts):
    """The :class:`huggingface_hub.ModelCard` of the run ``facts`` describe."""
    from huggingface_hub import ModelCard, ModelCardData

    cfg, task = facts.config, str(facts.started.get("task") or facts.config.get("task") or "ner")
    base = _base_model(cfg)
    data = _hub_dataset(cfg.get("data"))
    tags = ["adaft", f"adaft-{facts.started.get('mode') or cfg.get('mode')}", task]
    strategy = facts.started.get("strategy") or cfg.get("strategy")
    if strategy and strategy != "vanilla":
        tags.append(str(strategy))
    card_data = ModelCardData(model_name=facts.run_id, base_model=base, library_name="transformers",
                              pipeline_tag=PIPELINE_TAGS.get(task), datasets=[data] if data else None, tags=tags,
                              eval_results=_eval_results(facts, task, cfg) or None)
    body = "\n\n".join(part for part in (_summary(facts, task, base), _scores(facts), _per_type(facts),
                                         _decisions(facts), _settings(cfg), _reproduce(facts, cfg)) if part)
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}\n")


def write_model_cards(run_dir: str | Path) -> list[Path]:
    """``README.md`` into the run's ``model/`` and ``checkpoint/`` folders that exist; the paths
    written. Never raises: a card is a courtesy, the run's outcome does not depend on it."""
    run_dir = Path(run_dir)
    folders = [f for f in (run_dir / "model", run_dir / "checkpoint") if (f / "config.json").is_file()]
    if not folders:
        return []
    written = []
    try:
        card = model_card(RunFacts.from_run_dir(run_dir))
        for folder in folders:
            card.save(str(folder / CARD_FILE))
            written.append(folder / CARD_FILE)
    except Exception as exc:  # noqa: BLE001 - the model is saved; a missing card must not fail the run
        warnings.warn(f"adaft: could not write the model card in {run_dir} ({exc!r})", RuntimeWarning, stacklevel=2)
    return written


# ---------------------------------------------------------------------- metadata
def _base_model(cfg: dict[str, Any]) -> str | None:
    model = str(cfg.get("model") or "")
    if model in SHIPPED_BASES:
        return SHIPPED_BASES[model]
    return model if model and not Path(model).exists() else None  # a local folder is not a Hub id


def _hub_dataset(data: Any) -> str | None:
    text = str(data or "")
    if text.startswith("hf:"):
        return text[3:].split(":", 1)[0]
    if text.startswith("glue/"):
        return "nyu-mll/glue"
    return None


def _eval_results(facts: RunFacts, task: str, cfg: dict[str, Any]) -> list:
    from huggingface_hub import EvalResult

    data = str(cfg.get("data") or "data")
    out = []
    for split, metrics in facts.scores().items():
        for name in _headline(metrics, facts.metric):
            out.append(EvalResult(task_type=PIPELINE_TAGS.get(task, task), dataset_type=_hub_dataset(data) or data,
                                  dataset_name=data, dataset_split=split, metric_type=name,
                                  metric_value=float(metrics[name])))
    return out


def _headline(metrics: dict[str, Any], metric: str) -> list[str]:
    names = [metric, "precision", "recall", "accuracy"]
    return [n for n in dict.fromkeys(names) if isinstance(metrics.get(n), (int, float))]


# ---------------------------------------------------------------------- body
def _table(head: list[str], rows: list[list[Any]], scores: bool = True) -> str:
    """A Markdown table; ``scores``: floats with 4 decimals (else as written, e.g. a learning rate)."""
    cells = [head, ["---"] * len(head), *[[_cell(v, scores) for v in row] for row in rows]]
    return "\n".join("| " + " | ".join(map(str, r)) + " |" for r in cells)


def _cell(value: Any, scores: bool = True) -> str:
    if isinstance(value, float) and scores:
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _summary(facts: RunFacts, task: str, base: str | None) -> str:
    s, cfg = facts.started, facts.config
    labels = ", ".join(map(str, s.get("labels") or [])) or "-"
    options = cfg.get("strategy_options") or {}
    strategy = str(s.get("strategy") or cfg.get("strategy") or "vanilla")
    lines = [f"# {facts.run_id}", "",
             f"A `{task}` model fine-tuned with adaft from "
             f"`{base or cfg.get('model')}` on `{cfg.get('data')}`.", "",
             "## Training", "",
             f"- **task**: {task}; labels: {labels}",
             f"- **data**: {cfg.get('data')} ({s.get('train_size', '?')} training, {s.get('val_size', '?')} "
             f"validation, {s.get('test_size') if s.get('test_size') is not None else '-'} test examples)",
             f"- **mode**: {s.get('mode') or cfg.get('mode')}; {facts.end_text()}",
             f"- **epochs**: {facts.epochs} ({s.get('steps_per_epoch', '?')} optimizer steps each); best validation "
             f"epoch {_epoch(facts.ended.get('best_epoch') if facts.ended else None)}; final model: "
             f"{(facts.ended or {}).get('final_model') or '-'}",
             f"- **strategy**: {strategy}" + (f" ({', '.join(f'{k}={v}' for k, v in options.items())})"
                                              if options else "")]
    if facts.resumed:
        lines.append(f"- **resumed** {len(facts.resumed)} time(s), at step(s) "
                     + ", ".join(str(r.get("step")) for r in facts.resumed))
    versions = s.get("versions") or {}
    if versions:
        lines.append("- **versions**: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return "\n".join(lines)


def _epoch(epoch0: Any) -> str:
    from adaft_core.events.display import epoch_label

    return "-" if epoch0 is None else str(epoch_label(epoch0))


def _scores(facts: RunFacts) -> str:
    scores = facts.scores()
    if not scores:
        return ""
    names = list(dict.fromkeys(n for m in scores.values() for n in [*_headline(m, facts.metric), "loss"]
                               if isinstance(m.get(n), (int, float))))
    rows = [[split, *[m.get(n, "-") for n in names]] for split, m in scores.items()]
    return f"## Scores (headline metric: {facts.metric})\n\n" + _table(["split", *names], rows)


def _per_type(facts: RunFacts) -> str:
    parts = []
    for split, metrics in facts.scores().items():
        rows = per_type_rows(metrics)
        if rows:
            parts.append(f"### {split}\n\n" + _table(["type", "f1", "precision", "recall", "support"],
                                                      [[t, m.get("f1", "-"), m.get("precision", "-"),
                                                        m.get("recall", "-"), m.get("support", "-")]
                                                       for t, m in rows]))
    return "## Scores per type\n\n" + "\n\n".join(parts) if parts else ""


def _decisions(facts: RunFacts) -> str:
    rows = facts.decision_rows()
    if not rows:
        return ""
    return ("## Decisions after each epoch\n\n"
            + _table(["epoch", "phase", "action", "reason"], [list(r) for r in rows]))


def _settings(cfg: dict[str, Any]) -> str:
    if not cfg:
        return ""
    return "## Settings\n\n" + _table(["setting", "value"], [[k, v] for k, v in cfg.items()], scores=False)


def _reproduce(facts: RunFacts, cfg: dict[str, Any]) -> str:
    versions = facts.started.get("versions") or {}
    try:
        from adaft_core.settings.command_line import command_line
        from adaft_core.settings.config import TrainConfig

        line = command_line(TrainConfig.from_dict({k: v for k, v in cfg.items() if k != "run_name"}))
    except Exception:  # noqa: BLE001 - e.g. a Trainer (AdaptiveKit) run: its settings are not adaft train's
        return ("## Reproduce\n\nThis run was not made by `adaft train` (its settings are above); "
                f"adaft {versions.get('adaft', '?')}.")
    return (f"## Reproduce\n\nWith adaft {versions.get('adaft', '?')} (the versions above):\n\n"
            f"```bash\n{line}\n```")
