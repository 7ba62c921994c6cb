"""adaft's engine against Hugging Face ``Trainer`` on the same fine-tuning, in one process.

Both fine-tune the shipped MiniLM on the WikiGold training split for one epoch (batch 16, AdamW,
lr 2e-5 with the same linear decay, weight decay 0.01 off biases/LayerNorm, clipping 1.0, fp32 on
the CPU, the same tokenised features, max length 128), then evaluate once on the dev split with
seqeval F1 (Trainer through ``compute_metrics`` with the usual token-classification recipe). Both
use an evaluation batch of 64. Variants, interleaved inside each repeat so drift hits all alike:

- ``adaft``           uniformly random padded batches, the JSONL run log on (the default before
                      issue 20; every ``adaft*`` variant but ``adaft-padfree`` runs padded)
- ``adaft-padfree``   the same random batches, padding-free (``padding_free=True``, the default now)
- ``trainer``         ``Trainer`` + ``DataCollatorForTokenClassification``, random batches
- ``adaft-grouped``   adaft's length-aware batching (``length_grouping=True``)
- ``trainer-grouped`` ``train_sampling_strategy="group_by_length"``
- ``trainer-padfree`` Trainer's padding-free path: ``DataCollatorWithFlattening`` (packed rows,
                      position ids restarting) with SDPA, the attention that takes it on a CPU
                      (transformers builds a block-diagonal mask from the position ids)
- ``adaft-nosink``    adaft with the run log replaced by a no-op sink (bench-only patch)
- ``adaft-live``      adaft with the run log + a live ``QueueSink`` drained by a thread
- ``*-unfused``       (``adaft-padfree-unfused``, ``trainer-unfused``; by ``--variants`` only) AdamW
                      without its fused kernel (``bench/gpu_checks.py`` runs them)

Each run also measures this machine's matmul ceiling once (:func:`matmul_ceiling`: fp32 GEMMs of
the model's shapes, ``(T × h) @ (h × f)`` and ``(T × h) @ (h × h)``, best of a few) and reports, per
variant, real (non-pad) tokens/s and the fraction of that ceiling they reach at
:func:`forward_flops_per_token` FLOPs per real token (training 3× that: forward + backward, 6·N;
evaluation 1×: 2·N).

Run:  python bench/throughput.py --repeats 3            (writes bench/results/throughput.json
      and the table in bench/README.md)

Options: ``--data NAME|FOLDER`` runs the variants on another dataset (``wikigold`` the default;
``wnut17`` and ``snli`` are found with ``adaft_core.studies.datasets.dataset_source``, i.e. in
``../shared/datasets``; a folder named ``snli`` runs the pair-classification task; ``trainer-padfree``
is skipped there: Trainer's flattening collator is for per-token labels). Its results go to ``bench/results/throughput-NAME.json``, not the README.
``--no-readme`` prints only (no README, no ``bench/results`` file): for smoke tests.
``--datasets wikigold,wnut17,snli`` instead runs adaft padded vs adaft padding-free per dataset
(lengths, pad fraction, samples/s; ``bench/results/throughput_datasets.json`` and its own part of
the README section); a run whose model fell back to padded batches says "padding-free: fallback
(padded)" in its row instead of ratios.
``--readme-only`` rebuilds the README section from its saved parts and ``bench/results/gpu_checks.md``
(``bench/gpu_checks.py``'s results) without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from adaft_core.tasks.base import get_task  # noqa: E402
# the pieces, one module each (bench/ is on sys.path)
from matmul_ceiling import ceiling_meta, ceiling_table  # noqa: E402
from throughput_datasets import run_datasets  # noqa: E402
from throughput_readme import write_readme  # noqa: E402
from throughput_runs import FALLBACK, base_config, machine_meta, measure, real_tokens, summarize  # noqa: E402

VARIANTS = ("adaft", "trainer", "adaft-padfree", "trainer-padfree", "adaft-grouped", "trainer-grouped",
            "adaft-nosink", "adaft-live")


def table(s: dict, meta: dict) -> str:
    def ratio(a, b, key):
        return s[a][key] / s[b][key]

    metric = meta.get("metric", "F1")
    lines = [f"Machine: {meta['machine']}; torch {meta['torch']}, transformers {meta['transformers']}, "
             f"{meta['threads']} threads; data {meta.get('data', 'wikigold')}: {meta['n_train']} training / "
             f"{meta['n_eval']} dev features, "
             f"{meta['repeats']} repeats (median, min–max); {meta.get('date', '')}, load average (1, 5, 15 min) "
             f"{meta.get('load', 'not recorded')}.", "",
             f"| variant | train samples/s | eval samples/s | peak RSS (MB) | dev {metric} |", "|---|---|---|---|---|"]
    for v in s:
        r = s[v]
        lines.append(f"| {v}{' (' + FALLBACK + ')' if r.get('fallback') else ''} | "
                     f"{r['train_sps']:.1f} ({r['train_spread'][0]:.1f}–{r['train_spread'][1]:.1f}) | "
                     f"{r['eval_sps']:.1f} ({r['eval_spread'][0]:.1f}–{r['eval_spread'][1]:.1f}) | "
                     f"{r['peak_mb']:.0f} | {r['f1']:.3f} |")
    lines += ["", "| comparison | train ratio | eval ratio |", "|---|---|---|"]
    for name, a, b in COMPARISONS:
        if a in s and b in s:
            fell = s[a].get("fallback") or s[b].get("fallback")
            cells = ([FALLBACK] * 2 if fell else [f"{ratio(a, b, k):.2f}" for k in ("train_sps", "eval_sps")])
            lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    sinks = [(name, v) for name, v in (("JSONL run log", "adaft"), ("JSONL + live queue", "adaft-live"))
             if v in s and "adaft-nosink" in s]
    if sinks:
        lines += ["", "| sinks | training time vs no sink |", "|---|---|"]
        base = s["adaft-nosink"]["train_s"]
        lines += [f"| {name} | {100 * (s[v]['train_s'] / base - 1):+.1f} % |" for name, v in sinks]
    if "ceiling" in meta:
        lines += ["", ceiling_table(s, meta)]
    lines += [f"\n{v}: {FALLBACK} — {r['fallback']}" for v, r in s.items() if r.get("fallback")]
    lines += [f"\n{note}" for note in meta.get("notes", [])]
    return "\n".join(lines)


COMPARISONS = (("adaft / Trainer, random batches (both padded)", "adaft", "trainer"),
               ("adaft padding-free / Trainer, random batches", "adaft-padfree", "trainer"),
               ("adaft padding-free / Trainer padding-free (DataCollatorWithFlattening)", "adaft-padfree",
                "trainer-padfree"),
               ("adaft padding-free / Trainer group_by_length", "adaft-padfree", "trainer-grouped"),
               ("adaft padding-free / adaft padded, random batches", "adaft-padfree", "adaft"),
               ("adaft length-aware / Trainer group_by_length", "adaft-grouped", "trainer-grouped"),
               ("adaft padding-free, fused AdamW / unfused", "adaft-padfree", "adaft-padfree-unfused"),
               ("Trainer, fused AdamW / unfused", "trainer", "trainer-unfused"))


def run_main(args) -> None:
    variants = args.variants.split(",")
    cfg = base_config(args.data, model=args.model, train_fraction=args.train_fraction, val_fraction=args.val_fraction)
    tmp = cfg.output_dir
    task = get_task(cfg.task)(cfg)
    notes = []
    if task.name != "ner" and "trainer-padfree" in variants:
        variants.remove("trainer-padfree")
        notes.append(f"trainer-padfree skipped: task {task.name!r} has one label per sentence "
                     "(DataCollatorWithFlattening needs one per token).")
    n_train, n_eval = len(task.features["train"]), len(task.features["validation"])
    tokens_train, tokens_eval = real_tokens(task.features["train"]), real_tokens(task.features["validation"])
    load_before = os.getloadavg()
    meta = ceiling_meta(task.model_path, len(task.labels), tokens=args.ceiling_tokens)
    print(f"matmul ceiling: {meta['ceiling']['gflops']:.1f} GFLOP/s", flush=True)
    results = measure(cfg, task, variants, args.repeats, tmp)
    meta.update(machine_meta(args.repeats, load_before), n_train=n_train, n_eval=n_eval, data=args.data,
                metric="F1" if task.name == "ner" else task.metric, tokens_train=tokens_train,
                tokens_eval=tokens_eval, notes=notes, command=" ".join(["python bench/throughput.py", *sys.argv[1:]]))
    s = summarize(results, n_train, n_eval, tokens_train, tokens_eval)
    default_data = Path(args.data).name.lower() == "wikigold"
    out = HERE / "results" / ("throughput.json" if default_data else f"throughput-{Path(args.data).name}.json")
    text = table(s, meta)
    print(text)
    if args.no_readme:
        return
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "raw": results, "summary": s}, indent=1))
    if default_data:
        write_readme(main=f"Command: `{meta['command']}`\n\n{text}")
    else:
        print(f"(--data {args.data}: results in {out}; the README's table stays WikiGold's)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-fraction", type=float, default=1.0, help="shorter runs for a smoke test")
    ap.add_argument("--val-fraction", type=float, default=None, help="score this fraction of the dev split "
                    "(default: all; SNLI 0.2)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--data", default="wikigold", help="wikigold (default), wnut17, snli or a folder")
    ap.add_argument("--datasets", default=None, help="comma-separated datasets: adaft padded vs padding-free "
                    "on each (e.g. wikigold,wnut17,snli) instead of the variants")
    ap.add_argument("--model", default="minilm", help="minilm (default), minilm-2l (smoke tests) or a folder")
    ap.add_argument("--ceiling-tokens", type=int, default=4096, help="rows T of the ceiling's GEMMs")
    ap.add_argument("--no-readme", action="store_true", help="print only: write neither the README nor "
                    "bench/results (smoke tests)")
    ap.add_argument("--readme-only", action="store_true", help="rebuild the README section from its parts; "
                    "measure nothing")
    args = ap.parse_args()
    if args.readme_only:
        write_readme()
    elif args.datasets:
        run_datasets(args)
    else:
        run_main(args)


if __name__ == "__main__":
    main()
