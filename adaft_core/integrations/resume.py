"""Resuming a ``transformers.Trainer`` run that uses :class:`~.kit.AdaptiveKit`, from Trainer's own
checkpoint (``trainer.train(resume_from_checkpoint=…)``).

Saving rides on Trainer's callback-state mechanism: :class:`KitStateCallback` is an
``ExportableState``, so every ``checkpoint-N/trainer_state.json`` holds, under
``stateful_callbacks["AdaptiveKitState"]``, what the kit needs to go on — the mode settings, the
monitor state with its schedule, the decisions so far, the epoch being trained, the steps per
epoch, and the run log's folder, start time and validation metrics. Tensors (DPS statistics and
masks, ChildTuning masks, Mixout state) do not fit that JSON: ``on_save`` writes the strategy's
``state_dict`` beside it, in ``checkpoint-N/adaft/`` (``strategy.json`` + ``strategy.safetensors``,
through the engine's pickle-free ``adaft_core.run.state.flatten`` / ``unflatten``).

Restoring: Trainer puts callback state back only with ``restore_callback_states_from_checkpoint``
(off by default), and then by re-creating the callback from that JSON. The kit therefore reads the
same JSON itself before ``train`` runs (:func:`restore`), so a resume works with Trainer's defaults;
with the option on, the re-created callback is bound to the same kit (its class is made per kit,
:func:`state_callback`). The schedule state is put back at once; the strategy state and the run
log's folder wait in :class:`ResumePoint` for ``on_train_begin`` (the strategy is set up there, and
the log is reopened there with a ``resumed`` event). Trainer restores the weights, the optimizer,
the scheduler's step and the random generators as usual.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from adaft_core.errors import ConfigError
from adaft_core.modes import Decision
from adaft_core.run.state import flatten, monitor_from_dict, monitor_to_dict, unflatten

STATE_NAME = "AdaptiveKitState"  # the key in trainer_state.json's stateful_callbacks
STRATEGY_FOLDER = "adaft"  # checkpoint-N/adaft/: the strategy's tensors
TRAINER_STATE = "trainer_state.json"
STRATEGY_JSON, STRATEGY_TENSORS = "strategy.json", "strategy.safetensors"


@dataclass
class ResumePoint:
    """What ``on_train_begin`` needs to continue: the checkpoint, the run log and the strategy state."""

    checkpoint: str
    run_dir: str | None
    started: float | None
    evals: dict[int, dict]
    strategy: dict | None


class KitStateCallback(TrainerCallback, ExportableState):
    """The kit's state in Trainer's checkpoints (use :func:`state_callback`, which binds ``kit``)."""

    kit = None  # set on the per-kit subclass

    def state(self) -> dict:
        return {"args": {}, "attributes": {"adaft": kit_state(self.kit)}}

    def on_save(self, args, state, control, **kwargs):
        if not args.should_save:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}" / STRATEGY_FOLDER
        write_strategy_state(folder, self.kit.strategy.state_dict())


def write_strategy_state(folder: Path, state: dict) -> None:
    """The strategy's ``state_dict`` as JSON skeleton + safetensors (no pickle) in ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    skeleton, tensors = flatten(state)
    save_file(tensors, str(folder / STRATEGY_TENSORS))
    (folder / STRATEGY_JSON).write_text(json.dumps(skeleton), encoding="utf-8")


def read_strategy_state(folder: Path) -> dict:
    """What :func:`write_strategy_state` wrote; a ConfigError when it is missing or unreadable."""
    from safetensors.torch import load_file

    try:
        skeleton = json.loads((folder / STRATEGY_JSON).read_text(encoding="utf-8"))
        return unflatten(skeleton, load_file(str(folder / STRATEGY_TENSORS)))
    except Exception as exc:  # noqa: BLE001 - OSError, JSON, safetensors' own errors: one message
        raise ConfigError(f"the strategy state in {folder} is unreadable ({exc}); the checkpoint cannot be "
                          "resumed exactly") from exc


def state_callback(kit) -> KitStateCallback:
    """A :class:`KitStateCallback` whose class carries ``kit``, so that the instance Trainer re-creates
    from a checkpoint (``restore_callback_states_from_checkpoint=True``) still belongs to it."""
    cls = type(STATE_NAME, (KitStateCallback,), {"kit": kit, "__doc__": KitStateCallback.__doc__})
    return cls()


def kit_state(kit) -> dict[str, Any]:
    """The JSON part of the kit's state: schedule, decisions and the run log's position."""
    sched, log = kit.schedule, kit.log
    return {"settings": asdict(sched.settings), "lr_max": sched.lr_max, "steps_per_epoch": sched.steps_per_epoch,
            "epoch": sched.epoch, "monitor": monitor_to_dict(sched.monitor, sched.settings.mode),
            "decisions": [asdict(d) for d in sched.decisions],
            "run_dir": str(kit.run_dir) if kit.run_dir is not None else None,
            "started": getattr(log, "t0", None),
            "evals": [[epoch, metrics] for epoch, metrics in sorted(log.evals.items())] if log else [],
            "strategy": kit.strategy.name}


def resolve_checkpoint(trainer, resume) -> Path:
    """The checkpoint folder ``train(resume_from_checkpoint=resume)`` means (``True``: the newest in
    ``output_dir``), or a ConfigError saying why there is none."""
    from transformers.trainer_utils import get_last_checkpoint

    if resume is True:
        out = trainer.args.output_dir
        found = get_last_checkpoint(out) if Path(out).is_dir() else None
        if found is None:
            raise ConfigError(f"resume_from_checkpoint=True, but {out} holds no checkpoint-N folder; "
                              "pass the checkpoint's path, or start without resume_from_checkpoint")
        return Path(found)
    folder = Path(resume)
    if not (folder / TRAINER_STATE).is_file():
        raise ConfigError(f"{folder} is not a Trainer checkpoint (no {TRAINER_STATE} in it)")
    return folder


def restore(kit, folder: Path) -> ResumePoint:
    """Put the schedule state of checkpoint ``folder`` into ``kit``; what waits for training to begin."""
    try:
        saved = json.loads((folder / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{folder / TRAINER_STATE} is unreadable ({exc})") from exc
    entry = (saved.get("stateful_callbacks") or {}).get(STATE_NAME)
    if isinstance(entry, list):
        entry = entry[-1]
    data = ((entry or {}).get("attributes") or {}).get("adaft")
    if not isinstance(data, dict):
        raise ConfigError(f"checkpoint {folder} was not written by a Trainer with an AdaptiveKit (no adaft state "
                          f"in its {TRAINER_STATE}); resume it without the kit, or start a new run")
    _check_same_run(kit, data, folder)
    sched = kit.schedule
    sched.steps_per_epoch = data["steps_per_epoch"]
    sched.epoch = int(data["epoch"])
    sched.monitor = monitor_from_dict(data["monitor"], sched.settings.mode)  # the same mode: checked above
    sched.decisions = [Decision(**d) for d in data["decisions"]]
    strategy = None
    if (folder / STRATEGY_FOLDER).is_dir():
        strategy = read_strategy_state(folder / STRATEGY_FOLDER)
    elif kit.strategy.name != "vanilla":
        raise ConfigError(f"checkpoint {folder} lacks the {kit.strategy.name} strategy's state ({STRATEGY_FOLDER}/); "
                          "it cannot be resumed exactly")
    return ResumePoint(checkpoint=str(folder), run_dir=data.get("run_dir"), started=data.get("started"),
                       evals={int(e): m for e, m in data.get("evals", [])}, strategy=strategy)


def _check_same_run(kit, data: dict, folder: Path) -> None:
    """The kit's mode, LR and strategy must be the checkpoint's: a different one cannot continue its plan."""
    now = {**asdict(kit.schedule.settings), "lr": kit.schedule.lr_max, "strategy": kit.strategy.name}
    then = {**data["settings"], "lr": data["lr_max"], "strategy": data["strategy"]}
    changed = [f"{k} {then.get(k)!r} → {v!r}" for k, v in now.items() if then.get(k) != v]
    if changed:
        raise ConfigError(f"checkpoint {folder} was trained with other settings ({', '.join(changed)}); resume "
                          "it with the kit and TrainingArguments it was started with")
