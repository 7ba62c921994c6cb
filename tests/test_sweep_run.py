"""Sweeps that train: executors agree, a re-run starts nothing, a failing point does not stop the sweep."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tiny import write_shadowing_modules

from adaft_core.cli import main
from adaft_core.sweep import make_grid, report, run_sweep, sweep_status


def _grid(tiny_model_dir, conll_dir, name):
    settings = {"model": tiny_model_dir, "data": conll_dir, "max_epochs": 2, "batch_size": 16,
                "max_seq_length": 32, "save_model": False, "save_checkpoints": False, "lr": 1e-3}
    return make_grid({"mode": ["original", "adaptive"], "seed": [1, 2]}, settings, name=name)


def _scores(manifest):
    return {p.run_id.split("-", 1)[1]: (p.status, p.score, p.epochs) for p in manifest.points}


@pytest.fixture(scope="module")
def sequential(tiny_model_dir, conll_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("sweep-seq")
    manifest = run_sweep(_grid(tiny_model_dir, conll_dir, "g"), output_dir=runs)
    return runs, manifest


def test_sequential_sweep_runs_every_point_and_reports(sequential):
    runs, manifest = sequential
    assert [p.status for p in manifest.points] == ["completed"] * 4
    assert all(p.score is not None and p.epochs == 2 for p in manifest.points)
    stored = json.loads((runs / "sweeps" / "g" / "sweep.json").read_text())
    assert [p["run_id"] for p in stored["points"]] == ["g-original-s1", "g-original-s2", "g-adaptive-s1",
                                                       "g-adaptive-s2"]
    table = report("g", runs)
    assert list(table["mode"]) == ["original", "adaptive"] and list(table["runs"]) == [2, 2]


def test_rerunning_the_same_sweep_starts_nothing(sequential, tiny_model_dir, conll_dir, monkeypatch):
    runs, manifest = sequential
    import adaft_core

    def boom(*a, **k):
        raise AssertionError("a finished point was started again")

    monkeypatch.setattr(adaft_core, "train", boom)
    again = run_sweep(_grid(tiny_model_dir, conll_dir, "g"), output_dir=runs)
    assert _scores(again) == _scores(manifest)


@pytest.mark.slow  # worker processes training side by side
def test_local_workers_give_the_same_metrics(sequential, tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    _, manifest = sequential
    monkeypatch.chdir(write_shadowing_modules(tmp_path / "work"))  # issue 18: the working folder is never imported
    local = run_sweep(_grid(tiny_model_dir, conll_dir, "g"), output_dir=tmp_path, executor="local", workers=2)
    assert _scores(local) == _scores(manifest)


@pytest.mark.slow  # a Ray cluster's start: a third of this file's time, beside the distributed tests
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install 'adaft[ray]')")
def test_ray_gives_the_same_metrics(sequential, tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    import ray

    _, manifest = sequential
    monkeypatch.chdir(write_shadowing_modules(tmp_path / "work"))  # Ray puts the driver's folder on workers' paths
    monkeypatch.setenv("RAY_raylet_start_wait_time_s", "180")  # a loaded 2-core machine starts Ray slowly
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        on_ray = run_sweep(_grid(tiny_model_dir, conll_dir, "g"), output_dir=tmp_path, executor="ray")
    finally:
        ray.shutdown()
    assert _scores(on_ray) == _scores(manifest)


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tiny_model_dir, conll_dir, tmp_path, capsys):
    code = main(["sweep", "--data", f"{conll_dir},{tmp_path / 'no-such-folder'}", "--model", tiny_model_dir,
                 "--max-epochs", "1", "--mode", "original", "--no-save-model", "--no-checkpoints",
                 "--name", "f", "--output-dir", str(tmp_path / "runs"), "--no-progress"])
    assert code == 1  # not every point finished
    manifest = sweep_status("f", tmp_path / "runs")
    ok, bad = manifest.points
    assert ok.status == "completed" and ok.score is not None
    assert bad.status == "failed" and "no-such-folder" in bad.reason
    out = capsys.readouterr().out
    assert "[2/2]" in out and "failed" in out and (tmp_path / "runs" / "sweeps" / "f" / "figure.html").exists()


def test_cli_bad_input_is_one_message(tmp_path, capsys, monkeypatch):
    assert main(["sweep", "--output-dir", str(tmp_path)]) == 2
    assert "grid is empty" in capsys.readouterr().err
    assert main(["sweep", "--seed", "1,x", "--output-dir", str(tmp_path)]) == 2
    assert "expected a whole number" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert main(["sweep", "--seed", "1,2", "--executor", "ray", "--output-dir", str(tmp_path)]) == 2
    assert "pip install 'adaft[ray]'" in capsys.readouterr().err
    monkeypatch.undo()
    bad = tmp_path / "g.toml"
    bad.write_text("[grid]\nseed = [1,\n")
    assert main(["sweep", str(bad), "--output-dir", str(tmp_path)]) == 2
    assert "g.toml:" in capsys.readouterr().err
    assert main(["sweep", "report", "nothing", "--output-dir", str(tmp_path)]) == 2
    assert "no sweep 'nothing'" in capsys.readouterr().err
