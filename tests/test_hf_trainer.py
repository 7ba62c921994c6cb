"""adaft inside ``transformers.Trainer`` (adaft_core/integrations): the same LR every step, the same
decisions and stop epoch as adaft's engine on scripted validation losses; the same DPS-Dense masks
given the same gradients; a real Trainer run's log passes the event contract and the run store
and dashboard read it."""

from __future__ import annotations

import json

import pytest
import torch

from adaft_core import TrainConfig, train
from adaft_core.run import engine as engine_module
from adaft_core.errors import ConfigError
from adaft_core.events.schema import check_stream, validate_event
from adaft_core.store.runs import list_runs, read_events
from adaft_core.tasks.ner import prepare_ner

transformers = pytest.importorskip("transformers")
from adaft_core.integrations import AdaptiveKit, argmax_logits, ner_trainer_metrics  # noqa: E402

# warm-up 1, cooldown 2, patience 0: improve, improve, cooldown, restart, cooldown, wait 2, stop (wait 3)
LOSSES = [1.0, 0.9, 0.95, 0.85, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99]
MODE = dict(mode="adaptive", max_epochs=10, warmup_epochs=1, cooldown_epochs=2, patience=0, restarts=True)


def _config(model, data, tmp_path, **kw) -> TrainConfig:
    base = dict(model=model, data=data, output_dir=str(tmp_path / "engine-runs"), batch_size=12, lr=1e-3,
                eval_batch_size=16, seed=0, evaluate_test=False, save_checkpoints=False, save_model=False, **MODE)
    base.update(kw)
    return TrainConfig(**base)


def _engine_run(cfg, monkeypatch, losses=None, sequential=False):
    calls = iter(losses or [])

    if losses is not None:
        real = engine_module.evaluate

        def scripted(model, loader, features, task, accelerator, strategy=None):
            metrics = real(model, loader, features, task, accelerator, strategy)
            return {**metrics, "loss": next(calls)}

        monkeypatch.setattr(engine_module, "evaluate", scripted)
    if sequential:  # the same batch order as the Trainer below
        def in_order(features, collator, cfg, generator):
            return torch.utils.data.DataLoader(features, batch_size=cfg.batch_size, shuffle=False,
                                               collate_fn=collator)

        monkeypatch.setattr(engine_module, "make_train_loader", in_order)
    result = train(cfg)
    return result, read_events(result.run_dir)


def _trainer(cfg, tmp_path, kit: AdaptiveKit, losses=None, sequential=False, metrics=False, **args):
    """A plain Trainer on the engine's data, model (same seed → same head) and hyper-parameters."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_utils import EvalLoopOutput

    task = prepare_ner(cfg)
    torch.manual_seed(cfg.seed)
    model = task.load_model()
    base = dict(output_dir=str(tmp_path / "hf-out"), per_device_train_batch_size=cfg.batch_size,
                per_device_eval_batch_size=cfg.eval_batch_size, learning_rate=cfg.lr,
                num_train_epochs=cfg.max_epochs, eval_strategy="epoch", save_strategy="no", report_to="none",
                seed=cfg.seed, max_grad_norm=cfg.max_grad_norm, remove_unused_columns=False, use_cpu=True,
                weight_decay=cfg.weight_decay, disable_tqdm=True)
    base.update(args)
    trainer = Trainer(model=model, args=TrainingArguments(**base), train_dataset=task.features["train"],
                      eval_dataset=task.features["validation"], data_collator=task.collator,
                      compute_metrics=ner_trainer_metrics(task) if metrics else None,
                      preprocess_logits_for_metrics=argmax_logits if metrics else None)
    kit.attach(trainer)
    if losses is not None:
        calls = iter(losses)
        real_loop = trainer.evaluation_loop

        def scripted_loop(*a, **kw):
            out = real_loop(*a, **kw)
            return EvalLoopOutput(out.predictions, out.label_ids, {**out.metrics, "eval_loss": next(calls)},
                                  out.num_samples)

        trainer.evaluation_loop = scripted_loop
    if sequential:
        trainer._get_train_sampler = lambda *a, **kw: torch.utils.data.SequentialSampler(task.features["train"])
    return trainer


def _of(events, name, key=None):
    picked = [e for e in events if e["event"] == name]
    return picked if key is None else [e[key] for e in picked]


def test_trainer_matches_engine_lr_every_step_and_decisions(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    cfg = _config(tiny_model_dir, conll_dir, tmp_path)
    result, engine_events = _engine_run(cfg, monkeypatch, LOSSES)
    kit = AdaptiveKit(**{k: v for k, v in MODE.items() if k != "max_epochs"}, runs_dir=tmp_path / "hf-runs")
    trainer = _trainer(cfg, tmp_path, kit, LOSSES)
    trainer.train()
    hf_events = read_events(kit.run_dir)

    assert result.status == "early_stopped" and result.epochs == 7  # the script's stop, after epoch 6
    assert len(kit.decisions) == result.epochs and trainer.state.global_step == result.steps
    engine_lrs, hf_lrs = _of(engine_events, "step", "lr"), _of(hf_events, "step", "lr")
    assert len(hf_lrs) == result.steps and hf_lrs == engine_lrs  # every step, exactly
    assert _of(hf_events, "step", "epoch") == _of(engine_events, "step", "epoch")
    assert len(set(engine_lrs)) > 3  # warm-up, constant and cooldowns really happened
    keys = ("epoch", "action", "improved", "wait", "phase", "next_phase", "lr_plan", "early_stop", "reason")
    engine_decisions = [{k: d[k] for k in keys} for d in _of(engine_events, "decision")]
    assert [{k: d[k] for k in keys} for d in _of(hf_events, "decision")] == engine_decisions
    assert [d["action"] for d in engine_decisions] == ["continue", "continue", "cooldown", "restart", "cooldown",
                                                       "continue", "stop"]
    assert _of(hf_events, "run_ended")[0]["status"] == "early_stopped"


def test_dps_dense_masks_match_engine_given_the_same_gradients(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    """LR 1e-30 (weights do not move in float32), no dropout, the same batches in the same order: every step's
    gradients are the same on both sides, so DPS-Dense must select the same masks."""
    from transformers import AutoConfig

    nodrop = tmp_path / "nodrop"
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    from transformers import AutoModel, AutoTokenizer

    AutoModel.from_pretrained(tiny_model_dir, config=config).save_pretrained(nodrop)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(nodrop)
    options = {"stage_steps": 2}
    cfg = _config(str(nodrop), conll_dir, tmp_path, lr=1e-30, mode="original", max_epochs=2, warmup_epochs=0,
                  strategy="dps-dense", strategy_options=options)
    _, engine_events = _engine_run(cfg, monkeypatch, sequential=True)
    kit = AdaptiveKit(mode="original", warmup_epochs=0, strategy="dps-dense", strategy_options=options,
                      runs_dir=tmp_path / "hf-runs")
    _trainer(cfg, tmp_path, kit, sequential=True).train()
    hf_events = read_events(kit.run_dir)

    engine_masks, hf_masks = _of(engine_events, "mask"), _of(hf_events, "mask")
    assert len(engine_masks) >= 1 and len(hf_masks) == len(engine_masks)
    for a, b in zip(engine_masks, hf_masks):
        assert (a["step"], a["stage"]) == (b["step"], b["stage"])
        assert [m["kept"] for m in a["modules"]] == [m["kept"] for m in b["modules"]]
    from adaft_core.strategies.masks import load_masks

    for a, b in zip(engine_masks, hf_masks):  # the selected entries themselves, bit for bit
        ma = load_masks(engine_events_dir(engine_events, tmp_path) / a["file"]).masks
        mb = load_masks(kit.run_dir / b["file"]).masks
        assert ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)
    assert _of(hf_events, "step", "stage") == _of(engine_events, "step", "stage")


def engine_events_dir(events, tmp_path):
    return tmp_path / "engine-runs" / events[0]["run_id"]


def test_trainer_run_log_passes_the_event_contract_and_is_listed_and_plotted(tiny_model_dir, conll_dir, tmp_path):
    cfg = _config(tiny_model_dir, conll_dir, tmp_path, max_epochs=2)
    kit = AdaptiveKit(mode="adaptive", warmup_epochs=1, strategy="childtuning-f", runs_dir=tmp_path / "runs",
                      run_name="hf-run")
    trainer = _trainer(cfg, tmp_path, kit, metrics=True, gradient_accumulation_steps=2)
    trainer.train()
    events = read_events(kit.run_dir)
    assert check_stream(events) == []
    assert all(validate_event(e) == [] for e in events)
    names = [e["event"] for e in events]
    assert names[0] == "run_started" and names[-1] == "run_ended"
    steps = _of(events, "step")
    assert len(steps) == 2 * 2 and [s["step"] for s in steps] == [1, 2, 3, 4]  # 4 batches / accum 2 per epoch
    assert all(s["grad_norm"] is not None and s["loss"] is not None for s in steps)
    assert _of(events, "eval", "epoch") == [0, 1] and _of(events, "decision", "epoch") == [0, 1]
    evals = _of(events, "eval")
    assert all(isinstance(e["score"], float) and {"precision", "recall"} <= set(e["metrics"]) for e in evals)
    assert _of(events, "run_ended")[0]["status"] == "completed"
    run_json = json.loads((kit.run_dir / "run.json").read_text())
    assert run_json["status"] == "completed" and run_json["config"]["strategy"] == "childtuning-f"

    [summary] = list_runs(tmp_path / "runs")
    assert (summary.run_id, summary.status, summary.mode, summary.strategy) == (
        "hf-run", "completed", "adaptive", "childtuning-f")
    assert summary.epochs == 2 and summary.val_score == evals[-1]["score"]
    from accelerate import Accelerator

    from adaft_core.run.evaluate import eval_loader, evaluate

    task, acc = prepare_ner(cfg), Accelerator(cpu=True)  # adaft's own evaluation of the final model
    ours = evaluate(trainer.model, eval_loader(task.features["validation"], task.collator, 16, acc),
                    task.features["validation"], task, acc)
    assert evals[-1]["score"] == pytest.approx(ours["f1"], abs=1e-9)
    from adaft_dashboard.live.state import Store

    store = Store()
    store.apply_all(events)
    [run] = store.ordered()
    assert run.n_steps == 4 and len(run.eval_arrays()[0]) == 2
    assert run.status == "completed"


def test_a_failing_trainer_run_still_ends_its_log(tiny_model_dir, conll_dir, tmp_path):
    cfg = _config(tiny_model_dir, conll_dir, tmp_path, max_epochs=2)
    kit = AdaptiveKit(runs_dir=tmp_path / "runs")
    trainer = _trainer(cfg, tmp_path, kit)
    real = trainer.compute_loss

    def broken(model, inputs, *a, **kw):
        if trainer.state.global_step == 2:
            raise RuntimeError("out of memory (scripted)")
        return real(model, inputs, *a, **kw)

    trainer.compute_loss = broken
    with pytest.raises(RuntimeError, match="scripted"):
        trainer.train()
    events = read_events(kit.run_dir)
    assert check_stream(events) == []
    ended = events[-1]
    assert ended["status"] == "failed" and "scripted" in ended["error"] and ended["steps"] == 2
    [summary] = list_runs(tmp_path / "runs")
    assert summary.status == "failed"


def test_a_stop_file_stops_the_trainer_run_after_the_current_step(tiny_model_dir, conll_dir, tmp_path):
    from adaft_core.store.runs import request_stop

    cfg = _config(tiny_model_dir, conll_dir, tmp_path, max_epochs=2)
    kit = AdaptiveKit(runs_dir=tmp_path / "runs")
    trainer = _trainer(cfg, tmp_path, kit)
    real = trainer.compute_loss

    def asking(model, inputs, *a, **kw):
        if trainer.state.global_step == 2:
            request_stop(kit.run_dir)  # as the dashboard's Stop button does
        return real(model, inputs, *a, **kw)

    trainer.compute_loss = asking
    trainer.train()
    events = read_events(kit.run_dir)
    assert check_stream(events) == [] and events[-1]["status"] == "stopped" and events[-1]["steps"] == 3


def test_attach_refuses_settings_it_cannot_honour(tiny_model_dir, conll_dir, tmp_path):
    cfg = _config(tiny_model_dir, conll_dir, tmp_path, max_epochs=2)
    with pytest.raises(ConfigError, match="eval_strategy='epoch'"):
        _trainer(cfg, tmp_path, AdaptiveKit(runs_dir=None), eval_strategy="no")
    with pytest.raises(ConfigError, match="max_grad_norm"):
        _trainer(cfg, tmp_path, AdaptiveKit(strategy="dps-dense", runs_dir=None), max_grad_norm=0.0)
    with pytest.raises(ConfigError, match="mode"):
        AdaptiveKit(mode="fast")
    trainer = _trainer(cfg, tmp_path, AdaptiveKit(runs_dir=tmp_path / "runs"))
    with pytest.raises(ConfigError, match="holds no checkpoint"):  # resuming: tests/test_hf_trainer_resume.py
        trainer.train(resume_from_checkpoint=True)
    assert not (tmp_path / "runs").exists()  # refused before anything was written
