"""Issue 20's GPU checks in one call (under 10 minutes on one H200): exactness, then speed.

1. **Exactness** of padding-free against padded batches, in fp32 on the GPU (TF32 off), dropout off
   (a copy of the model folder whose config sets both dropouts to 0): the same WikiGold epoch
   (``--exact-steps`` optimizer steps; default the whole epoch, 75 steps) trained both ways through
   ``adaft_core.train``; per-step training loss relative difference < 1e-5, the validation loss
   likewise, the validation metrics equal, the final weights within rtol 1e-4 / atol 1e-5.
2. **Speed**, bf16 autocast, the same batches (batch 16, one WikiGold epoch, eval batch 64, dev
   split scored), with ``bench/throughput.py``'s own runs (:func:`throughput.run_adaft`,
   :func:`throughput.run_trainer`), interleaved, ``--repeats`` rounds after one short warm-up round:
   ``adaft-padfree`` (the default), ``adaft`` (padded), ``trainer`` (random batches),
   ``trainer-grouped`` (``group_by_length``), ``trainer-padfree`` (``DataCollatorWithFlattening``
   with ``flash_attention_2`` if ``flash_attn`` is importable, else SDPA), and fused AdamW on/off:
   ``adaft-padfree-unfused`` and ``trainer-unfused`` (``optim="adamw_torch"``). Also real tokens/s
   and their share of the GPU's bf16 matmul ceiling at MiniLM's shapes (``throughput.matmul_ceiling``,
   65,536 rows). A round is not started when it would end past ``--minutes``.

It writes ``--out`` (default ``bench/results/gpu_checks.md``) and the same path with ``.json``
(GPU name, torch / CUDA / transformers versions, every timing). Nothing is downloaded (Hugging Face
is set offline). Without a CUDA GPU it prints "no CUDA GPU: this script was not run here" and exits
0; ``--allow-cpu --tiny`` runs a smoke on the CPU instead (minilm-2l, 2 % of the training set,
every variant once, 3 exactness steps; a couple of minutes) to check the code path — its numbers
mean nothing, and it writes to ``/tmp/adaft-gpu-checks-smoke/`` unless ``--out`` is given.

The device machine has no internet, no ``seqeval`` and no ``datasets`` (``throughput.run_trainer``
then passes Trainer a list of dicts), and the shipped MiniLM folder (88 MB) is more than the 64 MiB
one call carries. So first, here, in the repository root::

    mkdir -p .git/info && echo /.gpu/ >> .git/info/exclude
    python bench/gpu_checks.py --prepare .gpu

(``.gpu/minilm``: MiniLM with its weights stored in fp16, 44 MB, loaded as fp32 — rounded weights,
the same for every variant; ``.gpu/site/seqeval``: seqeval's pure-Python source.) Then on the device
machine (the ``run`` tool, ``carry: [".gpu"]``, ``timeout_s: 600``)::

    PYTHONPATH=.gpu/site PYTHONUNBUFFERED=1 python3 bench/gpu_checks.py --model .gpu/minilm \
        --out $OUT/gpu_checks.md

and afterwards, here: copy ``gpu_checks.md`` and ``gpu_checks.json`` from the returned files to
``bench/results/`` and run ``python bench/throughput.py --readme-only`` (puts them in the README).
The CPU smoke::

    nice -n 10 python bench/gpu_checks.py --allow-cpu --tiny
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]  # the throughput modules beside this file; adaft_core from this checkout

from matmul_ceiling import ceiling_meta  # noqa: E402
from throughput import table  # noqa: E402
from throughput_runs import FALLBACK, FallbackLog, base_config, measure, real_tokens, summarize  # noqa: E402

from adaft_core.tasks.base import get_task  # noqa: E402
from gpu_env import gpu_problem, missing_packages  # noqa: E402

SPEED_VARIANTS = ["adaft-padfree", "adaft", "trainer", "trainer-grouped", "trainer-padfree",
                  "adaft-padfree-unfused", "trainer-unfused"]
NEEDED = ["transformers", "accelerate", "safetensors", "tokenizers", "numpy", "seqeval", "sklearn"]
LOSS_RTOL, WEIGHT_RTOL, WEIGHT_ATOL = 1e-5, 1e-4, 1e-5
TINY = {"train_fraction": 0.02, "val_fraction": 0.1, "repeats": 1, "exact_steps": 3, "ceiling_tokens": 1024}


def missing_pieces(model: str) -> list[str]:
    out = missing_packages(NEEDED, "; see --prepare")
    try:
        from adaft_core.tasks.models import resolve_model

        resolve_model(model)
    except Exception as exc:  # noqa: BLE001 - ConfigError, ImportError: said in words
        out.append(f"--model {model}: {exc} (on the device machine: --prepare here, then --model .gpu/minilm)")
    return out


def trainer_padfree_attention(cuda: bool) -> str:
    """The attention Trainer's padding-free path gets: flash_attention_2 where flash_attn is there."""
    return "flash_attention_2" if cuda and importlib.util.find_spec("flash_attn") else "sdpa"


def fresh_accelerate() -> None:
    """Forget accelerate's process-wide state (its mixed precision is fixed once set)."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


def prepare(dest: Path) -> None:
    """``dest/minilm``: the shipped MiniLM with fp16-stored weights (config dtype float32, so it
    loads as fp32); ``dest/site/seqeval``: seqeval's source (pure Python), for ``PYTHONPATH``."""
    import seqeval
    from safetensors.torch import load_file, save_file

    from adaft_core.tasks.models import resolve_model

    src, model = Path(resolve_model("minilm")), dest / "minilm"
    model.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (src / name).exists():
            shutil.copyfile(src / name, model / name)
    config = json.loads((model / "config.json").read_text())
    config.update(dtype="float32", torch_dtype="float32")
    (model / "config.json").write_text(json.dumps(config, indent=2))
    weights = load_file(str(src / "model.safetensors"))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()},
              str(model / "model.safetensors"), metadata={"format": "pt"})
    shutil.copytree(Path(seqeval.__file__).parent, dest / "site" / "seqeval", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"wrote {model} and {dest / 'site' / 'seqeval'} ({size / 2**20:.1f} MiB in all)")


def no_dropout_copy(model_path: str, dest: Path) -> str:
    """The model folder (``minilm``, ``minilm-2l`` or a folder) with both dropouts 0 (links to its other files)."""
    from adaft_core.tasks.models import resolve_model

    model_path = resolve_model(model_path)
    dest.mkdir(parents=True, exist_ok=True)
    for f in Path(model_path).iterdir():
        if f.name != "config.json" and not (dest / f.name).exists():
            (dest / f.name).symlink_to(f.resolve())
    config = json.loads((Path(model_path) / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (dest / "config.json").write_text(json.dumps(config))
    return str(dest)


def exactness(model_path: str, steps: int, tmp: Path) -> dict:
    """Padding-free vs padded in fp32 (TF32 off), dropout off: losses, validation, final weights."""
    import torch
    from safetensors.torch import load_file

    from adaft_core import train
    from adaft_core.events.emitter import RecorderSink

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    folder = no_dropout_copy(model_path, tmp / "no-dropout")
    n_train = len(get_task("ner")(base_config(model=folder, output_dir=str(tmp))).features["train"])
    fraction = min(1.0, steps * 16 / n_train) if steps else 1.0
    runs = {}
    for packed in (True, False):
        fresh_accelerate()
        rec, fallback = RecorderSink(), FallbackLog()
        logging.getLogger("adaft").addHandler(fallback)
        try:
            result = train(base_config(model=folder, train_fraction=fraction, mixed_precision="no",
                                          padding_free=packed, save_model=True,
                                          output_dir=str(tmp / f"exact-{'packed' if packed else 'padded'}")),
                           sinks=[rec])
        finally:
            logging.getLogger("adaft").removeHandler(fallback)
        runs[packed] = {"losses": [e["loss"] for e in rec.of("step")], "evals": rec.of("eval"),
                        "weights": load_file(str(result.model_dir / "model.safetensors")),
                        "fallback": fallback.reasons[0] if fallback.reasons else None}
        print(f"exactness, {'padding-free' if packed else 'padded'}: {len(runs[packed]['losses'])} steps, "
              f"status {result.status}{' — ' + FALLBACK if runs[packed]['fallback'] else ''}", flush=True)
    a, b = runs[True], runs[False]

    def rel(x, y):
        return abs(x - y) / max(abs(y), 1e-12)

    loss_rel = max((rel(x, y) for x, y in zip(a["losses"], b["losses"])), default=float("nan"))
    va, vb = a["evals"][-1], b["evals"][-1]  # the validation after the epoch
    metrics = [{k: v for k, v in e["metrics"].items() if k != "loss"} for e in (va, vb)]
    outside, weight_diff = [], 0.0
    for name, w in a["weights"].items():
        d = (w.double() - b["weights"][name].double()).abs()
        weight_diff = max(weight_diff, float(d.max()))
        if bool((d > WEIGHT_ATOL + WEIGHT_RTOL * b["weights"][name].double().abs()).any()):
            outside.append(name)
    out = {"steps": len(a["losses"]), "same_steps": len(a["losses"]) == len(b["losses"]),
           "loss_rel_max": loss_rel, "val_loss_rel": rel(va["loss"], vb["loss"]),
           "metrics_equal": metrics[0] == metrics[1], "weight_abs_max": weight_diff, "weights_outside": outside,
           "fallback": a["fallback"], "losses_packed": a["losses"], "losses_padded": b["losses"]}
    out["passed"] = bool(out["same_steps"] and not out["fallback"] and loss_rel < LOSS_RTOL
                         and out["val_loss_rel"] < LOSS_RTOL and out["metrics_equal"] and not outside)
    return out


def speed(args, cuda: bool, tmp: Path, t0: float) -> tuple[dict, dict, list[str]]:
    """(summary, raw results, notes) of the speed rounds; meta is filled in by the caller."""
    import torch

    fresh_accelerate()
    torch.backends.cuda.matmul.allow_tf32 = False  # as Trainer and adaft leave it by default
    precision = "bf16" if cuda else "no"
    kw = {"cuda": cuda, "bf16": cuda, "attn": trainer_padfree_attention(cuda)}
    cfg = base_config(model=args.model, train_fraction=args.train_fraction, val_fraction=args.val_fraction,
                         mixed_precision=precision, output_dir=str(tmp / "speed"))
    task = get_task("ner")(cfg)
    notes = []
    if cuda and not args.tiny:  # one short round first: CUDA context, cuBLAS handles, kernels' first calls
        warm = base_config(model=args.model, train_fraction=0.1, val_fraction=0.2, mixed_precision=precision,
                              output_dir=str(tmp / "warm-up"))
        measure(warm, get_task("ner")(warm), SPEED_VARIANTS, 1, str(tmp / "warm-up"), label="warm-up ", **kw)
    results: dict[str, list[dict]] = {v: [] for v in SPEED_VARIANTS}
    budget, rounds = args.minutes * 60, []
    for rep in range(args.repeats):
        guess = sum(rounds) / len(rounds) if rounds else 0.0
        if time.perf_counter() - t0 + guess > budget:
            notes.append(f"budget of {args.minutes:g} min: {rep} of {args.repeats} rounds run")
            print(notes[-1], flush=True)
            break
        start = time.perf_counter()
        for v, rows in measure(cfg, task, SPEED_VARIANTS, 1, str(tmp / "speed"), label=f"round {rep}: ",
                                  **kw).items():
            results[v] += rows
        rounds.append(time.perf_counter() - start)
    n_train, n_eval = len(task.features["train"]), len(task.features["validation"])
    tok_train, tok_eval = real_tokens(task.features["train"]), real_tokens(task.features["validation"])
    s = summarize(results, n_train, n_eval, tok_train, tok_eval)
    meta = ceiling_meta(task.model_path, len(task.labels), device="cuda" if cuda else "cpu",
                           dtype=torch.bfloat16 if cuda else torch.float32, tokens=args.ceiling_tokens)
    meta.update(n_train=n_train, n_eval=n_eval, tokens_train=tok_train, tokens_eval=tok_eval, data="wikigold",
                repeats=len(rounds), precision=precision, trainer_padfree_attention=kw["attn"], notes=notes)
    return s, {"raw": results, "meta": meta}, notes


def machine(cuda: bool) -> dict:
    import torch
    import transformers

    return {"device": torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores)",
            "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads()}


def exactness_table(e: dict) -> str:
    ok = lambda good: "pass" if good else "**FAIL**"  # noqa: E731
    rows = [("per-step training loss, max relative difference", f"{e['loss_rel_max']:.2e} over {e['steps']} steps",
             f"< {LOSS_RTOL:g}", ok(e["same_steps"] and e["loss_rel_max"] < LOSS_RTOL)),
            ("validation loss, relative difference", f"{e['val_loss_rel']:.2e}", f"< {LOSS_RTOL:g}",
             ok(e["val_loss_rel"] < LOSS_RTOL)),
            ("validation metrics but the loss", "equal" if e["metrics_equal"] else "differ", "equal",
             ok(e["metrics_equal"])),
            ("final weights, max absolute difference", f"{e['weight_abs_max']:.2e} ({len(e['weights_outside'])} "
             "tensors outside)", f"rtol {WEIGHT_RTOL:g}, atol {WEIGHT_ATOL:g}", ok(not e["weights_outside"]))]
    lines = ["| check | measured | limit | result |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if e["fallback"]:
        lines.append(f"\n**The padding-free run fell back to padded batches** ({FALLBACK}: {e['fallback']}): "
                     "nothing was compared.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a model folder (on the device: .gpu/minilm from --prepare) or "
                    "'minilm'; default minilm, minilm-2l with --tiny")
    ap.add_argument("--out", default=None, help="the Markdown results (default bench/results/gpu_checks.md; the "
                    "smoke: /tmp/adaft-gpu-checks-smoke/gpu_checks.md); the JSON beside it")
    ap.add_argument("--repeats", type=int, default=3, help="speed rounds after the warm-up (default 3)")
    ap.add_argument("--exact-steps", type=int, default=0, help="optimizer steps of the exactness runs "
                    "(default 0: one WikiGold epoch)")
    ap.add_argument("--train-fraction", type=float, default=1.0)
    ap.add_argument("--val-fraction", type=float, default=None)
    ap.add_argument("--ceiling-tokens", type=int, default=65536, help="rows of the ceiling's GEMMs")
    ap.add_argument("--minutes", type=float, default=8.0, help="start no speed round that would end past this")
    ap.add_argument("--allow-cpu", action="store_true", help="run on the CPU when there is no GPU (with --tiny: "
                    "the smoke)")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes: checks the code path only")
    ap.add_argument("--prepare", metavar="DIR", help="write DIR/minilm and DIR/site/seqeval for the device "
                    "machine, then exit")
    args = ap.parse_args()
    t0 = time.perf_counter()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the device machine has no internet
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.prepare:
        prepare(Path(args.prepare))
        return 0
    problem = gpu_problem()
    cuda = problem is None
    if not cuda and not args.allow_cpu:
        print(f"no CUDA GPU: this script was not run here ({problem})")
        return 0
    if args.tiny:
        for k, v in TINY.items():
            if k in ("repeats", "ceiling_tokens", "exact_steps") or getattr(args, k) in (None, 1.0):
                setattr(args, k, v)
    args.model = args.model or ("minilm-2l" if args.tiny else "minilm")
    missing = missing_pieces(args.model)
    if missing:
        print("cannot run the GPU checks here; missing:\n" + "\n".join(f"  - {m}" for m in missing))
        return 2
    if cuda and not __import__("torch").cuda.is_bf16_supported():
        print("this GPU does not support bf16; the speed checks run in bf16")
        return 2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    smoke = not cuda or args.tiny
    info = machine(cuda)
    print(f"{'SMOKE (numbers mean nothing): ' if smoke else ''}{info['device']}, torch {info['torch']}, "
          f"transformers {info['transformers']}, model {args.model}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="adaft-gpu-checks-"))
    exact = exactness(args.model, args.exact_steps, tmp)
    print(exactness_table(exact), flush=True)
    s, speed_out, notes = speed(args, cuda, tmp, t0)
    meta = {**speed_out["meta"], "machine": f"{info['device']}, CUDA {info['cuda']}", **info,
            "date": time.strftime("%Y-%m-%d"), "load": "–"}
    wall = time.perf_counter() - t0
    command = " ".join(["python bench/gpu_checks.py", *sys.argv[1:]])
    text = "\n".join([
        f"# Issue 20's GPU checks{' — SMOKE on the CPU, not a result' if smoke else ''}, {meta['date']}", "",
        f"Command: `{command}`. Machine: {info['device']}; torch {info['torch']} (CUDA {info['cuda']}), "
        f"transformers {info['transformers']}, Python {info['python']}; model {args.model}. Whole script "
        f"{wall / 60:.1f} min.", "",
        f"**Exactness** (fp32 on the {'GPU' if cuda else 'CPU'}, TF32 off, dropout off; adaft padding-free vs "
        f"padded, the same batches): **{'passed' if exact['passed'] else 'FAILED'}**.", "",
        exactness_table(exact), "",
        f"**Speed** ({'bf16 autocast' if cuda else 'fp32'}, WikiGold, batch 16, one epoch, "
        f"{meta['repeats']} rounds{' after a warm-up round' if cuda and not args.tiny else ''}; trainer-padfree: "
        f"DataCollatorWithFlattening with {meta['trainer_padfree_attention']}; *-unfused: AdamW without its fused "
        "kernel).", "",
        table(s, meta), ""])
    out = Path(args.out) if args.out else (Path(tempfile.gettempdir()) / "adaft-gpu-checks-smoke" / "gpu_checks.md"
                                           if smoke else HERE / "results" / "gpu_checks.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(
        {"smoke": smoke, "machine": info, "wall_s": wall, "command": command, "model": args.model,
         "exactness": exact, "speed": {"summary": s, **speed_out}, "notes": notes}, indent=1, default=str) + "\n",
        encoding="utf-8")
    print(text)
    print(f"wrote {out} and {out.with_suffix('.json')} ({wall / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
