"""AdaptiveKit runs resume from Trainer's own checkpoint (adaft_core/integrations/resume.py): a run
killed after an epoch and resumed with ``trainer.train(resume_from_checkpoint=…)`` has the same LR at
every step, the same decisions and the same stop epoch as the uninterrupted run, in one run log with
a ``resumed`` event; DPS-Dense's statistics carried across the resume select the same masks."""

from __future__ import annotations

import pytest
import torch

from adaft_core.errors import ConfigError
from adaft_core.events.schema import check_stream, validate_event
from adaft_core.store.runs import list_runs, read_events
from adaft_core.tasks.ner import prepare_ner

transformers = pytest.importorskip("transformers")
from adaft_core.integrations import AdaptiveKit  # noqa: E402

# warm-up 1, cooldown 2: improve, improve, cooldown, restart, cooldown, wait 2, stop — 7 epochs
LOSSES = [1.0, 0.9, 0.95, 0.85, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99]
MODE = dict(mode="adaptive", warmup_epochs=1, cooldown_epochs=2, patience=0, restarts=True)


class Crash(RuntimeError):
    pass


def _trainer(model_dir, data_dir, out, kit, losses, crash_after=None, lr=1e-3, epochs=10):
    """A plain Trainer on the tiny NER data, saving a checkpoint every epoch, scripted validation losses;
    ``crash_after``: raise inside the first step after that epoch (1-based) — a killed process."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_utils import EvalLoopOutput

    from adaft_core import TrainConfig

    task = prepare_ner(TrainConfig(model=model_dir, data=data_dir, batch_size=12, seed=0))
    torch.manual_seed(0)
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=12, per_device_eval_batch_size=16,
                             learning_rate=lr, num_train_epochs=epochs, eval_strategy="epoch", save_strategy="epoch",
                             report_to="none", seed=0, remove_unused_columns=False, use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=task.load_model(), args=args, train_dataset=task.features["train"],
                      eval_dataset=task.features["validation"], data_collator=task.collator)
    kit.attach(trainer)
    trainer._get_train_sampler = lambda *a, **kw: torch.utils.data.SequentialSampler(task.features["train"])
    calls = iter(losses)
    real_loop, real_loss = trainer.evaluation_loop, trainer.compute_loss

    def scripted_loop(*a, **kw):
        o = real_loop(*a, **kw)
        return EvalLoopOutput(o.predictions, o.label_ids, {**o.metrics, "eval_loss": next(calls)}, o.num_samples)

    def crashing_loss(model, inputs, *a, **kw):
        if crash_at is not None and model.training and trainer.state.global_step + 1 == crash_at:
            raise Crash("killed (scripted)")
        return real_loss(model, inputs, *a, **kw)

    crash_at = crash_after * len(trainer.get_train_dataloader()) + 1 if crash_after else None
    trainer.evaluation_loop, trainer.compute_loss = scripted_loop, crashing_loss
    return trainer


def _of(events, name, key=None):
    picked = [e for e in events if e["event"] == name]
    return picked if key is None else [e[key] for e in picked]


def _interrupted_and_resumed(tiny_model_dir, conll_dir, tmp_path, kit_options, losses, after_epoch, **kw):
    """Kill a run in the epoch after ``after_epoch`` (1-based) and resume it with a new kit and Trainer."""
    runs, out = tmp_path / "runs", tmp_path / "hf-b"
    first = AdaptiveKit(**kit_options, runs_dir=runs, run_name="resumed-run")
    trainer = _trainer(tiny_model_dir, conll_dir, out, first, losses, crash_after=after_epoch, **kw)
    spe = len(trainer.get_train_dataloader())
    with pytest.raises(Crash):
        trainer.train()
    assert (out / f"checkpoint-{after_epoch * spe}" / "trainer_state.json").is_file()
    second = AdaptiveKit(**kit_options, runs_dir=runs, run_name="resumed-run")
    trainer = _trainer(tiny_model_dir, conll_dir, out, second, losses[after_epoch:], **kw)
    trainer.train(resume_from_checkpoint=True)
    assert second.run_dir == first.run_dir
    return second, trainer, read_events(second.run_dir), spe


def test_a_resumed_trainer_run_matches_the_uninterrupted_one(tiny_model_dir, conll_dir, tmp_path):
    whole = AdaptiveKit(**MODE, runs_dir=tmp_path / "whole-runs")
    trainer = _trainer(tiny_model_dir, conll_dir, tmp_path / "hf-a", whole, LOSSES)
    trainer.train()
    expected = read_events(whole.run_dir)

    kit, resumed_trainer, events, spe = _interrupted_and_resumed(tiny_model_dir, conll_dir, tmp_path, MODE, LOSSES,
                                                                 after_epoch=3)
    assert check_stream(events) == [] and all(validate_event(e) == [] for e in events)
    names = [e["event"] for e in events]
    assert names.count("run_started") == 1 and names.count("resumed") == 1
    [resumed] = _of(events, "resumed")
    assert resumed["step"] == 3 * spe and resumed["epoch"] == 3 and resumed["checkpoint"].endswith(f"checkpoint-{3 * spe}")
    assert _of(events, "run_ended", "status") == ["failed", "early_stopped"]  # the crash, then the end

    assert _of(events, "step", "step") == list(range(1, len(_of(expected, "step")) + 1))
    assert _of(events, "step", "lr") == _of(expected, "step", "lr")  # every step, exactly
    assert len(set(_of(expected, "step", "lr"))) > 3  # warm-up, constant, cooldowns and a restart happened
    keys = ("epoch", "action", "improved", "wait", "phase", "next_phase", "lr_plan", "early_stop", "reason")
    assert [{k: d[k] for k in keys} for d in _of(events, "decision")] == \
           [{k: d[k] for k in keys} for d in _of(expected, "decision")]
    assert _of(events, "decision", "action")[-1] == "stop" and len(kit.decisions) == 7
    assert resumed_trainer.state.global_step == trainer.state.global_step == 7 * spe
    ended = events[-1]
    assert ended["epochs"] == 7 and ended["best_epoch"] == expected[-1]["best_epoch"]
    [summary] = list_runs(tmp_path / "runs")
    assert summary.status == "early_stopped" and summary.epochs == 7


def test_dps_dense_state_survives_the_resume(tiny_model_dir, conll_dir, tmp_path):
    """LR 1e-30 (weights do not move), the model without dropout, batches in order: every step's gradients
    are the same in both runs, so the masks match only if Stage I's statistics crossed the resume intact
    (stage 3 steps, 4 steps per epoch: the Stage I of steps 7–9 spans the checkpoint after step 8)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from adaft_core.strategies.masks import load_masks

    nodrop = tmp_path / "nodrop"
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    AutoModel.from_pretrained(tiny_model_dir, config=config).save_pretrained(nodrop)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(nodrop)
    options = dict(mode="original", warmup_epochs=0, strategy="dps-dense", strategy_options={"stage_steps": 3})
    losses = [1.0, 0.9, 0.8]
    whole = AdaptiveKit(**options, runs_dir=tmp_path / "whole-runs")
    _trainer(str(nodrop), conll_dir, tmp_path / "hf-a", whole, losses, lr=1e-30, epochs=3).train()
    expected = read_events(whole.run_dir)
    kit, _, events, spe = _interrupted_and_resumed(str(nodrop), conll_dir, tmp_path, options, losses, after_epoch=2,
                                                   lr=1e-30, epochs=3)
    assert spe == 4
    assert check_stream(events) == []
    assert _of(events, "step", "stage") == _of(expected, "step", "stage")
    want, got = _of(expected, "mask"), _of(events, "mask")
    assert [(m["step"], m["stage"]) for m in got] == [(m["step"], m["stage"]) for m in want]
    assert any(m["step"] > 8 for m in got)  # a selection after the resume, from statistics gathered across it
    for a, b in zip(want, got):
        ma, mb = load_masks(whole.run_dir / a["file"]).masks, load_masks(kit.run_dir / b["file"]).masks
        assert ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)


def test_resume_refuses_what_it_cannot_continue(tiny_model_dir, conll_dir, tmp_path):
    out = tmp_path / "hf"
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        _trainer(tiny_model_dir, conll_dir, out, AdaptiveKit(**MODE, runs_dir=tmp_path / "runs"),
                 LOSSES).train(resume_from_checkpoint=True)
    assert not (tmp_path / "runs").exists()  # refused before anything was written
    _trainer(tiny_model_dir, conll_dir, out, AdaptiveKit(**MODE, runs_dir=tmp_path / "runs"), LOSSES,
             epochs=1).train()
    other = {**MODE, "cooldown_epochs": 3}
    with pytest.raises(ConfigError, match="cooldown_epochs 2 → 3"):
        _trainer(tiny_model_dir, conll_dir, out, AdaptiveKit(**other, runs_dir=tmp_path / "runs"), LOSSES,
                 epochs=1).train(resume_from_checkpoint=True)
