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

Run:  python bench/throughput.py --repeats 3            (writes bench/results/throughput.json
      and the table in bench/README.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from adaft_core import TrainConfig  # noqa: E402
from readme_section import replace_section  # noqa: E402  (bench/ is on sys.path)
from adaft_core.tasks.base import get_task  # noqa: E402

VARIANTS = ("adaft", "trainer", "adaft-padfree", "trainer-padfree", "adaft-grouped", "trainer-grouped",
            "adaft-nosink", "adaft-live")


class RssSampler:
    """Peak resident memory of this process while a variant runs (sampled at 50 Hz)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def __enter__(self):
        self.start = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def run_adaft(cfg: TrainConfig, variant: str) -> dict:
    from adaft_core.run import engine
    from adaft_core.events.emitter import QueueSink

    times: dict[str, float] = {}

    class Clock:
        def handle(self, e):
            if e.event == "run_started":
                times["start"] = time.perf_counter()
            elif e.event == "step":
                times["last_step"] = time.perf_counter()
            elif e.event == "eval" and e["split"] == "validation":
                times["eval_end"] = time.perf_counter()
                times["f1"] = e["score"]

    sinks: list = [Clock()]
    stop_drain = threading.Event()
    if variant == "adaft-live":
        live = QueueSink()
        sinks.append(live)
        drainer = threading.Thread(target=lambda: [live.drain() for _ in iter(lambda: stop_drain.wait(0.25), True)],
                                   daemon=True)
        drainer.start()
    original_sink = engine.JsonlSink
    if variant == "adaft-nosink":
        engine.JsonlSink = lambda path: type("NullSink", (), {"handle": lambda self, e: None})()
    try:
        cfg = TrainConfig(**{**cfg.to_dict(), "adam_betas": tuple(cfg.adam_betas),
                             "length_grouping": variant == "adaft-grouped",
                             "padding_free": variant == "adaft-padfree"})
        engine.train(cfg, sinks=sinks)
    finally:
        engine.JsonlSink = original_sink
        stop_drain.set()
    return {"train_s": times["last_step"] - times["start"], "eval_s": times["eval_end"] - times["last_step"],
            "f1": times["f1"]}


def run_trainer(cfg: TrainConfig, task, variant: str, out_dir: str) -> dict:
    import numpy as np
    from datasets import Dataset
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2
    from transformers import (DataCollatorForTokenClassification, DataCollatorWithFlattening, Trainer,
                              TrainerCallback, TrainingArguments)

    labels = task.labels
    keep = ("input_ids", "attention_mask", "labels")
    train_ds = Dataset.from_list([{k: f[k] for k in keep} for f in task.features["train"]])
    dev_ds = Dataset.from_list([{k: f[k] for k in keep} for f in task.features["validation"]])

    def compute_metrics(p):  # the usual token-classification recipe
        preds = np.argmax(p.predictions, axis=2)
        true_l = [[labels[l] for (q, l) in zip(pr, la) if l != -100] for pr, la in zip(preds, p.label_ids)]
        true_p = [[labels[q] for (q, l) in zip(pr, la) if l != -100] for pr, la in zip(preds, p.label_ids)]
        return {"f1": f1_score(true_l, true_p, mode="strict", scheme=IOB2, zero_division=0)}

    times: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            times["start"] = time.perf_counter()

        def on_epoch_end(self, args, state, control, **kw):
            times["last_step"] = time.perf_counter()

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            times["eval_end"] = time.perf_counter()
            times["f1"] = metrics.get("eval_f1")

    args = TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.max_epochs, warmup_steps=0, lr_scheduler_type="linear", eval_strategy="epoch",
        save_strategy="no", logging_strategy="no", report_to="none", use_cpu=True, seed=cfg.seed,
        disable_tqdm=True,
        train_sampling_strategy="group_by_length" if variant == "trainer-grouped" else "random",
    )
    import torch

    torch.manual_seed(cfg.seed)
    trainer = Trainer(model=task.load_model(), args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                      data_collator=(DataCollatorWithFlattening() if variant == "trainer-padfree"
                                     else DataCollatorForTokenClassification(task.tokenizer)),
                      compute_metrics=compute_metrics, callbacks=[Clock()])
    trainer.train()
    return {"train_s": times["last_step"] - times["start"], "eval_s": times["eval_end"] - times["last_step"],
            "f1": times["f1"]}


def summarize(results: dict[str, list[dict]], n_train: int, n_eval: int) -> dict:
    out = {}
    for v, rows in results.items():
        tr = [n_train / r["train_s"] for r in rows]
        ev = [n_eval / r["eval_s"] for r in rows]
        mem = [r["peak_mb"] for r in rows]
        out[v] = {"train_sps": statistics.median(tr), "train_spread": (min(tr), max(tr)),
                  "eval_sps": statistics.median(ev), "eval_spread": (min(ev), max(ev)),
                  "peak_mb": statistics.median(mem), "f1": statistics.median(r["f1"] for r in rows),
                  "train_s": statistics.median(r["train_s"] for r in rows)}
    return out


def table(s: dict, meta: dict) -> str:
    def ratio(a, b, key):
        return s[a][key] / s[b][key]

    lines = [f"Machine: {meta['machine']}; torch {meta['torch']}, transformers {meta['transformers']}, "
             f"{meta['threads']} threads; {meta['n_train']} training / {meta['n_eval']} dev features, "
             f"{meta['repeats']} repeats (median, min–max); {meta.get('date', '')}, load average (1, 5, 15 min) "
             f"{meta.get('load', 'not recorded')}.", "",
             "| variant | train samples/s | eval samples/s | peak RSS (MB) | dev F1 |", "|---|---|---|---|---|"]
    for v in s:
        r = s[v]
        lines.append(f"| {v} | {r['train_sps']:.1f} ({r['train_spread'][0]:.1f}–{r['train_spread'][1]:.1f}) | "
                     f"{r['eval_sps']:.1f} ({r['eval_spread'][0]:.1f}–{r['eval_spread'][1]:.1f}) | "
                     f"{r['peak_mb']:.0f} | {r['f1']:.3f} |")
    lines += ["", "| comparison | train ratio | eval ratio |", "|---|---|---|"]
    lines += [f"| {name} | {ratio(a, b, 'train_sps'):.2f} | {ratio(a, b, 'eval_sps'):.2f} |"
              for name, a, b in COMPARISONS if a in s and b in s]
    sinks = [(name, v) for name, v in (("JSONL run log", "adaft"), ("JSONL + live queue", "adaft-live"))
             if v in s and "adaft-nosink" in s]
    if sinks:
        lines += ["", "| sinks | training time vs no sink |", "|---|---|"]
        base = s["adaft-nosink"]["train_s"]
        lines += [f"| {name} | {100 * (s[v]['train_s'] / base - 1):+.1f} % |" for name, v in sinks]
    return "\n".join(lines)


COMPARISONS = (("adaft / Trainer, random batches (both padded)", "adaft", "trainer"),
               ("adaft padding-free / Trainer, random batches", "adaft-padfree", "trainer"),
               ("adaft padding-free / Trainer padding-free (DataCollatorWithFlattening)", "adaft-padfree",
                "trainer-padfree"),
               ("adaft padding-free / Trainer group_by_length", "adaft-padfree", "trainer-grouped"),
               ("adaft padding-free / adaft padded, random batches", "adaft-padfree", "adaft"),
               ("adaft length-aware / Trainer group_by_length", "adaft-grouped", "trainer-grouped"))


def write_readme(text: str, command: str) -> None:
    replace_section(HERE / "README.md", "throughput",
                    f"## Throughput: adaft vs Hugging Face Trainer\n\nCommand: `{command}`\n\n{text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-fraction", type=float, default=1.0, help="shorter runs for a smoke test")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    import torch
    import transformers

    variants = args.variants.split(",")
    tmp = tempfile.mkdtemp(prefix="adaft-bench-")
    cfg = TrainConfig(mode="original", max_epochs=1, warmup_epochs=0, train_fraction=args.train_fraction,
                      output_dir=tmp, save_model=False, save_checkpoints=False, evaluate_test=False,
                      seed=42).validated()
    task = get_task("ner")(cfg)
    n_train, n_eval = len(task.features["train"]), len(task.features["validation"])
    results: dict[str, list[dict]] = {v: [] for v in variants}
    load_before = os.getloadavg()
    for rep in range(args.repeats):
        for v in variants:
            with RssSampler() as mem:
                r = run_adaft(cfg, v) if v.startswith("adaft") else run_trainer(cfg, task, v, tmp)
            r["peak_mb"] = mem.peak / 2**20
            results[v].append(r)
            print(f"repeat {rep} {v}: train {r['train_s']:.1f}s eval {r['eval_s']:.1f}s f1 {r['f1']:.3f} "
                  f"peak {r['peak_mb']:.0f} MB", flush=True)
    meta = {"machine": f"{platform.machine()} {os.cpu_count()} cores ({platform.processor() or 'cpu'})",
            "torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(), "n_train": n_train, "n_eval": n_eval, "repeats": args.repeats,
            "load": f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
                    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after",
            "date": time.strftime("%Y-%m-%d")}
    s = summarize(results, n_train, n_eval)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "throughput.json").write_text(json.dumps({"meta": meta, "raw": results, "summary": s}, indent=1))
    text = table(s, meta)
    print(text)
    if not args.no_readme:
        write_readme(text, "python " + " ".join(["bench/throughput.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
