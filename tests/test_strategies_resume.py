"""Exact resume at the strategy level: every strategy's ``state_dict`` goes through safetensors +
JSON (no pickle), a fresh model/strategy/optimizer loads it, and training continues bit-exactly
as the uninterrupted run — weights, ``mask`` and ``telemetry`` events. (The engine-level resume
test is in the engine's tests.)"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from strategy_tools import Recorder, drive, fake_batches, tiny_model

from adaft_core.strategies import make_strategy
from adaft_core.run.state import flatten, unflatten

CASES = [  # (strategy, options, steps before the checkpoint)
    ("vanilla", {"telemetry": True}, 3),
    ("dps-dense", {"stage_steps": 2}, 3),  # mid Stage II: masks and stage-start weights
    ("dps-dense", {"stage_steps": 2}, 5),  # mid Stage I: a half-accumulated statistic
    ("dps-dense", {"stage_steps": 2, "telemetry": False}, 3),
    ("dps-mix", {"stage_steps": 2}, 3),
    ("dps-mix", {"stage_steps": 3}, 2),  # mid Stage I: column counts, Mixout generator
    ("childtuning-d", {}, 3),
    ("childtuning-f", {"keep_fraction": 0.5}, 3),
]
TOTAL = 8


class CountingLoader(list):
    passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


def _start(name, options, model_seed):
    model, rec = tiny_model("bert", seed=model_seed), Recorder()
    loader = CountingLoader(fake_batches(3, seed=9))
    strategy = make_strategy(name, options)
    strategy.setup(model, steps_per_epoch=4, total_steps=TOTAL, emit=rec, train_loader=loader, seed=7)
    return model, strategy, rec, loader


def _second_half(model, strategy, opt, first):
    """Steps first..TOTAL with a validation (telemetry) in between, as the engine would."""
    batches = fake_batches(TOTAL, seed=2)[first - 1:]
    drive(strategy, model, batches, steps=TOTAL - first + 1, first_step=first, lr=1e-2, optimizer=opt)
    strategy.eval_start()
    strategy.eval_end()
    return strategy.on_validation(epoch=1, step=TOTAL)


def _first_half(model, strategy, split):
    opt = drive(strategy, model, fake_batches(TOTAL, seed=2)[:split], steps=split, lr=1e-2)
    strategy.eval_start()  # the engine validates, then checkpoints
    strategy.eval_end()
    telemetry = strategy.on_validation(epoch=0, step=split)
    return opt, telemetry


def _round_trip(tree, folder):
    """Write nested state as safetensors + JSON and read it back (what a checkpoint does)."""
    skeleton, tensors = flatten(tree)
    save_file(tensors, str(folder / "state.safetensors"))
    (folder / "state.json").write_text(json.dumps(skeleton))
    return unflatten(json.loads((folder / "state.json").read_text()), load_file(str(folder / "state.safetensors")))


def _events(rec, after):
    return [(n, {k: v for k, v in f.items() if k != "file"}) for n, f in rec.events[after:]]


@pytest.mark.parametrize("name,options,split", CASES)
def test_resume_continues_bit_exactly(name, options, split, tmp_path):
    # uninterrupted
    model, strategy, rec, _ = _start(name, options, model_seed=0)
    strategy.on_train_start(run_dir=None)
    opt, telemetry = _first_half(model, strategy, split)
    at_checkpoint = len(rec.events)
    final_telemetry = _second_half(model, strategy, opt, split + 1)
    # interrupted at the checkpoint ...
    model_a, strategy_a, rec_a, _ = _start(name, options, model_seed=0)
    strategy_a.on_train_start(run_dir=None)
    opt_a, telemetry_a = _first_half(model_a, strategy_a, split)
    assert telemetry_a == telemetry and _events(rec_a, 0) == _events(rec, 0)[:at_checkpoint]
    saved = _round_trip({"strategy": strategy_a.state_dict(), "optimizer": opt_a.state_dict(),
                         "model": model_a.state_dict()}, tmp_path)
    # ... and resumed in fresh objects (another initialisation: nothing may come from it)
    model_b, strategy_b, rec_b, loader_b = _start(name, options, model_seed=1)
    model_b.load_state_dict(saved["model"])
    strategy_b.load_state_dict(saved["strategy"])
    strategy_b.on_train_start(run_dir=None)
    assert loader_b.passes == 0 and rec_b.events == []  # no Fisher pass, no step-0 mask event again
    opt_b = torch.optim.AdamW(model_b.parameters(), lr=1e-2, weight_decay=0.01)
    opt_b.load_state_dict(saved["optimizer"])
    resumed_telemetry = _second_half(model_b, strategy_b, opt_b, split + 1)
    expected, got = dict(model.named_parameters()), dict(model_b.named_parameters())
    assert set(expected) == set(got)
    assert all(torch.equal(expected[n], got[n]) for n in expected), "resumed weights differ"
    assert _events(rec_b, 0) == _events(rec, at_checkpoint)
    assert resumed_telemetry == final_telemetry
    if name != "vanilla":
        assert any(n == "mask" for n, _ in rec.events)


def test_state_holds_only_tensors_and_json_scalars():
    for name, options, split in CASES:
        model, strategy, _, _ = _start(name, options, model_seed=0)
        strategy.on_train_start(run_dir=None)
        _first_half(model, strategy, split)
        skeleton, tensors = flatten(strategy.state_dict())  # raises on any other object
        json.dumps(skeleton)
        assert skeleton["strategy"] == name
        if name in ("dps-mix", "childtuning-f"):  # generator states are uint8 tensors
            key = "mixout" if name == "dps-mix" else "generators"
            gens = [t for k, t in tensors.items() if f"/{key}/" in k and t.dtype == torch.uint8]
            assert gens


def test_dense_stage_start_weights_only_for_telemetry():
    """DPS-Dense keeps the stage-start copy only for the leakage telemetry (rank 0, telemetry on),
    and no strategy holds a Stage I statistic during a Stage II."""
    for telemetry, kept in ((True, True), (False, False)):
        model, strategy, _, _ = _start("dps-dense", {"stage_steps": 2, "telemetry": telemetry}, model_seed=0)
        strategy.on_train_start(run_dir=None)
        drive(strategy, model, fake_batches(3), steps=3)  # step 3: Stage II
        assert (strategy.stage_start_weights is not None) == kept
        assert strategy.statistic.sums is None and strategy.masks
        drive(strategy, model, fake_batches(3), steps=2, first_step=4)  # step 5: Stage I again
        assert strategy.statistic.sums is not None
        assert strategy.stage_start_weights is None or strategy.stage_start_weights.weights is None


def test_load_rejects_another_strategy_or_stage_length():
    model, dense, _, _ = _start("dps-dense", {"stage_steps": 2}, model_seed=0)
    state = dense.state_dict()
    _, mix, _, _ = _start("dps-mix", {"stage_steps": 2}, model_seed=0)
    with pytest.raises(ValueError, match="of 'dps-dense', not 'dps-mix'"):
        mix.load_state_dict(state)
    _, other, _, _ = _start("dps-dense", {"stage_steps": 3}, model_seed=0)
    with pytest.raises(ValueError, match="stage length 2"):
        other.load_state_dict(state)
