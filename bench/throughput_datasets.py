"""adaft padded against adaft padding-free on several datasets: ``bench/throughput.py --datasets a,b,c``.

Per dataset, :func:`run_datasets` records the training split's lengths (mean ± std) and
:func:`pad_fraction`, the share of pad positions in one epoch of random padded batches, then times
adaft padded and padding-free, interleaved over the repeats (token classification on WikiGold and
WNUT-17, pair classification on SNLI). A run that fell back to padded batches (its model cannot take
them) says "padding-free: fallback (padded)" in its row instead of ratios. :func:`datasets_table` is
the table, also the README section's per-dataset part.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

from throughput_readme import write_readme
from throughput_runs import FALLBACK, base_config, machine_meta, measure, summarize

from adaft_core.tasks.base import get_task

HERE = Path(__file__).resolve().parent


def pad_fraction(lengths: list[int], batch_size: int, seed: int = 0) -> float:
    """Share of pad positions in uniformly random batches (one shuffled epoch), padded to their longest."""
    import random

    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    real = padded = 0
    for i in range(0, len(order), batch_size):
        batch = [lengths[j] for j in order[i:i + batch_size]]
        real, padded = real + sum(batch), padded + len(batch) * max(batch)
    return 1 - real / padded


def run_datasets(args) -> None:
    """adaft padded vs adaft padding-free on each dataset, interleaved; the per-dataset table."""
    rows, raw = [], {}
    load_before = os.getloadavg()
    for name in args.datasets.split(","):
        cfg = base_config(name, model=args.model, train_fraction=args.train_fraction, val_fraction=args.val_fraction)
        task = get_task(cfg.task)(cfg)
        lengths = [len(f["input_ids"]) for f in task.features["train"]]
        results = measure(cfg, task, ["adaft", "adaft-padfree"], args.repeats, cfg.output_dir, label=f"{name} ")
        s = summarize(results, len(lengths), len(task.features["validation"]))
        raw[name] = results
        rows.append({"dataset": name, "task": task.name, "n_train": len(lengths),
                     "n_eval": len(task.features["validation"]),
                     "mean_len": statistics.mean(lengths), "std_len": statistics.pstdev(lengths),
                     "pad_fraction": pad_fraction(lengths, cfg.batch_size, cfg.seed),
                     **{f"{k}_{v}": s[v][f"{k}_sps"] for v in ("adaft", "adaft-padfree") for k in ("train", "eval")},
                     "fallback": s["adaft-padfree"]["fallback"]})
    meta = {**machine_meta(args.repeats, load_before),
            "command": " ".join(["python bench/throughput.py", *sys.argv[1:]])}
    text = datasets_table(rows, meta)
    print(text)
    if not args.no_readme:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "throughput_datasets.json").write_text(
            json.dumps({"meta": meta, "rows": rows, "raw": raw}, indent=1))
        write_readme(datasets=text)


def datasets_table(rows: list[dict], meta: dict) -> str:
    """The per-dataset table; a row that fell back shows FALLBACK instead of padding-free speed and ratios."""
    lines = ["### Padding-free gain per dataset (adaft, random batches of 16, one epoch)", "",
             f"Command: `{meta['command']}`; {meta['machine']}, torch {meta['torch']}, {meta['threads']} threads, "
             f"{meta['repeats']} repeats (median); {meta['date']}, load average {meta['load']}. Lengths in tokens "
             "(special tokens included) of the training features; pad fraction: pad positions in one epoch "
             "of random batches padded to their longest.", "",
             "| dataset | task | train / dev | length mean ± std | pad fraction | padded train samples/s | "
             "padding-free train samples/s | train ratio | eval ratio |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["fallback"]:
            free, ratios = FALLBACK, ["–", "–"]  # padded both times: no ratio to show
        else:
            free = f"{r['train_adaft-padfree']:.1f}"
            ratios = [f"{r['train_adaft-padfree'] / r['train_adaft']:.2f}",
                      f"{r['eval_adaft-padfree'] / r['eval_adaft']:.2f}"]
        padded = "–" if r.get("train_adaft") is None else f"{r['train_adaft']:.1f}"  # None: not timed
        lines.append(f"| {r['dataset']} | {r['task']} | {r['n_train']} / {r['n_eval']} | {r['mean_len']:.1f} ± "
                     f"{r['std_len']:.1f} | {100 * r['pad_fraction']:.0f} % | {padded} | {free} | "
                     f"{ratios[0]} | {ratios[1]} |")
    lines += [f"\n{r['dataset']}: {FALLBACK} — {r['fallback']}" for r in rows if r["fallback"]]
    return "\n".join(lines)
