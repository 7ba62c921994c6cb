"""The checkpoint's training state: a typed record saved field by field, the mode state saved by the mode
itself through the registry, and checkpoints written before either still read (no training here)."""

import json
from dataclasses import dataclass, replace

import pytest
import torch

from adaft_core.errors import ConfigError
from adaft_core.modes import MODES, AdaptiveSchedule, Mode, ModeSettings, MonitorState, decide, lr_at
from adaft_core.run.state import STATE_JSON, TrainState, monitor_from_dict, monitor_to_dict, read_state, write_state

# the training state's keys as train_state.json has held them since 0.2.0, in this order
KEYS = ["format", "step", "epoch", "batches_done", "finished", "elapsed", "steps_per_epoch", "monitor", "evals",
        "best_state", "optimizer", "strategy", "rng"]
OLD_MONITOR = {"best": 0.5, "best_epoch": 2, "wait": 1, "trigger_epoch": 3,
               "schedule": {"cooldown_start": 12, "warmup_abandoned": True}}


def test_the_adaptive_monitor_state_saves_as_it_always_did():
    monitor = MonitorState(best=0.5, best_epoch=2, wait=1, trigger_epoch=3,
                           schedule=AdaptiveSchedule(cooldown_start=12, warmup_abandoned=True))
    assert monitor_to_dict(monitor, "adaptive") == OLD_MONITOR
    assert monitor_from_dict(OLD_MONITOR, "adaptive") == monitor
    # before the first decision the mode has not made its state yet: it is saved as a new one
    assert monitor_to_dict(MonitorState(), "adaptive")["schedule"] == {"cooldown_start": None,
                                                                      "warmup_abandoned": False}


def test_a_fixed_mode_keeps_no_state_and_reads_its_old_checkpoints():
    assert monitor_to_dict(MonitorState(best=0.5), "stable")["schedule"] is None
    assert monitor_from_dict(OLD_MONITOR, "original") == replace(monitor_from_dict(OLD_MONITOR, "adaptive"),
                                                                 schedule=None)


@dataclass(frozen=True)
class Cycles:
    done: int = 0


def test_a_new_mode_brings_its_own_state_through_the_registry(monkeypatch):
    """A mode whose LR halves after every validation: its state is its own, saved and restored by its entry."""

    def rule(new, make, epoch, settings, steps_per_epoch, improved):
        state = replace(new, schedule=Cycles(new.schedule.done + 1))
        return make("continue", "halve the LR", None, state=state)

    def plan(start, schedule, settings, steps_per_epoch, lr_of):
        return "constant", start, start + steps_per_epoch, None

    def lr(step, cycles, settings, steps_per_epoch, lr_max):
        return lr_max / 2 ** cycles.done

    monkeypatch.setitem(MODES, "halving", Mode(
        "halving", default_epochs=3, fixed_length=False, lr=lr, rule=rule, plan=plan,
        new_state=Cycles, save_state=lambda cycles: {"done": cycles.done}, load_state=lambda saved: Cycles(**saved)))
    settings = ModeSettings(mode="halving", max_epochs=3)
    state = MonitorState()
    assert lr_at(0, state, settings, 2, 1.0) == 1.0
    for epoch in range(2):
        state, _ = decide(state, epoch=epoch, value=1.0, settings=settings, steps_per_epoch=2, lr_max=1.0)
    assert state.schedule == Cycles(2) and lr_at(4, state, settings, 2, 1.0) == 0.25
    saved = json.loads(json.dumps(monitor_to_dict(state, "halving")))
    assert saved["schedule"] == {"done": 2} and monitor_from_dict(saved, "halving") == state


def _state() -> TrainState:
    return TrainState(step=5, epoch=1, batches_done=2, finished=None, elapsed=3.5, steps_per_epoch=4,
                      monitor=MonitorState(best=0.5, best_epoch=0, schedule=AdaptiveSchedule()),
                      evals={0: {"loss": 0.5}}, best_state={"w": torch.ones(2)},
                      optimizer={"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-5}]},
                      strategy={"masks": (torch.tensor([True, False]),)}, rng={"torch": torch.arange(4)})


def test_the_training_state_is_written_and_read_field_by_field(tmp_path):
    state = _state()
    write_state(tmp_path, state.to_tree("adaptive"))
    assert list(json.loads((tmp_path / STATE_JSON).read_text())) == KEYS
    back = TrainState.read(tmp_path, "adaptive", steps_per_epoch=4)
    assert (back.step, back.epoch, back.batches_done, back.finished, back.elapsed, back.steps_per_epoch) == \
        (5, 1, 2, None, 3.5, 4)
    assert back.monitor == state.monitor and back.evals == {0: {"loss": 0.5}}
    assert torch.equal(back.best_state["w"], torch.ones(2))
    assert torch.equal(back.optimizer["state"][0]["exp_avg"], torch.zeros(3))
    assert back.optimizer["param_groups"] == [{"lr": 1e-5}]
    assert torch.equal(back.strategy["masks"][0], torch.tensor([True, False]))
    assert torch.equal(back.rng["torch"], torch.arange(4))


def test_a_training_state_that_lacks_a_field_does_not_fit(tmp_path):
    tree = _state().to_tree("adaptive")
    del tree["strategy"]
    write_state(tmp_path, tree)
    assert read_state(tmp_path)["step"] == 5  # whole as files: a resume gets that far
    with pytest.raises(ConfigError, match="does not fit this run.*strategy"):
        TrainState.read(tmp_path, "adaptive")
