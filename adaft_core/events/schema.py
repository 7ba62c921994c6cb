"""The event schema: every event kind of the run log, its fields, their types and meaning.

The single declaration of the event contract (the engine, the strategies, the run-log reader,
the dashboard, ``adaft runs show`` and outside tools read these events). Rules: a field is added
with the version it appears in (``since``) and is never renamed or dropped; readers ignore fields
they do not know, so events may carry extra fields (a strategy's own mask details, say).

Every event has the :data:`COMMON` fields ``event``, ``run_id``, ``seq`` (0, 1, 2, … per run,
continued by a resume) and ``time`` (Unix seconds). Types are JSON types: ``int``, ``number``
(int or float), ``str``, ``bool``, ``dict``, ``list``, ``null`` (NaN and infinities are written
as null). A ``required`` field is present in every event of its kind written by that version or
later (possibly null where its types allow null); an optional one may be absent.

Epochs in events are 0-based (``epoch`` 0 is the first epoch; so are ``best_epoch`` and the
epochs named in field values); the views add 1 for people (``adaft_core/events/display.py``,
``epoch_label``): the console, ``adaft runs show`` and the dashboard say "epoch 1" for ``epoch`` 0.
Texts meant to be read as they are (a decision's ``reason``, ``run_ended``'s ``error``) already
count from 1.

:func:`validate_event` lists what is wrong with one event; :func:`check_stream` with a whole
run log. Torch-free: importing this module imports nothing heavy.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = "0.2.0"
_V1, _V2 = "0.1.0", "0.2.0"


@dataclass(frozen=True)
class Field:
    """One field: name, JSON types, meaning, required or not, since which version; ``keys``: the
    fields of a dict value (or of each dict in a list value), checked the same way."""

    name: str
    types: tuple[str, ...]
    meaning: str
    required: bool = True
    since: str = _V1
    keys: tuple["Field", ...] = ()


@dataclass(frozen=True)
class EventKind:
    name: str
    meaning: str
    fields: tuple[Field, ...]
    since: str = _V1


def F(name: str, types: str, meaning: str, *, required: bool = True, since: str = _V1, keys=()) -> Field:
    """Shorthand: ``types`` as ``"int|null"``."""
    return Field(name, tuple(types.split("|")), meaning, required, since, tuple(keys))


COMMON = (
    F("event", "str", "the event kind (a key of EVENTS)"),
    F("run_id", "str", "the run (its folder name under the output directory)"),
    F("seq", "int", "0, 1, 2, … within the run; a resumed run continues the numbering"),
    F("time", "number", "Unix time the event was emitted, in seconds"),
)

LR_PLAN = (
    F("kind", "str", "the LR phase: warmup / constant / cooldown / decay (any name a mode uses), or stop"),
    F("from_step", "int", "the 1-based optimizer step the phase starts at"),
    F("steps_left", "int|null", "its length in steps if no later decision changes it; null: open-ended"),
    F("lr_next", "number|null", "the LR of its first step (null when stopping)"),
    F("lr_end", "number|null", "the LR of its last step (the LR goes linearly from lr_next to lr_end)"),
    F("then", "str|null", "the phase that follows it (stop: training ends), after steps_left steps or when "
      "a decision ends it; null when stopping"),
)
WAIT_PLAN = (
    F("cooldown_at", "int|null", "wait (non-improving epochs) at which a cooldown starts; null: none"),
    F("stop_at", "int", "wait at which training stops"),
)
MASK_MODULE = (
    F("name", "str", "parameter name"),
    F("layer", "int|null", "transformer block index; null for embeddings, pooler, head"),
    F("kind", "str", "matrix kind: q, k, v, qkv, o, ffn_in, ffn_out, pooler, head, …"),
    F("kept", "number", "fraction of the parameter's entries kept"),
    F("overlap_prev", "number|null", "Jaccard overlap with this parameter's previous mask; null the first time"),
    F("per_head", "list", "kept fraction per attention head (attention matrices)", required=False),
)

EVENTS: dict[str, EventKind] = {k.name: k for k in (
    EventKind("run_started", "the run began: its settings, data sizes and environment", (
        F("config", "dict", "the full TrainConfig as a dict"),
        F("task", "str", "ner / classification / regression …"),
        F("mode", "str", "the training mode (original / stable / adaptive / …)"),
        F("strategy", "str", "the update strategy (vanilla / dps-dense / …)"),
        F("model", "str", "the model name or path given"),
        F("model_path", "str|null", "the resolved model folder", required=False),
        F("seed", "int", "random seed"),
        F("train_size", "int", "training examples used"),
        F("val_size", "int", "validation examples"),
        F("test_size", "int|null", "test examples (null: no test split)", required=False),
        F("steps_per_epoch", "int", "optimizer steps per epoch (S)"),
        F("max_epochs", "int", "the most epochs the run can take"),
        F("labels", "list", "label names in model order (empty for regression)"),
        F("device", "str", "torch device of rank 0"),
        F("num_processes", "int", "data-parallel processes", required=False),
        F("mixed_precision", "str|null", "accelerate's mixed precision (no / fp16 / bf16)", required=False),
        F("metric", "str", "the headline metric (f1, accuracy, …)", required=False),
        F("data", "str|null", "the data set's short name", required=False),
        F("chunks", "dict|null", "NER: sequence chunks per split", required=False),
        F("versions", "dict", "library versions (adaft, python, torch, transformers, accelerate)"),
        F("truncated", "dict|null", "examples cut at max_seq_length, per split", required=False),
        F("dropped", "dict|null", "examples dropped while reading, per split", required=False),
        F("sample", "dict|null", "how the training subset was drawn", required=False),
        F("eval_data", "dict|null", "extra evaluation sets, by name", required=False),
        F("glue_task", "str|null", "the GLUE task, when the data is one", required=False),
        F("host", "str", "host name of the process that trains", since=_V2),
        F("pid", "int", "its process id", since=_V2),
        F("empty_tokens", "int|null", "NER: tokens read as the unknown token (null: other tasks)",
          required=False, since=_V2),
        F("lr_plan", "dict", "the LR phase training starts in (as a decision's lr_plan)", required=False,
          since=_V2, keys=LR_PLAN),
        F("packed", "bool", "batches packed into one row (padding-free) rather than padded; absent in "
          "logs from before sentence-level tasks were packed", required=False, since=_V2),
    )),
    EventKind("resumed", "a stopped run continues from its last checkpoint", (
        F("step", "int", "the last completed optimizer step", since=_V2),
        F("epoch", "int", "the 0-based epoch training continues in", since=_V2),
        F("checkpoint", "str|null", "the checkpoint folder resumed from (null: none yet, restarted from step 0)",
          since=_V2),
        F("host", "str", "host name of the process that continues", since=_V2),
        F("pid", "int", "its process id", since=_V2),
        F("steps_per_epoch", "int", "optimizer steps per epoch (as in run_started)", since=_V2),
        F("max_epochs", "int", "the epoch cap (as in run_started)", since=_V2),
        F("metric", "str", "the task's headline metric (as in run_started)", since=_V2),
    ), since=_V2),
    EventKind("step", "after every optimizer step", (
        F("step", "int", "the 1-based optimizer step"),
        F("epoch", "int", "the 0-based epoch"),
        F("loss", "number|null", "training loss of the step (mean over its micro-batches and ranks)"),
        F("lr", "number", "the learning rate this step used"),
        F("grad_norm", "number|null", "global gradient norm before clipping"),
        F("stage", "str|null", "DPS stage I / II of this step; null for other strategies"),
    )),
    EventKind("eval", "an evaluation pass (every epoch on validation; test and extra sets at the end)", (
        F("epoch", "int", "the epoch evaluated after"),
        F("step", "int", "the optimizer steps taken so far"),
        F("split", "str", "validation / test / eval:NAME"),
        F("loss", "number|null", "mean loss (null where the labels are not the model's)"),
        F("metric", "str", "the headline metric's name"),
        F("score", "number|null", "the headline metric's value"),
        F("metrics", "dict", "every metric computed (per type / class, precision, …)"),
    )),
    EventKind("decision", "after each validation: what the mode decided, why, and its plan", (
        F("epoch", "int", "the epoch decided after"),
        F("monitor", "str", "the monitored value (val_loss)"),
        F("value", "number|null", "its value after this epoch"),
        F("best", "number|null", "the best value so far"),
        F("improved", "bool", "whether this epoch improved on the best"),
        F("wait", "int", "consecutive non-improving epochs"),
        F("phase", "str", "the LR phase this epoch ran in"),
        F("action", "str", "continue / cooldown / restart / stop"),
        F("reason", "str", "the decision in words"),
        F("epochs_left", "int|null", "known bound on the epochs left (fixed modes, cooldowns)"),
        F("early_stop", "bool", "the stop came from the monitor, not a fixed length"),
        F("next_phase", "str", "the LR phase from the next optimizer step on, or stopped", since=_V2),
        F("lr_plan", "dict", "that phase, for views that draw or describe it", since=_V2, keys=LR_PLAN),
        F("wait_plan", "dict|null", "when waiting starts a cooldown / stops; null: the monitor never stops "
          "the run", since=_V2, keys=WAIT_PLAN),
    )),
    EventKind("mask", "a strategy selected a subnetwork mask", (
        F("step", "int", "the first optimizer step the mask applies to (0: chosen before training)"),
        F("stage", "str|null", "DPS stage, else null"),
        F("strategy", "str", "the strategy's name"),
        F("keep_fraction", "number", "the fraction the strategy keeps"),
        F("modules", "list", "one entry per covered parameter, in model order", keys=MASK_MODULE),
        F("selection", "int", "1, 2, … the selection's number", required=False),
        F("kept_total", "number", "kept fraction over every covered entry", required=False),
        F("file", "str|null", "the saved mask file, relative to the run folder", required=False),
        F("skipped_steps", "int", "DPS: statistics steps dropped as non-finite", required=False),
        F("stage_steps", "int", "DPS: steps per stage", required=False),
        F("threshold", "number", "ChildTuning-D: the Fisher score threshold", required=False),
        F("fisher_batches", "int", "ChildTuning-D: batches of the Fisher pass", required=False),
        F("fisher_skipped", "int", "ChildTuning-D: Fisher batches dropped as non-finite", required=False),
    )),
    EventKind("telemetry", "strategy telemetry: drift after a validation, leakage after a DPS Stage II", (
        F("trigger", "str", "validation / stage_end"),
        F("step", "int", "the last optimizer step taken"),
        F("stage", "str|null", "stage of that step"),
        F("strategy", "str", "the strategy's name"),
        F("epoch", "int", "the epoch validated (trigger validation)", required=False),
        F("drift", "dict", "‖W − W⁰‖/‖W⁰‖ by block / pooler / head (trigger validation)", required=False),
        F("drift_matrices", "dict", "the same per weight matrix (trigger validation)", required=False),
        F("leakage", "dict|null", "update of unselected entries relative to selected ones, or null"),
    )),
    EventKind("checkpoint", "a checkpoint was saved", (
        F("epoch", "int", "the epoch saved after"),
        F("step", "int", "the optimizer steps taken"),
        F("path", "str", "the checkpoint folder"),
        F("is_best", "bool", "this epoch improved the monitor"),
    )),
    EventKind("run_ended", "the run ended, on every path (also failure or stop)", (
        F("status", "str", "completed / early_stopped / stopped / failed"),
        F("epochs", "int", "epochs validated"),
        F("steps", "int", "optimizer steps taken"),
        F("best_epoch", "int|null", "the epoch with the best monitor value"),
        F("final_model", "str|null", "last / best (null when no final model)"),
        F("val", "dict|null", "validation metrics of the final model"),
        F("test", "dict|null", "test metrics"),
        F("eval_data", "dict|null", "extra evaluation sets' metrics, by name", required=False),
        F("wall_time", "number", "seconds from start to end"),
        F("error", "str|null", "what went wrong or why it stopped"),
        F("sink_failures", "dict", "event sinks that failed, with their failure counts", required=False),
    )),
)}

EVENT_NAMES = tuple(EVENTS)


def _version(v: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(v).split(".")[:3])
    except ValueError:
        return (0,)


def _type_ok(value: Any, types: tuple[str, ...]) -> bool:
    for t in types:
        if ((t == "null" and value is None) or (t == "str" and isinstance(value, str))
                or (t == "bool" and isinstance(value, bool))
                or (t == "int" and isinstance(value, numbers.Integral) and not isinstance(value, bool))
                or (t == "number" and isinstance(value, numbers.Real) and not isinstance(value, bool))
                or (t == "dict" and isinstance(value, Mapping))
                or (t == "list" and isinstance(value, (list, tuple)))):
            return True
    return False


def _check(where: str, data: Mapping, fields: Iterable[Field], version: tuple[int, ...]) -> list[str]:
    problems = []
    for f in fields:
        if f.name not in data:
            if f.required and _version(f.since) <= version:
                problems.append(f"{where}: required field {f.name!r} is missing")
            continue
        value = data[f.name]
        if not _type_ok(value, f.types):
            problems.append(f"{where}: field {f.name!r} is {type(value).__name__} {value!r:.60}, "
                            f"expected {' or '.join(f.types)}")
            continue
        if f.keys and value is not None:
            items = value if isinstance(value, (list, tuple)) else [value]
            for i, item in enumerate(items):
                sub = f"{where}.{f.name}" + (f"[{i}]" if item is not value else "")
                if not isinstance(item, Mapping):
                    problems.append(f"{sub}: expected an object, got {type(item).__name__}")
                else:
                    problems.extend(_check(sub, item, f.keys, version))
    return problems


def validate_event(event: Mapping[str, Any], version: str | None = SCHEMA_VERSION) -> list[str]:
    """What is wrong with one event (empty: valid). ``version``: the adaft version that wrote it
    (fields added later are not required of it); an unknown kind is a problem."""
    v = _version(version)
    kind = event.get("event")
    where = f"{kind or '?'} (seq {event.get('seq', '?')})"
    problems = _check(where, event, COMMON, v)
    spec = EVENTS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return problems + [f"{where}: unknown event kind {kind!r} (known: {', '.join(EVENT_NAMES)})"]
    return problems + _check(where, event, spec.fields, v)


def log_version(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The adaft version that wrote a run log (its ``run_started``'s ``versions.adaft``)."""
    for ev in events:
        if ev.get("event") == "run_started":
            return (ev.get("versions") or {}).get("adaft")
    return None


def check_stream(events: Iterable[Mapping[str, Any]], *, complete: bool = True) -> list[str]:
    """What is wrong with one run's event stream: every event valid (for the version in its
    ``run_started``), one ``run_id``, ``seq`` 0, 1, 2, …, ``run_started`` first, only ``resumed``
    after a ``run_ended`` (a killed run's log has none before its ``resumed``), and (``complete``)
    ``run_ended`` last."""
    events = list(events)
    if not events:
        return ["no events"]
    version = log_version(events) or SCHEMA_VERSION
    problems = [p for ev in events for p in validate_event(ev, version)]
    if events[0].get("event") != "run_started":
        problems.append(f"the first event is {events[0].get('event')!r}, not 'run_started'")
    if complete and events[-1].get("event") != "run_ended":
        problems.append(f"the last event is {events[-1].get('event')!r}, not 'run_ended'")
    if len({ev.get("run_id") for ev in events}) > 1:
        problems.append(f"several run_ids in one stream: {sorted({str(ev.get('run_id')) for ev in events})}")
    seqs = [ev.get("seq") for ev in events]
    if seqs != list(range(len(events))):
        bad = next(i for i, s in enumerate(seqs) if s != i)
        problems.append(f"seq is not 0, 1, 2, …: event {bad} has seq {seqs[bad]!r}")
    for prev, ev in zip(events, events[1:]):
        if prev.get("event") == "run_ended" and ev.get("event") != "resumed":
            problems.append(f"{ev.get('event')!r} (seq {ev.get('seq')}) follows run_ended; only 'resumed' may")
    return problems


def describe() -> str:
    """The schema as Markdown (one table per event kind), for the README or ``--help`` text."""
    lines = [f"Event schema {SCHEMA_VERSION}. Every event: " + ", ".join(f"`{f.name}`" for f in COMMON) + "."]
    for kind in EVENTS.values():
        lines += ["", f"### `{kind.name}` — {kind.meaning}" + (f" (since {kind.since})" if kind.since != _V1 else ""),
                  "", "| field | type | required | since | meaning |", "|---|---|---|---|---|"]
        for f in kind.fields:
            lines.append(f"| `{f.name}` | {' or '.join(f.types)} | {'yes' if f.required else 'no'} | {f.since} | "
                         f"{f.meaning} |")
            for k in f.keys:
                lines.append(f"| `{f.name}.{k.name}` | {' or '.join(k.types)} | {'yes' if k.required else 'no'} | "
                             f"{f.since} | {k.meaning} |")
    return "\n".join(lines)
