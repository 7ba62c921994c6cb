"""Two CPU processes (gloo) with dps-dense: both ranks select identical masks at every selection."""

import torch
from test_distributed import run_two_processes

from adaft_core.runs import read_events
from adaft_core.strategies.masks import load_masks


def test_two_process_dps_dense_identical_masks(tiny_model_dir, conll_dir, tmp_path):
    out, reports, r0, r1 = run_two_processes("dist_strategy_worker.py", tiny_model_dir, conll_dir, tmp_path)
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
