"""What a tracker receives from a run log, decided once for all trackers.

A :class:`Writer` takes run-log events (plain dicts, in log order) through :meth:`Writer.handle`,
live from the engine (:mod:`.live`) or read back from ``events.jsonl`` (:mod:`.export`), and turns
them into the few calls every tracker has: ``open`` a run (params from the config, tags),
``scalars`` at an optimizer step, ``text`` at a step, ``finish`` (status, the decisions, the run
log). Each tracker module (``to_tensorboard``, ``to_mlflow``, ``to_trackio``) implements those
with its library's own writer.

The names are the same in every tracker: ``train/loss``, ``train/lr``, ``train/grad_norm`` at
each optimizer step; ``val/loss``, ``val/<metric>`` (every number in the eval event's
``metrics``, nested ones joined with ``/``: ``val/per_type/PER/f1``) at the step each validation
ran after, ``test/...`` and ``eval_<name>/...`` likewise; ``mask/kept_total`` and
``mask/overlap_mean`` at each mask selection (DPS, ChildTuning); the decisions as text
(``epoch 3: cooldown — …``).
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

SPLIT_PREFIX = {"validation": "val", "test": "test"}
STATUS_OK = ("completed", "early_stopped")


@dataclass
class Target:
    """Where a tracker writes: the runs folder (defaults live under ``<runs>/exports``), an
    explicit folder (``logdir``) or MLflow URI, the experiment / project, the run's sweep (set by
    a sweep export; found from the sweep manifests otherwise) and whether an earlier export of the
    same run is replaced (after-the-fact exports) or continued (a live, resumed run)."""

    runs_dir: Path
    logdir: Path | None = None
    tracking_uri: str | None = None
    project: str | None = None  # None: MLFLOW_EXPERIMENT_NAME (MLflow), else "adaft"
    sweep: str | None = None
    replace: bool = False


@dataclass
class RunInfo:
    """The facts of one run that trackers keep as params and tags."""

    run_id: str
    run_dir: Path
    sweep: str | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _numbers(prefix: str, values: Mapping[str, Any]) -> dict[str, float]:
    """Every finite number of a (nested) dict, keyed ``prefix/key[/subkey]``; bools and texts left out."""
    out: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            out.update(_numbers(name, value))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value:
            out[name] = float(value)
    return out


def split_prefix(split: str) -> str:
    """``validation`` -> ``val``; ``test``; ``eval:snli_2way`` -> ``eval_snli_2way``."""
    return SPLIT_PREFIX.get(split, split.replace(":", "_"))


def step_scalars(ev: Mapping[str, Any]) -> dict[str, float]:
    return {f"train/{k}": float(ev[k]) for k in ("loss", "lr", "grad_norm") if ev.get(k) is not None}


def eval_scalars(ev: Mapping[str, Any]) -> dict[str, float]:
    prefix = split_prefix(str(ev.get("split", "validation")))
    out = _numbers(prefix, {"loss": ev.get("loss")})
    out.update(_numbers(prefix, ev.get("metrics") or {}))
    if ev.get("metric") and ev.get("score") is not None:
        out[f"{prefix}/{ev['metric']}"] = float(ev["score"])
    return out


def mask_scalars(ev: Mapping[str, Any]) -> dict[str, float]:
    modules = ev.get("modules") or []
    kept = ev.get("kept_total")
    if kept is None and modules:
        kept = sum(m.get("kept", 0.0) for m in modules) / len(modules)
    out = {} if kept is None else {"mask/kept_total": float(kept)}
    overlaps = [m["overlap_prev"] for m in modules if m.get("overlap_prev") is not None]
    if overlaps:
        out["mask/overlap_mean"] = sum(overlaps) / len(overlaps)
    return out


def decision_line(ev: Mapping[str, Any]) -> str:
    """One decision in words, epochs counted from 1 (the reason already is)."""
    return f"epoch {int(ev.get('epoch', 0)) + 1}: {ev.get('action', '?')} — {ev.get('reason', '')}"


def params_of(started: Mapping[str, Any]) -> dict[str, str]:
    """The run's settings (its config, nested options as ``strategy_options.keep_fraction``) and
    data facts, as text (what MLflow params and TensorBoard's config table hold)."""
    params: dict[str, str] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                put(f"{name}.{k}", v)
        elif value is not None and value != [] and value != {}:
            params[name] = value if isinstance(value, str) else json.dumps(value)

    for key, value in (started.get("config") or {}).items():
        put(key, value)
    for key in ("train_size", "val_size", "test_size", "steps_per_epoch", "max_epochs", "device", "metric"):
        put(f"run.{key}", started.get(key))
    return params


def tags_of(run_id: str, sweep: str | None, started: Mapping[str, Any]) -> dict[str, str]:
    tags = {"adaft.run_id": run_id, "adaft.status": "running"}
    for key in ("task", "mode", "strategy", "model"):
        if started.get(key) is not None:
            tags[f"adaft.{key}"] = str(started[key])
    if sweep:
        tags["adaft.sweep"] = sweep
    return tags


class Writer:
    """Turns run-log events into tracker calls; a tracker module implements the calls below."""

    tracker = "?"

    def __init__(self, target: Target):
        self.target = target
        self.info: RunInfo | None = None
        self.step = 0
        self.time: float | None = None  # the Unix time of the event being written
        self.decisions: list[str] = []

    # ------------------------------------------------------------ events -> calls
    def handle(self, ev: Mapping[str, Any]) -> None:
        kind = ev.get("event")
        self.time = float(ev["time"]) if isinstance(ev.get("time"), (int, float)) else None
        if kind in ("run_started", "resumed"):
            if self.info is None:
                self.info = self._run_info(ev)
                self.open(self.info, resumed=kind == "resumed")
            return
        if self.info is None:
            return  # nothing to attach the event to
        if kind == "step":
            self.step = int(ev.get("step") or self.step)
            self.scalars(step_scalars(ev), self.step)
        elif kind == "eval":
            self.step = int(ev.get("step") or self.step)
            self.scalars(eval_scalars(ev), self.step)
        elif kind == "mask":
            self.scalars(mask_scalars(ev), int(ev.get("step") or 0))
            self.mask(ev)
        elif kind == "decision":
            line = decision_line(ev)
            self.decisions.append(line)
            self.text("decisions", line, self.step)
        elif kind == "run_ended":
            status = str(ev.get("status") or "failed")
            self.info.tags["adaft.status"] = status
            self.finish(self.info, status, self.decisions_markdown(status, ev))

    def _run_info(self, ev: Mapping[str, Any]) -> RunInfo:
        from adaft_core.exports.reader import run_config, sweep_of

        run_id = str(ev.get("run_id"))
        run_dir = Path(self.target.runs_dir) / run_id
        started = dict(ev) if ev.get("event") == "run_started" else {"config": run_config(run_dir)}
        sweep = self.target.sweep or sweep_of(self.target.runs_dir, run_id)
        return RunInfo(run_id, run_dir, sweep, params_of(started), tags_of(run_id, sweep, started))

    def decisions_markdown(self, status: str, ended: Mapping[str, Any]) -> str:
        lines = [f"# {self.info.run_id if self.info else 'run'}: {status}", ""]
        lines += [f"- {line}" for line in self.decisions] or ["(no decisions)"]
        if ended.get("error"):
            lines += ["", f"error: {ended['error']}"]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ a tracker's calls
    def open(self, info: RunInfo, resumed: bool) -> None:
        raise NotImplementedError

    def scalars(self, values: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def text(self, tag: str, text: str, step: int) -> None:
        """A line of text at a step (decisions); trackers without text keep them for ``finish``."""

    def mask(self, ev: Mapping[str, Any]) -> None:
        """A mask selection's details, beyond its scalars (TensorBoard: a histogram)."""

    def finish(self, info: RunInfo, status: str, decisions: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Flush and let go (also when the run ends without ``run_ended``)."""

    def where(self) -> str:
        """Where the run went, for people (a folder, a URI, a project)."""
        return "?"
