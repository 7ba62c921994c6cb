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
``../shared/datasets``; a folder named ``snli`` runs the classification task, where padding-free
falls back to padded batches and the table says "padding-free: fallback (padded)"; ``trainer-padfree``
is skipped there). Its results go to ``bench/results/throughput-NAME.json``, not the README.
``--no-readme`` prints only (no README, no ``bench/results`` file): for smoke tests.
``--datasets wikigold,wnut17,snli`` instead runs adaft padded vs adaft padding-free per dataset
(lengths, pad fraction, samples/s; ``bench/results/throughput_datasets.json`` and its own part of
the README section). ``--readme-only`` rebuilds the README section from its saved parts and
``bench/results/gpu_checks.md`` (``bench/gpu_checks.py``'s results) without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import logging
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
# --data / --datasets name (a folder's name) -> (task, settings of that dataset); others: NER, as given
DATASETS = {"wikigold": ("ner", {}), "wnut17": ("ner", {}),
            "snli": ("classification", {"val_fraction": 0.2})}  # SNLI dev: 9,842 pairs; 0.2 of them scored
FALLBACK = "padding-free: fallback (padded)"


def base_config(data: str = "wikigold", *, model: str = "minilm", train_fraction: float = 1.0,
                val_fraction: float | None = None, output_dir: str | None = None, **settings) -> TrainConfig:
    """The bench's run settings (one epoch, original mode, no checkpoints) for dataset ``data``."""
    from adaft_core.studies.datasets import dataset_source

    task, extra = DATASETS.get(Path(data).name.lower(), ("ner", {}))
    if val_fraction is not None:
        extra = {**extra, "val_fraction": val_fraction}
    base = dict(task=task, data=dataset_source(data), model=model, mode="original", max_epochs=1, warmup_epochs=0,
                train_fraction=train_fraction, save_model=False, save_checkpoints=False, evaluate_test=False,
                seed=42, output_dir=output_dir or tempfile.mkdtemp(prefix="adaft-bench-"))
    return TrainConfig(**{**base, **extra, **settings}).validated()


def matmul_ceiling(hidden: int = 384, ffn: int = 1536, tokens: int = 4096, repeats: int = 5,
                   device: str = "cpu", dtype=None) -> float:
    """This machine's matmul rate at a BERT layer's shapes, in GFLOP/s: ``(tokens × hidden) @
    (hidden × ffn)`` and ``(tokens × hidden) @ (hidden × hidden)`` (fp32 unless ``dtype``), the best
    of ``repeats`` timings after one warm-up (on a GPU each timing runs the pair 20 times)."""
    import torch

    dtype = dtype or torch.float32
    x = torch.randn(tokens, hidden, device=device, dtype=dtype)
    w1, w2 = (torch.randn(hidden, n, device=device, dtype=dtype) for n in (ffn, hidden))
    inner = 20 if str(device).startswith("cuda") else 1
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    best = float("inf")
    for i in range(repeats + 1):
        sync()
        t = time.perf_counter()
        for _ in range(inner):
            x @ w1, x @ w2
        sync()
        if i:  # the first is the warm-up
            best = min(best, time.perf_counter() - t)
    return 2 * tokens * hidden * (ffn + hidden) * inner / best / 1e9


def forward_flops_per_token(model_path: str, num_labels: int) -> tuple[float, float]:
    """(forward FLOPs per real token, N): ``2·N`` with N the matmul parameters a token passes
    through, ``layers · (4·h² + 2·h·f) + h · labels`` (Q, K, V, output, feed-forward, classifier).
    Left out: embeddings (look-ups), LayerNorm/GELU/softmax, and attention's own products
    (``4·n·h`` per token and layer for a sentence of n tokens, ~3 % at n = 30 for MiniLM)."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_path)
    h = getattr(c, "hidden_size", None) or c.dim  # BERT family; DistilBERT names them dim/hidden_dim/n_layers
    f = getattr(c, "intermediate_size", None) or c.hidden_dim
    layers = getattr(c, "num_hidden_layers", None) or c.n_layers
    n = layers * (4 * h * h + 2 * h * f) + h * num_labels
    return 2.0 * n, float(n)


def model_shapes(model_path: str) -> tuple[int, int]:
    """(hidden, feed-forward) widths of the model: the ceiling's GEMM shapes."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_path)
    return (getattr(c, "hidden_size", None) or c.dim), (getattr(c, "intermediate_size", None) or c.hidden_dim)


def real_tokens(features) -> int:
    return sum(len(f["input_ids"]) for f in features)


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


def _now() -> float:
    """perf_counter after the GPU's queued work is done (a no-op on the CPU)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


class FallbackLog(logging.Handler):
    """Catches the engine's one "padding-free off" log line (padding_free.py's fallback)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if "padding-free off" in msg:
            self.reasons.append(msg.split("padded batches: ", 1)[-1])


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
    """One adaft run of ``variant`` (``adaft``, ``adaft-padfree``, ``adaft-grouped``, ``adaft-nosink``,
    ``adaft-live``; ``-unfused`` appended: AdamW without its fused kernel). ``fallback``: the
    reason padding-free fell back to padded batches, or None."""
    from adaft_core.run import engine, setup
    from adaft_core.events.emitter import QueueSink

    times: dict[str, float] = {}

    class Clock:
        def handle(self, e):
            if e.event == "run_started":
                times["start"] = _now()
            elif e.event == "step":
                times["last_step"] = _now()
            elif e.event == "eval" and e["split"] == "validation":
                times["eval_end"] = _now()
                times["f1"] = e["score"]

    sinks: list = [Clock()]
    stop_drain = threading.Event()
    if variant == "adaft-live":
        live = QueueSink()
        sinks.append(live)
        drainer = threading.Thread(target=lambda: [live.drain() for _ in iter(lambda: stop_drain.wait(0.25), True)],
                                   daemon=True)
        drainer.start()
    import adaft_core.store.recorder as recorder

    log_owner = recorder if hasattr(recorder, "JsonlSink") else engine  # the module that makes the run log's sink
    original_sink, original_fused = log_owner.JsonlSink, setup.fused_kwargs
    if variant == "adaft-nosink":
        log_owner.JsonlSink = lambda path: type("NullSink", (), {"handle": lambda self, e: None})()
    if variant.endswith("-unfused"):
        setup.fused_kwargs = lambda device: {}
    fallback = FallbackLog()
    logging.getLogger("adaft").addHandler(fallback)
    try:
        cfg = TrainConfig(**{**cfg.to_dict(), "adam_betas": tuple(cfg.adam_betas),
                             "length_grouping": "grouped" in variant,
                             "padding_free": "padfree" in variant})
        engine.train(cfg, sinks=sinks)
    finally:
        log_owner.JsonlSink, setup.fused_kwargs = original_sink, original_fused
        logging.getLogger("adaft").removeHandler(fallback)
        stop_drain.set()
    return {"train_s": times["last_step"] - times["start"], "eval_s": times["eval_end"] - times["last_step"],
            "f1": times["f1"], "fallback": fallback.reasons[0] if fallback.reasons else None}


def run_trainer(cfg: TrainConfig, task, variant: str, out_dir: str, *, cuda: bool = False, bf16: bool = False,
                attn: str | None = None) -> dict:
    """One ``Trainer`` run of ``variant`` (``trainer``, ``trainer-grouped``, ``trainer-padfree``,
    ``trainer-unfused``: ``optim="adamw_torch"``); on a GPU with ``cuda``, ``bf16`` autocast, and
    ``attn`` the attention implementation of ``trainer-padfree`` (default: the model's, SDPA)."""
    import dataclasses

    import numpy as np
    import torch
    from transformers import (DataCollatorForTokenClassification, DataCollatorWithFlattening,
                              DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments)

    try:
        from datasets import Dataset

        make_dataset = Dataset.from_list
    except ImportError:  # a machine without Hugging Face datasets (the GPU machine): a list of dicts
        make_dataset = list
    ner, labels = task.name == "ner", task.labels
    if variant == "trainer-padfree" and not ner:
        raise ValueError("trainer-padfree needs a label per token (DataCollatorWithFlattening packs one row)")
    keep = [k for k in ("input_ids", "attention_mask", "token_type_ids", "labels") if k in task.features["train"][0]]
    if ner:
        keep = [k for k in keep if k != "token_type_ids"]  # as before: the NER collator pads these three
    train_ds = make_dataset([{k: f[k] for k in keep} for f in task.features["train"]])
    dev_ds = make_dataset([{k: f[k] for k in keep} for f in task.features["validation"]])

    def compute_metrics(p):  # the usual token-classification recipe; accuracy for sentence classes
        if not ner:
            return {"f1": float((np.argmax(p.predictions, axis=-1) == p.label_ids).mean())}
        from seqeval.metrics import f1_score
        from seqeval.scheme import IOB2

        preds = np.argmax(p.predictions, axis=2)
        true_l = [[labels[l] for (q, l) in zip(pr, la) if l != -100] for pr, la in zip(preds, p.label_ids)]
        true_p = [[labels[q] for (q, l) in zip(pr, la) if l != -100] for pr, la in zip(preds, p.label_ids)]
        return {"f1": f1_score(true_l, true_p, mode="strict", scheme=IOB2, zero_division=0)}

    times: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            times["start"] = _now()

        def on_epoch_end(self, args, state, control, **kw):
            times["last_step"] = _now()

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            times["eval_end"] = _now()
            times["f1"] = metrics.get("eval_f1")

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    grouped = variant == "trainer-grouped"
    sampling = ({"train_sampling_strategy": "group_by_length" if grouped else "random"}
                if "train_sampling_strategy" in fields else {"group_by_length": grouped})  # older transformers
    args = TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.eval_batch_size,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.max_epochs, warmup_steps=0, lr_scheduler_type="linear", eval_strategy="epoch",
        save_strategy="no", logging_strategy="no", report_to="none", use_cpu=not cuda, bf16=bf16, seed=cfg.seed,
        disable_tqdm=True, **sampling, **({"optim": "adamw_torch"} if variant == "trainer-unfused" else {}),
    )
    torch.manual_seed(cfg.seed)
    model = task.load_model()
    if variant == "trainer-padfree" and attn:
        model.set_attn_implementation(attn)
    collator = (DataCollatorWithFlattening() if variant == "trainer-padfree"
                else DataCollatorForTokenClassification(task.tokenizer) if ner
                else DataCollatorWithPadding(task.tokenizer))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds, data_collator=collator,
                      compute_metrics=compute_metrics, callbacks=[Clock()])
    trainer.train()
    return {"train_s": times["last_step"] - times["start"], "eval_s": times["eval_end"] - times["last_step"],
            "f1": times["f1"], "fallback": None}


def summarize(results: dict[str, list[dict]], n_train: int, n_eval: int, tokens_train: int = 0,
              tokens_eval: int = 0) -> dict:
    out = {}
    for v, rows in results.items():
        if not rows:
            continue
        tr = [n_train / r["train_s"] for r in rows]
        ev = [n_eval / r["eval_s"] for r in rows]
        mem = [r.get("peak_mb", 0.0) for r in rows]
        out[v] = {"train_sps": statistics.median(tr), "train_spread": (min(tr), max(tr)),
                  "eval_sps": statistics.median(ev), "eval_spread": (min(ev), max(ev)),
                  "peak_mb": statistics.median(mem), "f1": statistics.median(r["f1"] for r in rows),
                  "train_s": statistics.median(r["train_s"] for r in rows),
                  "train_tps": statistics.median(tokens_train / r["train_s"] for r in rows),
                  "eval_tps": statistics.median(tokens_eval / r["eval_s"] for r in rows),
                  "fallback": next((r["fallback"] for r in rows if r.get("fallback")), None)}
    return out


def ceiling_table(s: dict, meta: dict) -> str:
    """Real tokens/s per variant and the share of the measured matmul ceiling they reach."""
    c, fpt = meta["ceiling"], meta["flops_per_token"]
    lines = [f"Real (non-pad) tokens per second against this machine's matmul ceiling, "
             f"**{c['gflops']:.1f} GFLOP/s** ({c['dtype']} GEMMs ({c['tokens']} × {c['hidden']}) · "
             f"({c['hidden']} × {c['ffn']}) and ({c['tokens']} × {c['hidden']}) · ({c['hidden']} × {c['hidden']}), "
             f"best of {c['repeats']}). FLOPs per real token: 6·N training (forward + backward), 2·N "
             f"evaluation, N = {fpt['params'] / 1e6:.2f} M matmul parameters per token (layers · (4h² + 2h·f) "
             f"+ h · labels; attention's own products, embeddings and element-wise work not counted). "
             f"{meta['tokens_train']} training / {meta['tokens_eval']} dev tokens.", "",
             "| variant | train tokens/s | train % of ceiling | eval tokens/s | eval % of ceiling |",
             "|---|---|---|---|---|"]
    for v, r in s.items():
        share = [100 * k * fpt["params"] * r[key] / (c["gflops"] * 1e9) for k, key in ((6, "train_tps"),
                                                                                    (2, "eval_tps"))]
        lines.append(f"| {v} | {r['train_tps']:.0f} | {share[0]:.1f} % | {r['eval_tps']:.0f} | {share[1]:.1f} % |")
    return "\n".join(lines)


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


# ---------------------------------------------------------------- the README section, in parts
README_PARTS = ("main", "datasets", "gpu")
ABOUT = """\
Variants and options: `bench/throughput.py`'s docstring. `--data NAME|FOLDER` runs them on another
dataset (`wnut17`, `snli`: the folders of `shared/datasets`; SNLI is sentence-pair classification, where
padding-free falls back to padded batches and the tables say "padding-free: fallback (padded)" instead of
a ratio); `--datasets a,b,c` measures adaft padded vs padding-free per dataset (the second table);
`--readme-only` rebuilds this section from its saved parts and `bench/results/gpu_checks.md`.
Real tokens/s = the split's non-pad tokens per second of training (one epoch) or evaluation; % of
ceiling = those tokens × FLOPs per token ÷ the GEMM rate measured in the same run, with 6·N FLOPs per
real token for training (forward + backward) and 2·N for evaluation, N = the matmul parameters a token
passes through, `layers · (4h² + 2h·f) + h · labels` (10.62 M for MiniLM-L6 with WikiGold's 9 labels).
Work on padding and attention's own products are not counted, so padded variants show the share of
useful work."""


def _between(text: str, name: str) -> str | None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return None
    return text[text.index(start) + len(start):text.index(end)].strip()


def gpu_part() -> str:
    """The GPU checks' results (``bench/gpu_checks.py``), or the statement that there are none."""
    md, js = HERE / "results" / "gpu_checks.md", HERE / "results" / "gpu_checks.json"
    if md.exists() and js.exists() and not json.loads(js.read_text()).get("smoke", True):
        text = md.read_text(encoding="utf-8").split("\n", 1)[-1].strip()  # without its title line
        return f"### GPU (`bench/gpu_checks.py`, [results/gpu_checks.md](results/gpu_checks.md))\n\n{text}"
    return ("### GPU\n\nNo GPU results: `bench/gpu_checks.py` (speed vs Trainer in bf16, fused AdamW, exactness "
            "against the padded path) has not been run on a GPU; its results go to `bench/results/gpu_checks.md`.")


def write_readme(main: str | None = None, datasets: str | None = None) -> None:
    """The README's throughput section: ABOUT, then the main table, the per-dataset table and the GPU
    part; a part not given keeps what the README has (the main table of an older layout: the whole
    section below its title)."""
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    section = _between(text, "throughput") or ""
    old = {name: _between(section, f"throughput-{name}") for name in README_PARTS}
    if old["main"] is None and section.startswith("## Throughput"):
        old["main"] = section.split("\n", 1)[-1].strip()
    parts = {"main": main or old["main"] or "Not measured yet: `python bench/throughput.py --repeats 3`.",
             "datasets": datasets or old["datasets"] or ("Per-dataset gains: not measured yet "
                                                         "(`python bench/throughput.py --datasets wikigold,wnut17,snli "
                                                         "--repeats 3`)."),
             "gpu": gpu_part()}
    body = "\n\n".join([f"## Throughput: adaft vs Hugging Face Trainer\n\n{ABOUT}",
                        *(f"<!-- throughput-{n}:start -->\n{parts[n]}\n<!-- throughput-{n}:end -->"
                          for n in README_PARTS)])
    replace_section(readme, "throughput", body)


# ---------------------------------------------------------------- runs
def machine_meta(repeats: int, load_before) -> dict:
    import torch
    import transformers

    return {"machine": f"{platform.machine()} {os.cpu_count()} cores ({platform.processor() or 'cpu'})",
            "torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(), "repeats": repeats,
            "load": f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
                    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after",
            "date": time.strftime("%Y-%m-%d")}


def ceiling_meta(model_path: str, num_labels: int, *, device: str = "cpu", dtype=None, tokens: int = 4096,
                 repeats: int = 5) -> dict:
    """The run's ceiling and FLOPs-per-token record (``meta['ceiling']``, ``meta['flops_per_token']``)."""
    import torch

    hidden, ffn = model_shapes(model_path)
    dtype = dtype or torch.float32
    gflops = matmul_ceiling(hidden, ffn, tokens, repeats, device, dtype)
    fwd, params = forward_flops_per_token(model_path, num_labels)
    return {"ceiling": {"gflops": gflops, "dtype": str(dtype).replace("torch.", ""), "tokens": tokens,
                        "hidden": hidden, "ffn": ffn, "repeats": repeats, "device": str(device)},
            "flops_per_token": {"forward": fwd, "params": params}}


def measure(cfg: TrainConfig, task, variants: list[str], repeats: int, tmp: str, label: str = "",
            **trainer_kw) -> dict[str, list[dict]]:
    """``repeats`` rounds of every variant, interleaved; one result row per variant and round."""
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for rep in range(repeats):
        for v in variants:
            with RssSampler() as mem:
                r = run_adaft(cfg, v) if v.startswith("adaft") else run_trainer(cfg, task, v, tmp, **trainer_kw)
            r["peak_mb"] = mem.peak / 2**20
            results[v].append(r)
            print(f"{label}repeat {rep} {v}: train {r['train_s']:.1f}s eval {r['eval_s']:.1f}s f1 {r['f1']:.3f} "
                  f"peak {r['peak_mb']:.0f} MB{' — ' + FALLBACK if r['fallback'] else ''}", flush=True)
    return results


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
        lines.append(f"| {r['dataset']} | {r['task']} | {r['n_train']} / {r['n_eval']} | {r['mean_len']:.1f} ± "
                     f"{r['std_len']:.1f} | {100 * r['pad_fraction']:.0f} % | {r['train_adaft']:.1f} | {free} | "
                     f"{ratios[0]} | {ratios[1]} |")
    lines += [f"\n{r['dataset']}: {FALLBACK} — {r['fallback']}" for r in rows if r["fallback"]]
    return "\n".join(lines)


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
