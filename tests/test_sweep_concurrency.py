"""One runs folder, several writers: two sweeps of one name at once (one is refused; no point is
trained twice, no manifest lost), and a run started elsewhere (the dashboard's Start) under a
sweep point's name (left alone; the point fails, saying why)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from adaft_core import train
from adaft_core.cli import main
from adaft_core.store.runs import read_events
from adaft_core.sweep import make_grid, run_sweep, sweep_status

REPO = Path(__file__).resolve().parents[1]


def flags(model, data, runs, name) -> list[str]:
    return ["sweep", "--mode", "original,adaptive", "--seed", "1,2", "--max-epochs", "1", "--batch-size", "16",
            "--max-seq-length", "32", "--lr", "1e-3", "--model", model, "--data", data, "--name", name,
            "--output-dir", str(runs), "--no-progress"]


def trained_once(runs: Path, name: str) -> None:
    """Every point of sweep ``name`` completed, each trained by exactly one run, none set aside."""
    manifest = sweep_status(name, runs)
    assert len(manifest.points) == 4 and {p.status for p in manifest.points} == {"completed"}
    for p in manifest.points:
        assert [e["event"] for e in read_events(runs / p.run_id)].count("run_started") == 1, p.run_id
    assert not list(runs.glob("*.failed-*"))


def test_a_second_sweep_of_the_same_name_is_refused_while_the_first_runs(tiny_model_dir, conll_dir, tmp_path,
                                                                          capsys):
    runs = tmp_path / "runs"
    holder = subprocess.Popen(  # another process running sweep "s" (holding its lock)
        [sys.executable, "-c", "import sys; from adaft_core.sweep.manifest import sweep_lock\n"
         "with sweep_lock(sys.argv[1], 's'):\n    print('locked', flush=True); sys.stdin.read()", str(runs)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(flags(tiny_model_dir, conll_dir, runs, "s")) == 2
        err = capsys.readouterr().err
        assert f"sweep 's' is already running in {runs} (process {holder.pid} on " in err and "Traceback" not in err
        assert sorted(p.name for p in runs.iterdir()) == ["sweeps"]  # no point started
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed sweep: its lock goes with it
        holder.wait()
        holder.stdout.close()
        holder.stdin.close()
    assert main(flags(tiny_model_dir, conll_dir, runs, "s")) == 0
    trained_once(runs, "s")


def test_two_sweeps_of_one_name_started_together_train_each_point_once(tiny_model_dir, conll_dir, tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "adaft_core.cli", *flags(tiny_model_dir, conll_dir, runs, "twin")]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in outs)
    assert codes in ([0, 0], [0, 2]), outs  # both 0: the second began after the first had finished
    for code, _, err in outs:
        if code == 2:
            assert "sweep 'twin' is already running" in err and "Traceback" not in err
    trained_once(runs, "twin")
    assert json.loads((runs / "sweeps" / "twin" / "sweep.json").read_text())["name"] == "twin"


def grid(model, data, name):
    settings = {"model": model, "data": data, "max_epochs": 1, "batch_size": 16, "max_seq_length": 32, "lr": 1e-3}
    return make_grid({"mode": ["original"], "seed": [1, 2]}, settings, name=name)


def elsewhere(model, data, runs, name, **kw) -> dict:
    """A run started outside the sweep (the dashboard's Start) under ``name``, with another lr."""
    return dict(model=model, data=data, output_dir=str(runs), run_name=name, max_epochs=1, batch_size=16,
                max_seq_length=32, lr=5e-3, seed=1, mode="original", **kw)


def test_a_finished_run_under_a_points_name_is_not_taken_for_the_point(tiny_model_dir, conll_dir, tmp_path):
    runs = tmp_path / "runs"
    other = train(elsewhere(tiny_model_dir, conll_dir, runs, "d-original-s1"))
    before = (other.run_dir / "events.jsonl").read_bytes()
    for retry in (False, True):
        taken, ok = run_sweep(grid(tiny_model_dir, conll_dir, "d"), output_dir=runs, retry_failed=retry).points
        assert taken.status == "failed" and "holds another run (lr 0.005, this point's 0.001)" in taken.reason
        assert taken.score is None and ok.status == "completed"
        assert (other.run_dir / "events.jsonl").read_bytes() == before  # left alone, not set aside
        assert not list(runs.glob("*.failed-*"))
    assert [e["event"] for e in read_events(runs / ok.run_id)].count("run_started") == 1


def test_a_run_started_under_a_points_name_while_the_sweep_runs(tiny_model_dir, conll_dir, tmp_path):
    runs = tmp_path / "runs"
    started, release = threading.Event(), threading.Event()

    class HoldAtStep1:  # the other run is running (its process alive) while the sweep reaches its point
        def handle(self, event):
            if event.event == "step" and event["step"] == 1:
                started.set()
                release.wait(timeout=300)

    other = threading.Thread(target=train, args=(elsewhere(tiny_model_dir, conll_dir, runs, "r-original-s1"),),
                             kwargs={"sinks": [HoldAtStep1()]})
    other.start()
    try:
        assert started.wait(timeout=300)
        taken, ok = run_sweep(grid(tiny_model_dir, conll_dir, "r"), output_dir=runs).points
    finally:
        release.set()
        other.join(timeout=300)
    assert taken.status == "failed" and "holds another run" in taken.reason and ok.status == "completed"
    events = read_events(runs / "r-original-s1")
    assert [e["event"] for e in events].count("run_started") == 1 and events[-1]["status"] == "completed"
    again = sweep_status("r", runs).points[0]  # the other run, now completed, is still not the point
    assert again.status == "failed" and again.score is None
