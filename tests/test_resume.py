"""Resume from a full checkpoint: a run stopped or killed mid-epoch and resumed reproduces the
uninterrupted run exactly (step losses, LRs, gradient norms, stages, decisions, metrics)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from adaft_core import resume, train
from adaft_core.errors import ConfigError
from adaft_core.events.schema import check_stream
from adaft_core.store.runs import read_events
from adaft_core.run.state import flatten, read_state, unflatten

REPO = Path(__file__).resolve().parents[1]

# name -> (strategy, options, extra config): adaptive mode, 3 epochs of 4 optimizer steps
VARIANTS = {
    "vanilla": ("vanilla", {}, {}),
    "dps-dense": ("dps-dense", {"stage_steps": 3}, {}),  # Stage II = steps 4-6: the cut falls inside it
    "childtuning-d": ("childtuning-d", {}, {}),
    "childtuning-f": ("childtuning-f", {}, {}),
    "dps-mix": ("dps-mix", {"stage_steps": 3}, {}),
    "vanilla-accum-grouped": ("vanilla", {}, {"batch_size": 6, "grad_accum": 2, "length_grouping": True}),
}


def config(model, data, tmp_path, variant: str, name: str, **kw) -> dict:
    strategy, options, extra = VARIANTS[variant]
    base = dict(model=model, data=data, output_dir=str(tmp_path / "runs"), batch_size=12, lr=1e-3,
                eval_batch_size=16, seed=0, mode="adaptive", max_epochs=3, warmup_epochs=1, cooldown_epochs=1,
                final_model="best", save_model=False, strategy=strategy, strategy_options=options,
                run_name=name)
    return {**base, **extra, **kw}


KEYS = {"step": ("step",), "eval": ("split", "epoch"), "decision": ("epoch",), "mask": ("step",),
        "telemetry": ("trigger", "step")}  # what identifies one computed result of each kind


def history(events: list[dict]) -> dict:
    """What the run computed, keyed so a re-run part overwrites itself: every occurrence of a
    result (a killed run's partial epoch is trained again after resume) must be identical."""
    seen: dict = {}
    for e in events:
        if e["event"] not in KEYS:
            continue
        key = (e["event"], *(e.get(k) for k in KEYS[e["event"]]))
        value = {k: v for k, v in e.items() if k not in ("seq", "time", "run_id")}
        assert seen.setdefault(key, value) == value, f"{key} differs when computed again"
    ended = [e for e in events if e["event"] == "run_ended"][-1]
    final = {k: ended[k] for k in ("status", "epochs", "steps", "best_epoch", "final_model", "val", "test")}
    return {"computed": seen, "final": final}


def assert_same_run(resumed_dir: Path, reference_dir: Path, cut_step: int) -> list[dict]:
    events, reference = read_events(resumed_dir), read_events(reference_dir)
    assert check_stream(events) == []
    assert [e["seq"] for e in events] == list(range(len(events)))
    got, want = history(events), history(reference)
    assert got["computed"] == want["computed"]
    assert got["final"] == want["final"] and got["final"]["status"] == "completed"
    decisions = [e["epoch"] * 4 + 4 for e in reference if e["event"] == "decision"]  # the step each follows
    assert decisions[0] < cut_step < decisions[-1]  # decisions before and after the cut
    assert json.loads((resumed_dir / "run.json").read_text())["status"] == "completed"
    return events


def stopped_after_step(cfg: dict, step: int = 5):
    """``train(cfg)`` stopped (stop event) right after optimizer step ``step`` (5: mid epoch 1)."""
    stop = threading.Event()

    class StopAfterStep:
        def handle(self, event):
            if event.event == "step" and event["step"] == step:
                stop.set()

    cut = train(cfg, sinks=[StopAfterStep()], stop_event=stop)
    assert cut.status == "stopped" and cut.steps == step
    return cut


@pytest.fixture(scope="module")
def references(tiny_model_dir, conll_dir, tmp_path_factory):
    """The uninterrupted run of every variant (computed once)."""
    root = tmp_path_factory.mktemp("reference")
    return {v: train(config(tiny_model_dir, conll_dir, root, v, f"ref-{v}")).run_dir for v in VARIANTS}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stop_mid_epoch_then_resume_is_exact(tiny_model_dir, conll_dir, tmp_path, references, variant):
    cut = stopped_after_step(config(tiny_model_dir, conll_dir, tmp_path, variant, "cut"))
    state = read_state(cut.run_dir / "checkpoint")
    micro = 2 if VARIANTS[variant][2].get("grad_accum") else 1
    assert (state["step"], state["epoch"], state["batches_done"]) == (5, 1, 1 * micro)
    result = resume("cut", output_dir=tmp_path / "runs")
    assert result.run_dir == cut.run_dir and result.steps == 12
    events = assert_same_run(cut.run_dir, references[variant], cut_step=5)
    resumed = [e for e in events if e["event"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["step"] == 5 and resumed[0]["epoch"] == 1
    assert resumed[0]["pid"] == os.getpid() and resumed[0]["checkpoint"].endswith("checkpoint")
    assert events[events.index(resumed[0]) - 1]["event"] == "run_ended"  # appended after the stop


_CHILD = """
import json, sys, threading
from adaft_core import TrainConfig, train

class BlockAtStep:  # after the run log has this step: report it, then wait to be killed
    def handle(self, event):
        if event.event == "step" and event["step"] == {kill_step}:
            print("ready", flush=True)
            threading.Event().wait()

train(TrainConfig(**json.loads(sys.argv[1])), sinks=[BlockAtStep()])
"""


KILLED = ["vanilla", "dps-dense", "childtuning-d"]


@pytest.fixture(scope="module")
def killed_runs(tiny_model_dir, conll_dir, tmp_path_factory):
    """One process per variant, started together (their imports overlap), each SIGKILLed while
    blocked right after step 6 (mid epoch 1) is in its log; {variant: runs folder}."""
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONPATH": str(REPO)}
    children = {}
    for variant in KILLED:
        root = tmp_path_factory.mktemp(f"killed-{variant}")
        cfg = config(tiny_model_dir, conll_dir, root, variant, "killed")
        with open(root / "child.err", "w") as err:
            children[variant] = (root, subprocess.Popen(
                [sys.executable, "-c", _CHILD.format(kill_step=6), json.dumps(cfg)], cwd=REPO, env=env,
                stdout=subprocess.PIPE, stderr=err, text=True))
    try:
        for variant, (root, child) in children.items():
            line = child.stdout.readline()  # blocks until step 6 is in the log
            assert line.strip() == "ready", (root / "child.err").read_text()[-2000:]
    finally:
        for _, child in children.values():
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
    return {variant: root / "runs" for variant, (root, _) in children.items()}


@pytest.mark.parametrize("variant", KILLED)
def test_sigkill_mid_epoch_then_resume_is_exact(killed_runs, references, variant):
    run_dir = killed_runs[variant] / "killed"
    before = read_events(run_dir)
    assert before[-1]["event"] == "step" and before[-1]["step"] == 6  # no run_ended: it was killed
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    result = resume("killed", output_dir=killed_runs[variant])
    assert result.status == "completed"
    events = assert_same_run(run_dir, references[variant], cut_step=6)
    resumed = next(e for e in events if e["event"] == "resumed")
    assert (resumed["step"], resumed["epoch"]) == (4, 1)  # the end-of-epoch-0 checkpoint
    assert [e["step"] for e in events if e["event"] == "step"].count(5) == 2  # steps 5, 6 trained again


def test_packed_sentence_pairs_resume_exactly(tiny_model_dir, pair_dir, tmp_path):
    """Pair classification, padding-free (the default), dropout on: stopped mid-epoch and resumed,
    the same as uninterrupted; run_started says the batches are packed."""
    kw = dict(task="classification")
    reference = train(config(tiny_model_dir, pair_dir, tmp_path / "ref", "vanilla", "ref", **kw)).run_dir
    assert read_events(reference)[0]["packed"] is True
    cut = stopped_after_step(config(tiny_model_dir, pair_dir, tmp_path, "vanilla", "cut", **kw))
    resume("cut", output_dir=tmp_path / "runs")
    assert_same_run(cut.run_dir, reference, cut_step=5)


def test_a_sentence_level_run_from_before_packing_resumes_padded(tiny_model_dir, pair_dir, tmp_path, caplog):
    """A pair-classification run begun by a version that trained sentence-level tasks padded (its
    config says padding_free true, its run_started has no "packed") goes on padded: exactly the
    uninterrupted padded run, with one log line."""
    import logging

    kw = dict(task="classification")
    reference = train(config(tiny_model_dir, pair_dir, tmp_path / "ref", "vanilla", "ref", padding_free=False,
                             **kw)).run_dir
    cut = stopped_after_step(config(tiny_model_dir, pair_dir, tmp_path, "vanilla", "old", padding_free=False, **kw))
    log, run_json = cut.run_dir / "events.jsonl", cut.run_dir / "run.json"
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first.pop("packed")
    first["config"]["padding_free"] = True
    log.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    info = json.loads(run_json.read_text())
    info["config"]["padding_free"] = True
    run_json.write_text(json.dumps(info))
    with caplog.at_level(logging.WARNING, logger="adaft"):
        resume("old", output_dir=tmp_path / "runs")
    assert "resumed as it began" in caplog.text
    assert_same_run(cut.run_dir, reference, cut_step=5)


def test_checkpoint_write_interrupted_by_a_kill(tiny_model_dir, conll_dir, tmp_path, references):
    # kept at the end: no .old or .tmp beside it
    cut = stopped_after_step(config(tiny_model_dir, conll_dir, tmp_path, "vanilla", "swap", keep_checkpoint=True))
    # killed inside checkpoints.atomic_dir: the new folder half written, the old one moved aside
    (cut.run_dir / "checkpoint").rename(cut.run_dir / "checkpoint.old")
    (cut.run_dir / "checkpoint.tmp-424242").mkdir()
    (cut.run_dir / "checkpoint.tmp-424242" / "model.safetensors").write_bytes(b"half")
    resume("swap", output_dir=tmp_path / "runs")
    events = assert_same_run(cut.run_dir, references["vanilla"], cut_step=5)
    assert next(e for e in events if e["event"] == "resumed")["checkpoint"].endswith("checkpoint.old")
    assert sorted(p.name for p in cut.run_dir.glob("checkpoint*")) == ["checkpoint"]


def test_killed_while_finishing_resumes_to_the_final_evaluation(tiny_model_dir, conll_dir, tmp_path, references):
    class InterruptAtTest:
        def handle(self, event):
            if event.event == "eval" and event["split"] == "test":
                raise KeyboardInterrupt  # (sinks' Exceptions are caught; this one is not)

    cut = train(config(tiny_model_dir, conll_dir, tmp_path, "vanilla", "late"), sinks=[InterruptAtTest()])
    assert cut.status == "stopped" and cut.steps == 12
    result = resume(str(cut.run_dir))  # a run folder works as well as a name
    assert result.status == "completed"
    events = read_events(cut.run_dir)
    after = events[[e["event"] for e in events].index("resumed"):]
    assert [e["event"] for e in after] == ["resumed", "eval", "run_ended"]  # no epoch trained again
    assert after[-1]["test"] == read_events(references["vanilla"])[-1]["test"]


def test_resume_without_checkpoint_starts_again(tiny_model_dir, conll_dir, tmp_path, references):
    cfg = config(tiny_model_dir, conll_dir, tmp_path, "childtuning-d", "early", save_checkpoints=False)
    cut = stopped_after_step(cfg, 2)
    assert not (cut.run_dir / "checkpoint").exists()
    resume("early", output_dir=tmp_path / "runs")
    events = read_events(cut.run_dir)
    resumed = next(e for e in events if e["event"] == "resumed")
    assert (resumed["step"], resumed["epoch"], resumed["checkpoint"]) == (0, 0, None)
    assert check_stream(events) == []
    assert history(events) == history(read_events(references["childtuning-d"]))


def test_resume_drops_a_half_written_line_and_continues_the_numbering(tiny_model_dir, conll_dir, tmp_path):
    cfg = config(tiny_model_dir, conll_dir, tmp_path, "vanilla", "torn", mode="original", max_epochs=2)
    cut = stopped_after_step(cfg, 3)
    (cut.run_dir / "STOP").touch()  # left from a stop by file: must not stop the resumed run
    log = cut.run_dir / "events.jsonl"
    last_seq = read_events(log)[-1]["seq"]
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"event": "step", "run_id": "torn", "se')  # the process died mid-write
    result = resume("torn", output_dir=tmp_path / "runs")
    assert result.status == "completed" and result.steps == 8
    events = read_events(log)
    assert check_stream(events) == []
    resumed = next(e for e in events if e["event"] == "resumed")
    assert resumed["seq"] == last_seq + 1
    assert log.read_text(encoding="utf-8").endswith("\n")


def test_resume_refuses_runs_that_ended_or_still_run(tiny_model_dir, conll_dir, tmp_path):
    done = train(config(tiny_model_dir, conll_dir, tmp_path, "vanilla", "done", mode="original", max_epochs=1,
                        save_checkpoints=False, evaluate_test=False))
    with pytest.raises(ConfigError, match="'done'.*already completed"):
        resume("done", output_dir=tmp_path / "runs")
    from adaft_core.store.liveness import owner_info

    info = json.loads((done.run_dir / "run.json").read_text())
    live = tmp_path / "runs" / "live"
    live.mkdir()
    (live / "events.jsonl").write_text((done.run_dir / "events.jsonl").read_text().splitlines()[0] + "\n")
    (live / "run.json").write_text(json.dumps({**info, "run_id": "live", "status": "running",
                                               "owner": owner_info()}))  # this very process: alive
    with pytest.raises(ConfigError, match="'live'.*still running"):
        resume("live", output_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="no run 'nothing'"):
        resume("nothing", output_dir=tmp_path / "runs")


def test_state_round_trips_without_pickle():
    mask = torch.rand(3, 4) > 0.5
    tree = {"optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 2)}},
                          "param_groups": [{"betas": (0.9, 0.999), "params": [0, 1], "fused": None}]},
            "masks": {"a": mask, "same": mask, "view": mask[1]}, "evals": {2: {"f1": float("inf")}},
            "rng": torch.Generator().manual_seed(5).get_state(), "__tensor__": "a user key"}
    skeleton, tensors = flatten(tree)
    json.dumps(skeleton)  # the structure is plain JSON
    from safetensors.torch import load, save

    back = unflatten(json.loads(json.dumps(skeleton)), load(save(tensors)))  # refuses shared storage
    assert back["optimizer"]["state"][0]["step"].item() == 3.0 and 0 in back["optimizer"]["state"]
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert torch.equal(back["masks"]["same"], mask) and back["masks"]["view"].tolist() == mask[1].tolist()
    assert back["evals"] == {2: {"f1": float("inf")}} and back["__tensor__"] == "a user key"
    assert torch.equal(back["rng"], tree["rng"])
    with pytest.raises(TypeError, match="/strategy/obj holds 'object'"):
        flatten({"strategy": {"obj": object()}})
