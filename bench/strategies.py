"""Per-step time and peak memory of every update strategy against vanilla (issue 3, acceptance 5).

Each strategy fine-tunes the shipped MiniLM on WikiGold's training split (batch 16, max length 128,
AdamW, clipping 1.0, fp32 on the CPU / the GPU's default precision) for ``--warmup`` + ``--steps``
optimizer steps, driven exactly like the engine drives its hooks (before_step, forward, backward,
after_backward, clip, after_clip, optimizer step, one host sync for the loss). Batches are
prepared on the device before timing, so the numbers are the strategy's cost, not data loading.
DPS sees total_steps = 3 epochs (the paper's recipe) so its stages turn over inside the measured
steps (S = int(0.05 · 3 · steps_per_epoch)); selection steps are part of the mean.

Each (repeat, strategy) runs in its own subprocess, strategies interleaved inside each repeat so
machine drift hits all alike; peak memory is the subprocess's peak RSS on the CPU or
``torch.cuda.max_memory_allocated`` on a GPU. ChildTuning-D's Fisher pass (one extra
forward+backward epoch) is reported separately as a one-time cost.

Targets: DPS-Dense ≤ 10 %, DPS-Mix ≤ 25 %, ChildTuning-F ≤ 15 % slower per step than vanilla.

Run:  python bench/strategies.py --steps 100 --warmup 10 --repeats 3
      (writes bench/results/strategies.json and the table in bench/README.md)
Smoke: python bench/strategies.py --steps 3 --warmup 1 --repeats 1 --fisher-batches 2 --no-readme
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from readme_section import replace_section  # noqa: E402
sys.path.insert(0, str(HERE.parent))

STRATEGIES = ("vanilla", "dps-dense", "dps-mix", "childtuning-d", "childtuning-f")
TARGETS = {"dps-dense": 10.0, "dps-mix": 25.0, "childtuning-f": 15.0}  # max % slower than vanilla


def child(args) -> dict:
    """One strategy in this process: time ``args.steps`` steps after ``args.warmup``."""
    import torch
    from torch.utils.data import DataLoader

    from adaft_core import TrainConfig
    from adaft_core.run.setup import make_optimizer
    from adaft_core.strategies import make_strategy
    from adaft_core.tasks.base import get_task

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    cfg = TrainConfig(mode="original", max_epochs=3, batch_size=args.batch_size, seed=42,
                      output_dir=tempfile.mkdtemp(prefix="adaft-bench-")).validated()
    task = get_task("ner")(cfg)
    torch.manual_seed(42)
    model = task.load_model().to(device)
    model.train()
    optimizer = make_optimizer(model, cfg)
    loader = DataLoader(task.features["train"], batch_size=cfg.batch_size, shuffle=True, collate_fn=task.collator,
                        generator=torch.Generator().manual_seed(42))
    steps_per_epoch = len(loader)
    n = args.warmup + args.steps
    batches, it = [], iter(loader)
    while len(batches) < n:
        try:
            batches.append({k: v.to(device) for k, v in next(it).items()})
        except StopIteration:
            it = iter(loader)
    fisher_loader = [{k: v.to(device) for k, v in b.items()} for b in loader] \
        if args.name == "childtuning-d" else None
    options = {"fisher_batches": args.fisher_batches} if args.name == "childtuning-d" and args.fisher_batches else {}
    strategy = make_strategy(args.name, options)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    strategy.setup(model, steps_per_epoch=steps_per_epoch, total_steps=3 * steps_per_epoch,
                   train_loader=fisher_loader, seed=42)
    strategy.on_train_start(run_dir=None)
    sync()
    setup_s = time.perf_counter() - t0
    times = []
    for i, batch in enumerate(batches):
        step = i + 1
        sync()
        t = time.perf_counter()
        strategy.before_step(step)
        loss = model(**batch).loss
        loss.backward()
        strategy.after_backward(step)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        strategy.after_clip(step)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss.detach())  # the engine's one host sync per step
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    stage = getattr(strategy, "S", None)
    return {"strategy": args.name, "device": str(device), "median_ms": 1e3 * statistics.median(times),
            "mean_ms": 1e3 * statistics.fmean(times), "peak_mb": peak / 2**20, "setup_s": setup_s,
            "steps": len(times), "stage_steps": stage, "steps_per_epoch": steps_per_epoch,
            "threads": torch.get_num_threads()}


def run_child(name: str, args) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, __file__, "--child", name, "--json", out, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--batch-size", str(args.batch_size), "--threads", str(args.threads)]
    if args.fisher_batches:
        cmd += ["--fisher-batches", str(args.fisher_batches)]
    if args.cpu:
        cmd.append("--cpu")
    subprocess.run(cmd, check=True)
    result = json.loads(Path(out).read_text())
    os.unlink(out)
    return result


def summarize(results: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for name, runs in results.items():
        keys = ("median_ms", "mean_ms", "peak_mb", "setup_s")
        out[name] = {key: statistics.median(r[key] for r in runs) for key in keys}
        out[name].update({k: runs[0][k] for k in ("device", "stage_steps", "steps_per_epoch", "threads")})
    return out


def table(s: dict[str, dict]) -> str:
    base = s.get("vanilla")
    lines = ["| strategy | ms/step (median) | ms/step (mean) | vs vanilla | target | peak memory (MB) | "
             "Δ memory vs vanilla (MB) | one-time setup (s) |", "|---|---|---|---|---|---|---|---|"]
    for name, r in s.items():
        rel = 100 * (r["median_ms"] / base["median_ms"] - 1) if base else float("nan")
        target = TARGETS.get(name)
        verdict = "-" if target is None else (f"≤ {target:.0f} % ({'met' if rel <= target else 'missed'})")
        dmem = r["peak_mb"] - base["peak_mb"] if base else float("nan")
        lines.append(f"| {name} | {r['median_ms']:.1f} | {r['mean_ms']:.1f} | {rel:+.1f} % | {verdict} | "
                     f"{r['peak_mb']:.0f} | {dmem:+.0f} | {r['setup_s']:.2f} |")
    any_run = next(iter(s.values()))
    lines += ["", f"Device {any_run['device']} ({any_run['threads']} threads), steps per epoch "
              f"{any_run['steps_per_epoch']}, DPS stage length S = {s.get('dps-dense', {}).get('stage_steps', '-')}; "
              "ChildTuning-D's setup is its Fisher pass."]
    return "\n".join(lines)


def write_readme(text: str, command: str, meta: str) -> None:
    replace_section(HERE / "README.md", "strategies",
                    f"## Update strategies: per-step time and memory against vanilla\n\n"
                    f"Command: `{command}` ({meta})\n\n{text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100, help="measured optimizer steps per run")
    ap.add_argument("--warmup", type=int, default=10, help="unmeasured steps first")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--fisher-batches", type=int, default=None, help="limit ChildTuning-D's Fisher pass")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--cpu", action="store_true", help="stay on the CPU even with a GPU")
    ap.add_argument("--no-readme", action="store_true", help="print only: no README table, no results file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.name = args.child
        Path(args.json).write_text(json.dumps(child(args)))
        return
    names = args.strategies.split(",")
    results: dict[str, list[dict]] = {n: [] for n in names}
    for rep in range(args.repeats):
        for name in names:
            r = run_child(name, args)
            results[name].append(r)
            print(f"repeat {rep} {name}: {r['median_ms']:.1f} ms/step median, {r['mean_ms']:.1f} mean, "
                  f"peak {r['peak_mb']:.0f} MB, setup {r['setup_s']:.2f}s", flush=True)
    s = summarize(results)
    text = table(s)
    print(text)
    import torch

    if args.no_readme:
        return
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "strategies.json").write_text(json.dumps(
        {"summary": s, "runs": results, "args": vars(args), "torch": torch.__version__,
         "platform": platform.platform(), "time": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1))
    command = "python bench/strategies.py " + " ".join(sys.argv[1:])
    meta = f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}, {args.repeats} repeats × {args.steps} steps"
    write_readme(text, command, meta)


if __name__ == "__main__":
    main()
