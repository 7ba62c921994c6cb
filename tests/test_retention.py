"""What runs leave on disk: a finished run drops its resume checkpoint (unless kept), one that may
be resumed keeps it; sweeps save no models unless asked; ``runs list`` shows sizes; ``runs clean``
lists, then frees, the checkpoints and models of finished runs by a rule."""

from __future__ import annotations

import threading
import time

import pytest

from adaft_core import TrainConfig, resume, train
from adaft_core.cli import main
from adaft_core.errors import ConfigError
from adaft_core.store.retention import folder_size, format_size, parse_age, plan_clean
from adaft_core.store.runs import read_events
from adaft_core.sweep import sweep_status


def tiny(model, data, out, name, **kw) -> TrainConfig:
    # 48 training sentences / batch 12 = 4 steps per epoch
    base = dict(model=model, data=data, output_dir=str(out), batch_size=12, lr=1e-3, eval_batch_size=16, seed=0,
                mode="original", max_epochs=2, save_model=False, evaluate_test=False, run_name=name)
    return TrainConfig(**{**base, **kw})


def checkpoints(run_dir) -> list[str]:
    return sorted(p.name for p in run_dir.glob("checkpoint*"))


def stopped_at(step: int):
    """(stop_event, sink) that stop a run after ``step``: it keeps a checkpoint to resume from."""
    stop = threading.Event()

    class StopAt:
        def handle(self, event):
            if event.event == "step" and event["step"] == step:
                stop.set()

    return stop, StopAt()


def test_a_completed_run_drops_its_checkpoint_unless_asked(tiny_model_dir, conll_dir, tmp_path):
    done = train(tiny(tiny_model_dir, conll_dir, tmp_path, "done"))
    kept = train(tiny(tiny_model_dir, conll_dir, tmp_path, "kept", keep_checkpoint=True))
    assert done.status == kept.status == "completed"
    assert checkpoints(done.run_dir) == [] and checkpoints(kept.run_dir) == ["checkpoint"]
    assert [e["event"] for e in read_events(done.run_dir)].count("checkpoint") == 2  # written, then dropped
    assert done.val == kept.val


def test_an_early_stopped_run_drops_its_checkpoint(tiny_model_dir, conll_dir, tmp_path):
    # min_delta 100: nothing improves after epoch 0, a 1-epoch cooldown, then the stop
    result = train(tiny(tiny_model_dir, conll_dir, tmp_path, "early", mode="adaptive", max_epochs=10,
                        warmup_epochs=0, cooldown_epochs=1, min_delta=100.0))
    assert result.status == "early_stopped" and result.epochs < 10
    assert checkpoints(result.run_dir) == []


def test_a_stopped_run_keeps_its_checkpoint_until_resumed_to_the_end(tiny_model_dir, conll_dir, tmp_path):
    stop, sink = stopped_at(5)
    cut = train(tiny(tiny_model_dir, conll_dir, tmp_path, "cut"), sinks=[sink], stop_event=stop)
    assert cut.status == "stopped" and checkpoints(cut.run_dir) == ["checkpoint"]
    assert resume("cut", output_dir=tmp_path).status == "completed"
    assert checkpoints(cut.run_dir) == []


SWEEP = ["sweep", "--mode", "original,stable,adaptive", "--seed", "1,2,3", "--max-epochs", "2",
         "--batch-size", "16", "--max-seq-length", "32", "--lr", "1e-3", "--no-progress"]


@pytest.fixture(scope="module")
def swept(tiny_model_dir, conll_dir, tmp_path_factory):
    """A 9-point sweep with the defaults (no models saved) in a fresh runs folder."""
    runs = tmp_path_factory.mktemp("swept") / "runs"
    code = main([*SWEEP, "--model", tiny_model_dir, "--data", conll_dir, "--name", "nine", "--output-dir", str(runs)])
    assert code == 0
    return runs


def test_a_sweep_leaves_scores_and_logs_but_no_checkpoints_or_models(swept):
    manifest = sweep_status("nine", swept)
    assert len(manifest.points) == 9 and {p.status for p in manifest.points} == {"completed"}
    for p in manifest.points:
        folder = swept / p.run_id
        assert p.score is not None and (folder / "events.jsonl").exists()
        assert checkpoints(folder) == [] and not (folder / "model").exists()
        assert folder_size(folder) < 100_000  # the log and run.json: kilobytes


def test_runs_list_shows_each_runs_size(swept, capsys):
    assert main(["runs", "list", "--runs", str(swept)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "size" in lines[0].split() and len(lines) == 10
    for row in lines[1:]:
        assert f"  {format_size(folder_size(swept / row.split()[0]))}" in row, row


@pytest.fixture
def kept(tiny_model_dir, conll_dir, tmp_path):
    """A 4-point sweep that keeps models and checkpoints, and a stopped run beside it."""
    runs = tmp_path / "runs"
    assert main(["sweep", "--mode", "original,adaptive", "--seed", "1,2", "--max-epochs", "2", "--batch-size", "16",
                 "--max-seq-length", "32", "--lr", "1e-3", "--no-progress", "--save-model", "--keep-checkpoint",
                 "--model", tiny_model_dir, "--data", conll_dir, "--name", "k", "--output-dir", str(runs)]) == 0
    stop, sink = stopped_at(1)
    assert train(tiny(tiny_model_dir, conll_dir, runs, "paused"), sinks=[sink], stop_event=stop).status == "stopped"
    return runs


def test_runs_clean_lists_then_frees_all_but_the_best_of_each_cell(kept, capsys):
    points = sweep_status("k", kept).points
    best = {max((p for p in points if p.values["mode"] == mode), key=lambda p: p.score).run_id
            for mode in ("original", "adaptive")}
    others = sorted(p.run_id for p in points if p.run_id not in best)
    sizes = {p.run_id: folder_size(kept / p.run_id) for p in points}

    assert main(["runs", "clean", "--runs", str(kept), "--keep-best"]) == 0  # a dry run
    out = capsys.readouterr().out
    listed = sorted(line.split()[2] for line in out.splitlines() if line.startswith("would free  "))
    assert listed == others and "nothing removed (add --yes to free it)" in out
    assert {p.run_id: folder_size(kept / p.run_id) for p in points} == sizes  # nothing removed

    assert main(["runs", "clean", "--runs", str(kept), "--keep-best", "--yes"]) == 0
    out = capsys.readouterr().out
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("freed  ")) == others
    for run_id in others:
        assert checkpoints(kept / run_id) == [] and not (kept / run_id / "model").exists()
        assert (kept / run_id / "events.jsonl").exists()
    for run_id in best:
        assert checkpoints(kept / run_id) == ["checkpoint"] and (kept / run_id / "model").is_dir()
    assert checkpoints(kept / "paused") == ["checkpoint"]  # it may still be resumed: never listed
    assert {p.status for p in sweep_status("k", kept).points} == {"completed"}  # scores stay

    assert main(["runs", "clean", "--runs", str(kept), "--what", "models", "--yes"]) == 0
    assert all(not (kept / run_id / "model").exists() for run_id in best)
    assert all(checkpoints(kept / run_id) == ["checkpoint"] for run_id in best)


def test_clean_rules_by_age_and_sweep(kept):
    assert plan_clean(kept, older_than=parse_age("1h")) == []  # everything ended just now
    assert len(plan_clean(kept, older_than=parse_age("1h"), now=time.time() + 7200)) == 4
    assert {f.run_id for f in plan_clean(kept, sweep="k")} == {p.run_id for p in sweep_status("k", kept).points}
    with pytest.raises(ConfigError, match="no sweep 'nope'"):
        plan_clean(kept, sweep="nope")
    with pytest.raises(ConfigError, match="give a number and a unit"):
        parse_age("7 days")
