"""The timed runs of the throughput bench: one adaft or Hugging Face ``Trainer`` fine-tuning per call.

:func:`base_config` gives the bench's run settings for a dataset (``DATASETS``: its task and
settings), :func:`run_adaft` and :func:`run_trainer` run one variant each (``bench/throughput.py``'s
docstring lists them) and return training/evaluation seconds, the dev score and the reason
padding-free fell back to padded batches (``FallbackLog``), :func:`measure` interleaves the variants
over the repeats with each run's peak memory (``RssSampler``), :func:`summarize` takes the medians
(samples/s, real tokens/s) and :func:`machine_meta` records the machine, versions and load.
``bench/throughput.py``, ``bench/throughput_datasets.py`` and ``bench/gpu_checks.py`` share them.
"""

from __future__ import annotations

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
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # adaft_core from this checkout

from adaft_core import TrainConfig  # noqa: E402

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


def real_tokens(features) -> int:
    return sum(len(f["input_ids"]) for f in features)


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

def machine_meta(repeats: int, load_before) -> dict:
    import torch
    import transformers

    return {"machine": f"{platform.machine()} {os.cpu_count()} cores ({platform.processor() or 'cpu'})",
            "torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(), "repeats": repeats,
            "load": f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
                    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after",
            "date": time.strftime("%Y-%m-%d")}


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
