"""What a full checkpoint holds beyond the model weights, written without pickle.

A checkpoint folder (``<run>/checkpoint/``) is a ``save_pretrained`` model folder (loadable by
``transformers.pipeline``) plus two files written with it in the same atomic folder swap:

- ``train_state.json`` — the structure and every plain value: position (optimizer ``step``, the
  ``epoch`` training continues in, the micro-batches of that epoch already consumed), the mode
  state (``MonitorState``, whose mode-own part each mode saves itself through the mode registry),
  the validation metrics so far, the optimizer's hyper-parameters, the strategy's counters, the
  Python/NumPy RNG states;
- ``train_state.safetensors`` — every tensor of that structure (AdamW ``exp_avg``/``exp_avg_sq``/
  ``step``, the best model for ``final_model="best"``, strategy statistics and masks, the torch
  CPU/CUDA generator states and the training loader's generator state at the epoch start).

:class:`TrainState` is that state as a typed record (the habit of transformers' ``TrainerState``):
the run builds one to checkpoint and reads one back to resume, each field saved under its own name.

:func:`flatten` turns nested dicts/lists/tuples of tensors and JSON scalars into a JSON skeleton
in which every tensor is ``{"__tensor__": key}``; :func:`unflatten` reverses it. Reading uses
``json`` and ``safetensors`` only, so a checkpoint from an untrusted source cannot run code.
(``accelerate.save_state`` is not used: it stores RNG states and samplers with ``torch.save``,
i.e. pickle.)

Before a resume loads anything, :func:`whole_checkpoint` reads the run's checkpoint whole (the
training state, its position fields, the weights files' headers) and falls back to the
``checkpoint.old/`` an interrupted folder swap leaves; a damaged checkpoint with nothing whole to
fall back to is one :class:`~adaft_core.errors.ConfigError` naming the file and how to start over.
"""

from __future__ import annotations

import json
import random
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adaft_core.errors import ConfigError
from adaft_core.modes import MonitorState, get_mode

STATE_JSON = "train_state.json"
STATE_TENSORS = "train_state.safetensors"
CHECKPOINT = "checkpoint"  # <run>/checkpoint/, and checkpoint.old/ during its atomic swap
POSITION = ("step", "epoch", "batches_done", "steps_per_epoch")  # whole numbers >= 0 in every state
FORMAT = 1
_MARKERS = ("__tensor__", "__tuple__", "__items__")


# ---------------------------------------------------------------------- nested state <-> files
def flatten(tree: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """(JSON skeleton, {key: CPU tensor}) for nested dicts/lists/tuples of tensors and scalars."""
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            key = f"{len(tensors)}:{path}"
            t = value.detach().to("cpu").contiguous()
            if t.untyped_storage().data_ptr() in seen:  # safetensors refuses shared storage
                t = t.clone()
            seen.add(t.untyped_storage().data_ptr())
            tensors[key] = t
            return {"__tensor__": key}
        if isinstance(value, dict):
            if all(isinstance(k, str) and k not in _MARKERS for k in value):
                return {k: walk(v, f"{path}/{k}") for k, v in value.items()}
            return {"__items__": [[k, walk(v, f"{path}/{k}")] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"checkpoint state at {path or '/'} holds {type(value).__name__!r}; only "
                        "tensors, dicts, lists, tuples and JSON scalars can be saved")

    return walk(tree, ""), tensors


def unflatten(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The nested structure :func:`flatten` was given (tensors on the CPU)."""
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    if isinstance(skeleton, dict):
        if set(skeleton) == {"__tensor__"}:
            return tensors[skeleton["__tensor__"]]
        if set(skeleton) == {"__tuple__"}:
            return tuple(unflatten(v, tensors) for v in skeleton["__tuple__"])
        if set(skeleton) == {"__items__"}:
            return {_key(k): unflatten(v, tensors) for k, v in skeleton["__items__"]}
        return {k: unflatten(v, tensors) for k, v in skeleton.items()}
    return skeleton


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def write_state(folder: Path, tree: dict) -> None:
    """Write ``tree`` as ``train_state.json`` + ``train_state.safetensors`` into ``folder``."""
    from safetensors.torch import save_file

    skeleton, tensors = flatten({"format": FORMAT, **tree})
    save_file(tensors, str(folder / STATE_TENSORS))
    (folder / STATE_JSON).write_text(json.dumps(skeleton), encoding="utf-8")


def read_state(folder: Path, steps_per_epoch: int | None = None) -> dict:
    """The tree :func:`write_state` wrote; a ConfigError when it is missing, unreadable or (given
    ``steps_per_epoch``) from a run whose data or batch settings differ."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not (folder / STATE_JSON).exists() or not (folder / STATE_TENSORS).exists():
        raise ConfigError(f"{folder} holds no training state ({STATE_JSON}); it was written by adaft "
                          "before 0.2.0 or by hand and cannot be resumed exactly")
    try:
        skeleton = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{folder / STATE_JSON} is unreadable ({exc})") from exc
    try:
        tree = unflatten(skeleton, load_file(str(folder / STATE_TENSORS)))
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise ConfigError(f"{folder / STATE_TENSORS} is unreadable ({exc})") from exc
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise ConfigError(f"the training state in {folder} has an unknown format "
                          f"{tree.get('format') if isinstance(tree, dict) else tree!r}")
    for key in POSITION:
        value = tree.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{folder / STATE_JSON}: {key} is {value!r}, not a whole number >= 0 (damaged)")
    if not isinstance(tree.get("elapsed"), (int, float)) or isinstance(tree.get("elapsed"), bool):
        raise ConfigError(f"{folder / STATE_JSON}: elapsed is {tree.get('elapsed')!r}, not a number (damaged)")
    if steps_per_epoch is not None and tree["steps_per_epoch"] != steps_per_epoch:
        raise ConfigError(f"the checkpoint {folder} has {tree['steps_per_epoch']} steps per epoch, the run "
                          f"now {steps_per_epoch}: its data or batch settings changed; it cannot be resumed")
    return tree


# ---------------------------------------------------------------------- random number generators
def capture_rng(loader_state: torch.Tensor) -> dict:
    """Every generator training draws from; ``loader_state``: the train loader's at the epoch start."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(), "loader": loader_state,
             "python": [version, list(internal), gauss_next],
             "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, loader_generator: torch.Generator | None = None) -> None:
    """Put the generators back (the loader's only when ``loader_generator`` is given).

    The engine restores the loader generator first (it fixes the epoch's permutation) and the
    others where training continues: a mid-epoch checkpoint's after its consumed batches are
    skipped, because creating a loader's iterator may draw from the global generator (a
    ``DataLoader`` without a generator of its own draws its base seed there).
    """
    if loader_generator is not None:
        loader_generator.set_state(state["loader"])
        return
    torch.set_rng_state(state["torch"])
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------- the training state record
def monitor_to_dict(monitor: MonitorState, mode: str) -> dict:
    """The monitor state as a JSON dict; its ``schedule`` (the mode's own state) saved by mode ``mode``."""
    entry = get_mode(mode)
    saved = {f.name: getattr(monitor, f.name) for f in fields(monitor)}
    saved["schedule"] = entry.save_state(entry.state_of(monitor))
    return saved


def monitor_from_dict(saved: dict, mode: str) -> MonitorState:
    """Inverse of :func:`monitor_to_dict`: the mode ``mode`` restores its own state."""
    return MonitorState(**{**saved, "schedule": get_mode(mode).load_state(saved["schedule"])})


@dataclass
class TrainState:
    """What a checkpoint holds beside the model weights, one typed field each.

    :meth:`to_tree` gives each field under its own name to :func:`write_state`; :meth:`read`
    restores them from :func:`read_state`'s tree the same way. The files' layout is the one adaft
    has written since 0.2.0, so earlier checkpoints still resume (the fixed modes, which keep no
    state of their own, save their ``schedule`` as null and ignore the one older files hold).
    """

    step: int  # optimizer steps taken
    epoch: int  # the 0-based epoch training continues in
    batches_done: int  # micro-batches of that epoch already trained on (0: it starts afresh)
    finished: str | None  # the run's status when only its end is left (the checkpoint after the last decision)
    elapsed: float  # seconds of training so far
    steps_per_epoch: int
    monitor: MonitorState  # the decisions' state, with the mode's own
    evals: dict[int, dict]  # the validation metrics of each epoch so far
    best_state: dict[str, torch.Tensor] | None  # the best epoch's weights (final_model="best"), else None
    optimizer: dict  # the optimizer's state_dict
    strategy: dict  # the update strategy's state_dict
    rng: dict  # every random generator training draws from (:func:`capture_rng`)

    def to_tree(self, mode: str) -> dict:
        """The nested dict :func:`write_state` writes: every field under its name, the monitor as JSON
        (its mode state saved by mode ``mode``)."""
        tree = {f.name: getattr(self, f.name) for f in fields(self)}
        tree["monitor"] = monitor_to_dict(self.monitor, mode)
        return tree

    @classmethod
    def from_tree(cls, tree: dict, mode: str) -> "TrainState":
        """Inverse of :meth:`to_tree`."""
        values = {f.name: tree[f.name] for f in fields(cls)}
        values["monitor"] = monitor_from_dict(tree["monitor"], mode)
        return cls(**values)

    @classmethod
    def read(cls, folder: Path, mode: str, steps_per_epoch: int | None = None) -> "TrainState":
        """The training state in checkpoint ``folder`` of a run in mode ``mode``; a ConfigError when it
        is unreadable (see :func:`read_state`) or does not fit."""
        tree = read_state(folder, steps_per_epoch)
        try:
            return cls.from_tree(tree, mode)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"the training state in {folder} does not fit this run ({type(exc).__name__}: "
                              f"{exc}); it cannot be resumed") from exc


# ---------------------------------------------------------------------- model weights
def load_weights(model: torch.nn.Module, folder: Path) -> None:
    """Load a ``save_pretrained`` folder's safetensors weights into ``model`` (no pickle).

    Keys ``save_pretrained`` leaves out are allowed only where they share storage with a saved
    one (tied weights).
    """
    from safetensors.torch import load_file

    weights: dict[str, torch.Tensor] = {}
    for path in weight_files(folder):
        weights.update(load_file(str(path)))
    live = model.state_dict()
    missing, unexpected = model.load_state_dict(weights, strict=False)
    loaded_ptrs = {live[k].data_ptr() for k in weights if k in live}
    untied = [k for k in missing if live[k].data_ptr() not in loaded_ptrs]
    if untied or unexpected:
        raise ConfigError(f"checkpoint {folder} does not match the model: missing {untied[:3]}, "
                          f"unexpected {list(unexpected)[:3]}")


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of a ``save_pretrained`` folder, each checked whole (its header and
    that the file covers every tensor; the data is not read): a ConfigError names a bad one."""
    from safetensors import SafetensorError, safe_open

    index = folder / "model.safetensors.index.json"
    try:
        names = (sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
                 if index.exists() else ["model.safetensors"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{index} is unreadable ({exc})") from exc
    for name in names:
        if not (folder / name).is_file():
            raise ConfigError(f"checkpoint {folder} lacks {name}; it cannot be resumed")
        try:
            with safe_open(str(folder / name), "pt"):
                pass
        except (OSError, SafetensorError) as exc:
            raise ConfigError(f"{folder / name} is unreadable ({exc})") from exc
    return [folder / name for name in names]


def whole_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint folder a resume restores: ``checkpoint/`` if it is whole, else a whole
    ``checkpoint.old/`` (an interrupted swap's, or the one before a damaged ``checkpoint/``: said
    in one warning line); None when there is neither (the run starts again from step 0). Both
    damaged (or a file in their place): one ConfigError naming the file and how to start over."""
    problems = []
    for folder in (run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.old"):
        if not folder.exists() and not folder.is_symlink():
            continue
        try:
            if not folder.is_dir():
                raise ConfigError(f"{folder} is a file, not a checkpoint folder")
            read_state(folder)
            weight_files(folder)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if problems:
            warnings.warn(f"adaft: {problems[0]}; resuming from the older {folder.name}/ instead", stacklevel=2)
        return folder
    if not problems:
        return None
    raise ConfigError(f"run {run_dir.name!r} cannot be resumed: {'; '.join(problems)}. To train it again from "
                      f"step 0, move {run_dir / CHECKPOINT} (and {CHECKPOINT}.old) out of the run folder and "
                      "resume it again, or start a new run")
