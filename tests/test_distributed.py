"""Two CPU processes (gloo) on a tiny run: rank 0 alone writes, both ranks stop together."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from adaft_core.store.runs import read_events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_two_processes(worker: str, model: str, data: str, tmp_path: Path) -> tuple[Path, Path, dict, dict]:
    """``torchrun --nproc_per_node 2 tests/WORKER model data runs reports`` on gloo; returns
    (runs folder, reports folder, rank 0's report, rank 1's report)."""
    out, reports = tmp_path / "runs", tmp_path / "reports"
    reports.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
           "127.0.0.1", "--master_port", str(free_port()), str(Path(__file__).with_name(worker)), model, data,
           str(out), str(reports)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (json.loads((reports / f"rank{i}.json").read_text()) for i in (0, 1))
    return out, reports, r0, r1


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
