"""Two CPU processes (gloo) with dps-dense: both ranks select identical masks at every selection."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from test_distributed import free_port

from adaft_core.runs import read_events
from adaft_core.strategies.masks import load_masks


def test_two_process_dps_dense_identical_masks(tiny_model_dir, conll_dir, tmp_path):
    out, reports = tmp_path / "runs", tmp_path / "reports"
    reports.mkdir()
    worker = Path(__file__).with_name("dist_strategy_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
           "127.0.0.1", "--master_port", str(free_port()), str(worker), tiny_model_dir, conll_dir,
           str(out), str(reports)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (json.loads((reports / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["status"] == r1["status"] == "completed" and r0["steps"] == r1["steps"] == 8
    assert r0["selections"] == r1["selections"] == 4  # S = 1: Stage II at steps 2, 4, 6, 8
    for step in (2, 4, 6, 8):
        a = load_masks(reports / f"rank0-step{step}.safetensors").masks
        b = load_masks(reports / f"rank1-step{step}.safetensors").masks
        assert set(a) == set(b) and a
        assert all(torch.equal(a[name], b[name]) for name in a), f"masks differ at step {step}"
    # only rank 0 wrote the run log and the mask file, and its log holds the mask events
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert r1["run_dir"] is None and (run_dir / "masks" / "latest.safetensors").exists()
    assert [e["step"] for e in read_events(run_dir) if e["event"] == "mask"] == [2, 4, 6, 8]
