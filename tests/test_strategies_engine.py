"""Every strategy end to end through the engine on the tiny BERT: mask events in the run log,
DPS stages in step events, telemetry after each validation, raw weights saved, accumulation."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from adaft_core import TrainConfig, train
from adaft_core.events.emitter import RecorderSink
from adaft_core.store.runs import read_events
from adaft_core.strategies.masks import kept_count, load_masks
from adaft_core.strategies.stages import schedule

MASK_FIELDS = {"step", "stage", "strategy", "keep_fraction", "modules"}
MODULE_FIELDS = {"name", "layer", "kind", "kept", "overlap_prev"}


def _config(model, data, tmp_path, strategy, **kw):
    base = dict(model=model, data=data, output_dir=str(tmp_path / "runs"), batch_size=12, lr=1e-3,
                eval_batch_size=16, seed=0, mode="original", max_epochs=2, strategy=strategy,
                evaluate_test=False, save_checkpoints=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("strategy,options", [
    ("dps-dense", {"stage_steps": 2}), ("dps-mix", {"stage_steps": 2}), ("childtuning-d", {}),
    ("childtuning-f", {}), ("vanilla", {"telemetry": True})])
def test_engine_run_per_strategy(tiny_model_dir, conll_dir, tmp_path, strategy, options):
    rec = RecorderSink()
    result = train(_config(tiny_model_dir, conll_dir, tmp_path, strategy, strategy_options=options), sinks=[rec])
    assert result.status == "completed" and result.steps == 8
    logged = read_events(result.run_dir)
    assert [e["event"] for e in logged] == rec.names()
    masks = [e for e in logged if e["event"] == "mask"]
    steps = [e for e in logged if e["event"] == "step"]
    if strategy.startswith("dps"):
        assert [e["stage"] for e in steps] == schedule(8, 2)
        assert [e["step"] for e in masks] == [3, 7]
        assert masks[1]["modules"][0]["overlap_prev"] is not None
    else:
        assert all(e["stage"] is None for e in steps)
    if strategy == "vanilla":
        assert masks == []
    else:
        assert masks and all(MASK_FIELDS <= set(e) for e in masks)
        assert all(MODULE_FIELDS <= set(m) for e in masks for m in e["modules"])
        assert masks[0]["strategy"] == strategy
    if strategy == "childtuning-d":
        assert [e["step"] for e in masks] == [0] and rec.names()[:2] == ["run_started", "mask"]
    if strategy == "childtuning-f":
        assert [e["step"] for e in masks] == [1, 5]  # step 1 and the first step after each validation
    if strategy in ("dps-dense", "dps-mix", "childtuning-d"):
        assert load_masks(result.run_dir).meta["strategy"] == strategy
    # telemetry right after every decision
    names = rec.names()
    validation = [e for e in logged if e["event"] == "telemetry" and e["trigger"] == "validation"]
    assert len(validation) == 2
    assert all(names[i + 1] == "telemetry" for i, name in enumerate(names) if name == "decision")
    assert set(validation[0]["drift"]) == {"0", "1", "head"}
    if strategy.startswith("dps"):
        assert validation[0]["leakage"]["since_step"] == 3  # step 4 is in the Stage II of steps 3-4
        assert any(e["event"] == "telemetry" and e["trigger"] == "stage_end" for e in logged)
    # the saved model holds raw weights under their own names (DPS-Mix's mixing hooks removed)
    with safe_open(str(result.model_dir / "model.safetensors"), framework="pt") as f:
        assert not any("parametrizations" in k for k in f.keys())
    json.loads((result.run_dir / "run.json").read_text())


def test_engine_gradient_accumulation_masks_keyed(tiny_model_dir, conll_dir, tmp_path):
    from adaft_core.strategies.scope import dps_scope
    from adaft_core.tasks.ner import load_token_classifier

    rec = RecorderSink()
    cfg = _config(tiny_model_dir, conll_dir, tmp_path, "dps-dense", batch_size=6, grad_accum=2,
                  strategy_options={"stage_steps": 1, "keep_fraction": 0.6}, save_model=False)
    result = train(cfg, sinks=[rec])
    assert result.steps == 8 and [e["step"] for e in rec.of("mask")] == [2, 4, 6, 8]
    model = load_token_classifier(tiny_model_dir, rec.of("run_started")[0]["labels"])
    infos = dps_scope(model)
    for event in rec.of("mask"):
        assert [m["name"] for m in event["modules"]] == [i.name for i in infos]
        for m, info in zip(event["modules"], infos):
            assert m["kept"] * info.param.numel() == pytest.approx(kept_count(info.param.numel(), 0.6))


def test_engine_adaptive_mode_stage_length_from_steps_per_epoch(tiny_model_dir, conll_dir, tmp_path):
    rec = RecorderSink()
    cfg = _config(tiny_model_dir, conll_dir, tmp_path, "dps-dense", mode="adaptive", max_epochs=2, save_model=False)
    train(cfg, sinks=[rec])
    # 4 steps per epoch: S = max(1, int(0.15 * 4)) = 1
    assert rec.of("mask")[0]["stage_steps"] == 1
    assert [e["stage"] for e in rec.of("step")] == schedule(8, 1)
