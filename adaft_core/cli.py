"""The ``adaft`` command: ``adaft train``, ``adaft runs list``, ``adaft runs show RUN``
(``cli_runs.py``), ``adaft dashboard``.

Input errors (:class:`~adaft_core.errors.AdaftError`) are printed as one message, without a
traceback, with exit status 2; a run that fails or is stopped exits 1.
"""

from __future__ import annotations

import argparse
import sys

from .config import TASKS, TrainConfig
from .errors import AdaftError
from .cli_runs import add_runs_parser, cmd_runs
from .modes import MODES

TRAIN_EPILOG = """examples:
  adaft train                                     # MiniLM on WikiGold, adaptive mode
  adaft train --train-fraction 0.2 --seed 1
  adaft train --mode original --data path/to/conll_folder --model bert-base-cased
  adaft train --task classification --data ../shared/datasets/snli --train-size 1000 \\
      --eval-data snli_2way=../shared/datasets/snli/snli_test.jsonl \\
      --label-map contradiction=not_entailment,neutral=not_entailment
  adaft train --task regression --data glue/stsb          # Pearson/Spearman (downloads GLUE)
"""


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _label_map(text: str) -> dict[str, str]:
    """``contradiction=not_entailment,neutral=not_entailment`` -> a dict."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise argparse.ArgumentTypeError(f"expected LABEL=TARGET[,LABEL=TARGET...], got {item!r} in {text!r}")
        out[src.strip()] = dst.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaft", description="Adaptive fine-tuning of transformer encoders.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="fine-tune a model", epilog=TRAIN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d = TrainConfig()
    t.add_argument("--task", default=d.task, help=f"one of {', '.join(TASKS)} (default: %(default)s)")
    t.add_argument("--model", default=d.model,
                   help="'minilm' (shipped all-MiniLM-L6-v2), 'minilm-2l' (its first 2 layers, for fast demos), "
                        "a local folder or a Hugging Face id (default: %(default)s)")
    t.add_argument("--data", default=d.data,
                   help="'wikigold' (shipped), a folder with train/dev/test files, 'hf:NAME' or a saved "
                        "datasets folder (default: %(default)s)")
    t.add_argument("--mode", default=d.mode, help=f"one of {', '.join(MODES)} (default: %(default)s)")
    t.add_argument("--strategy", default=d.strategy,
                   help="update strategy: vanilla, dps-dense, dps-mix, childtuning-d, childtuning-f "
                        "(default: %(default)s)")
    so = t.add_argument_group("update strategy options (only those of the chosen --strategy)")
    so.add_argument("--keep-fraction", type=float, default=None, metavar="Q",
                    help="fraction of entries UPDATED: DPS default 0.7 (the paper's p = 1 - Q = 0.3), "
                         "ChildTuning default 0.3 (its reserve_p)")
    so.add_argument("--update-ratio", type=float, default=None,
                    help="DPS stage length as a fraction of all steps (default 0.05; adaptive mode: of 3 epochs)")
    so.add_argument("--stage-steps", type=int, default=None, help="DPS stage length in optimizer steps (overrides "
                                                                   "--update-ratio)")
    so.add_argument("--fisher-batches", type=int, default=None,
                    help="ChildTuning-D: batches of the Fisher pass (default: the whole training set)")
    so.add_argument("--save-masks", default=None, choices=("latest", "every", "none"),
                    help="persist masks in RUN/masks: latest (DPS/ChildTuning-D default), every selection, or none")
    so.add_argument("--strategy-telemetry", type=_bool, default=None, metavar="true/false",
                    help="drift/leakage 'telemetry' events at every validation (default: on, off for vanilla)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--train-fraction", type=float, default=d.train_fraction,
                   help="use the first fraction of a fixed shuffle of the training set, in (0, 1]")
    t.add_argument("--val-fraction", type=float, default=d.val_fraction)
    c = t.add_argument_group("classification / regression")
    c.add_argument("--train-size", type=int, default=None, metavar="N",
                   help="train on a class-stratified sample of N examples (low-resource runs)")
    c.add_argument("--sample-seed", type=int, default=d.sample_seed, help="seed of that sample (default: %(default)s)")
    c.add_argument("--eval-data", action="append", default=None, metavar="[NAME=]SOURCE[@SPLIT]",
                   help="out-of-domain set evaluated with the final model (repeatable): a .jsonl/.tsv/.csv "
                        "file, a folder (its test split, or @SPLIT), 'hf:NAME[:CONFIG]' or 'glue/TASK'")
    c.add_argument("--label-map", type=_label_map, action="append", default=None, metavar="A=B[,C=D]",
                   help="map labels of the --eval-data sets and the model's predictions on them before "
                        "scoring, e.g. contradiction=not_entailment,neutral=not_entailment (2-way NLI)")
    c.add_argument("--text-column", default=None, help="column of the (first) text (default: detected)")
    c.add_argument("--text-pair-column", default=None, help="column of the second text of a pair")
    c.add_argument("--label-column", default=None, help="label column (default: label, gold_label, ...)")
    c.add_argument("--glue-task", default=None, help="GLUE task whose metrics to report (cola, mrpc, stsb, ...)")
    c.add_argument("--metric", default=None, help="headline metric (accuracy, macro_f1, mcc, f1, pearson, ...)")
    t.add_argument("--max-epochs", type=int, default=None,
                   help="epochs of original/stable (default 5/20), cap for adaptive (default 250)")
    t.add_argument("--lr", type=float, default=d.lr, help="peak learning rate (default: %(default)s)")
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size)
    t.add_argument("--grad-accum", type=int, default=d.grad_accum, help="gradient accumulation steps")
    t.add_argument("--max-seq-length", type=int, default=d.max_seq_length)
    t.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs)
    t.add_argument("--cooldown-epochs", type=int, default=d.cooldown_epochs)
    t.add_argument("--patience", type=int, default=d.patience)
    t.add_argument("--restarts", type=_bool, default=d.restarts, help="true/false (default: %(default)s)")
    t.add_argument("--final-model", default=d.final_model, help="last or best (default: %(default)s)")
    t.add_argument("--mixed-precision", default=d.mixed_precision, help="auto, no, bf16, fp16")
    t.add_argument("--output-dir", default=d.output_dir, help="runs folder (default: %(default)s)")
    t.add_argument("--run-name", default=None, help="run folder name (default: time-task-mode-seed)")
    t.add_argument("--no-save-model", action="store_true", help="do not save the final model")
    t.add_argument("--no-checkpoints", action="store_true", help="do not save a checkpoint per epoch")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--length-grouping", action="store_true",
                   help="batch sentences of similar length together (faster; changes sampling)")

    add_runs_parser(sub)

    db = sub.add_parser("dashboard", help="serve the live dashboard (Voila) on 127.0.0.1")
    db.add_argument("--runs", default="runs", help="runs folder to show and train into (default: %(default)s)")
    db.add_argument("--port", type=int, default=8866, help="port (default: %(default)s)")
    db.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    db.add_argument("--cull-idle", type=int, default=900, metavar="SECONDS",
                    help="shut down a page's kernel after this long idle with no page open; 0: never "
                         "(default: %(default)s)")
    db.add_argument("--open", action="store_true", help="open the page in a browser")
    return parser


STRATEGY_FLAGS = {"keep_fraction": "--keep-fraction", "update_ratio": "--update-ratio",
                  "stage_steps": "--stage-steps", "fisher_batches": "--fisher-batches",
                  "save_masks": "--save-masks", "telemetry": "--strategy-telemetry"}


def strategy_options_from_args(args: argparse.Namespace) -> dict:
    """The strategy flags that were given, as ``strategy_options``; a flag the chosen strategy
    does not take is an error naming the flags it does take."""
    from .errors import ConfigError
    from .strategies import STRATEGIES, strategy_options

    dests = {"telemetry": "strategy_telemetry"}
    options = {opt: getattr(args, dests.get(opt, opt)) for opt in STRATEGY_FLAGS
               if getattr(args, dests.get(opt, opt), None) is not None}
    if args.strategy not in STRATEGIES:
        return options  # the config check names the valid strategies
    valid = strategy_options(args.strategy)
    wrong = [STRATEGY_FLAGS[o] for o in options if o not in valid]
    if wrong:
        raise ConfigError(f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to strategy "
                          f"{args.strategy!r}; its options: "
                          f"{', '.join(STRATEGY_FLAGS[o] for o in valid if o in STRATEGY_FLAGS) or 'none'}")
    return options


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The ``train`` flags as a config (validated later, in ``train``)."""
    names = TrainConfig.__dataclass_fields__
    cfg = {name: getattr(args, name) for name in names if hasattr(args, name)}
    cfg["strategy_options"] = strategy_options_from_args(args)
    cfg["save_model"] = not args.no_save_model
    cfg["save_checkpoints"] = not args.no_checkpoints
    cfg["eval_data"] = list(args.eval_data or [])
    cfg["label_map"] = {k: v for part in (args.label_map or []) for k, v in part.items()}
    return TrainConfig.from_dict(cfg)


def cmd_train(args) -> int:
    from .console import ConsoleSink
    from .engine import train

    cfg = config_from_args(args)
    result = train(cfg, sinks=[ConsoleSink(bar=not args.no_progress)])
    if result.run_dir is not None:
        print(f"run folder: {result.run_dir}")
    return 0 if result.status in ("completed", "early_stopped") else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "dashboard":
            from dashboard.serve import serve

            return serve(args.runs, port=args.port, ip=args.ip, cull_idle=args.cull_idle, open_browser=args.open)
        return cmd_runs(args)
    except AdaftError as exc:
        print(f"adaft: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
