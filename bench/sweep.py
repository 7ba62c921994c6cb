"""Points per hour of one small sweep: ``sequential`` (one process, all cores' threads) against
``local --workers 2`` (two processes, one thread each), in the same run on the same grid.

The grid: the shipped MiniLM cut to 2 layers (``minilm-2l``), 5 % of WikiGold, original mode for
2 epochs, seeds 1..4 (4 points) — small enough to measure in a few minutes, the same kind of work
as a real sweep point (load model and data, train, evaluate, write the run log). Each layout runs
``--repeats`` times into a fresh runs folder; wall time covers the whole ``run_sweep`` call.

Quick:  python bench/sweep.py --repeats 1 --out /tmp/sweep.json
Full:   python bench/sweep.py            (writes bench/results/sweep.json and bench/README.md's section)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from readme_section import replace_section  # noqa: E402  (bench/ is on sys.path)


def one(layout: str, seeds: int, fraction: float) -> float:
    import torch

    from adaft_core.sweep import make_grid, run_sweep

    settings = {"model": "minilm-2l", "train_fraction": fraction, "val_fraction": 0.2, "mode": "original",
                "max_epochs": 2, "save_model": False, "save_checkpoints": False, "max_seq_length": 64}
    grid = make_grid({"seed": list(range(1, seeds + 1))}, settings, name="bench")
    with tempfile.TemporaryDirectory() as runs:
        torch.set_num_threads(os.cpu_count() or 1)
        t0 = time.perf_counter()
        if layout == "sequential":
            manifest = run_sweep(grid, output_dir=runs)
        else:
            manifest = run_sweep(grid, output_dir=runs, executor="local", workers=2)
        wall = time.perf_counter() - t0
    bad = [p.run_id for p in manifest.points if p.status != "completed"]
    if bad:
        raise SystemExit(f"points did not complete: {bad}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--train-fraction", type=float, default=0.05)
    ap.add_argument("--out", default=str(HERE / "results" / "sweep.json"))
    args = ap.parse_args()
    walls = {"sequential": [], "local-2": []}
    for _ in range(args.repeats):  # interleaved, so both layouts see the same machine
        for layout in walls:
            walls[layout].append(one(layout, args.seeds, args.train_fraction))
            print(f"{layout}: {walls[layout][-1]:.1f} s for {args.seeds} points", flush=True)
    pph = {k: 3600 * args.seeds / statistics.median(v) for k, v in walls.items()}
    result = {"machine": f"{platform.machine()} {os.cpu_count()} cores", "points": args.seeds,
              "train_fraction": args.train_fraction, "walls": walls, "points_per_hour": pph}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    ratio = pph["local-2"] / pph["sequential"]
    body = (f"## Sweep layouts: points per hour\n\nCommand: `python bench/sweep.py --repeats {args.repeats}`\n\n"
            f"Machine: {result['machine']}; {args.seeds} points (minilm-2l, {args.train_fraction:g} of WikiGold, "
            "original, 2 epochs), medians of the interleaved repeats.\n\n"
            "| layout | wall time per sweep (s) | points per hour |\n|---|---|---|\n"
            + "".join(f"| {k} | {statistics.median(v):.1f} | {pph[k]:.0f} |\n" for k, v in walls.items())
            + f"\nlocal --workers 2 / sequential: **{ratio:.2f}×**.\n")
    if args.out == str(HERE / "results" / "sweep.json"):
        replace_section(HERE / "README.md", "sweep", body)
    print(body)


if __name__ == "__main__":
    main()
