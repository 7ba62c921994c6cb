"""Two CPU processes under torchrun (gloo) for the distributed tests (tests/test_distributed.py,
tests/test_strategies_distributed.py): a worker script of tests/ run on both ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dashboard_server import free_port


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
