"""Two CPU processes (gloo) on a tiny run: rank 0 alone writes, both ranks stop together."""

from distributed_runs import run_two_processes

from adaft_core.store.runs import read_events


def test_two_process_run(tiny_model_dir, conll_dir, tmp_path):
    out, _, r0, r1 = run_two_processes("dist_worker.py", tiny_model_dir, conll_dir, tmp_path)
    # only rank 0 writes the run log
    run_dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(run_dirs) == 1 and r0["run_dir"] == str(run_dirs[0]) and r1["run_dir"] is None
    # both ranks made the same decisions and stopped after the same epoch
    assert (r0["epochs"], r0["steps"], r0["status"]) == (r1["epochs"], r1["steps"], r1["status"])
    assert r0["val_loss"] == r1["val_loss"]
    events = read_events(run_dirs[0])
    assert events[0]["num_processes"] == 2 and events[-1]["event"] == "run_ended"
    assert events[-1]["epochs"] == r0["epochs"]
    # 48 sentences / (6 per rank x 2 ranks) = 4 steps per epoch
    assert events[0]["steps_per_epoch"] == 4
