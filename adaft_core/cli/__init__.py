"""The ``adaft`` command: ``adaft train`` (``train.py``), ``adaft runs list|show|clean`` (``runs.py``),
``adaft sweep`` / ``adaft sweep report NAME`` (``sweep.py``), ``adaft export RUN|--sweep NAME --to
TRACKER`` (``export.py``), ``adaft report`` (``report.py``) and ``adaft dashboard`` (here);
``console.py`` is the progress-bar sink of ``adaft train``.

Input errors (:class:`~adaft_core.errors.AdaftError`) are printed as one message, without a
traceback, with exit status 2; a run that fails or is stopped exits 1.

May import: any folder of adaft_core, and the dashboard (``adaft dashboard``, ``adaft report``):
the only folder that reaches up. Nothing in adaft_core imports cli/.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from adaft_core.cli.export import add_export_parser, cmd_export
from adaft_core.cli.report import add_report_parser, cmd_report
from adaft_core.cli.runs import add_runs_parser, cmd_runs
from adaft_core.cli.sweep import add_sweep_parsers, cmd_sweep, cmd_sweep_report
from adaft_core.cli.train import (add_train_parser, config_from_args, resume_args_check, strategy_options_from_args,
                                  validated_config)
from adaft_core.errors import AdaftError, ConfigError

__all__ = ["build_parser", "config_from_args", "main", "strategy_options_from_args"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaft", description="Adaptive fine-tuning of transformer encoders.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_runs_parser(sub)
    add_sweep_parsers(sub)
    add_export_parser(sub)
    add_report_parser(sub)

    db = sub.add_parser("dashboard", help="serve the live dashboard (Voila) on 127.0.0.1 "
                                          "(see --token, --allow-origin, --data-root)")
    db.add_argument("--runs", default="runs", help="runs folder to show and train into (default: %(default)s)")
    db.add_argument("--port", type=int, default=8866, help="port, 1 to 65535 (default: %(default)s)")
    db.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    db.add_argument("--cull-idle", type=int, default=60, metavar="SECONDS",
                    help="grace of a page's kernel: shut down this long after the page's last connection closed "
                         "(or after the page was served, if it never connected), so closed pages and page loads "
                         "never hold --max-kernels for long; an open page is never shut down; 0: never "
                         "(default: %(default)s)")
    db.add_argument("--max-kernels", type=int, default=10, metavar="N",
                    help="most pages (kernels) open at once; 0: no bound (default: %(default)s)")
    db.add_argument("--open", action="store_true", help="open the page in a browser")
    db.add_argument("--token", default=None,
                    help="token a browser must give (?token=...); default: $ADAFT_DASHBOARD_TOKEN, else none on "
                         "loopback and a generated one, printed once, on any other --ip")
    db.add_argument("--password", action="store_true",
                    help="ask for a password (stored as its hash) that the login page will require")
    db.add_argument("--allow-origin", action="append", default=[], metavar="HOST|URL",
                    help="also serve pages to this host name (repeatable; default: loopback names only), "
                         "e.g. team.example.org or https://team.example.org")
    db.add_argument("--data-root", action="append", default=[], metavar="DIR",
                    help="a folder whose datasets the page may read (repeatable; default: the current "
                         "folder and the runs folder); shipped and Hugging Face names are always allowed")
    db.add_argument("--notebook", default=None, metavar="NAME|PATH",
                    help="serve this notebook as the page instead of the dashboard, behind the same door: a name "
                         "from the project's notebooks/ folder (e.g. 04_teaching, .ipynb optional) or a path to "
                         "an .ipynb file; Voila shows it without its code cells")
    db.add_argument("--preheat", type=int, default=None, metavar="N",
                    help="kernels (0 to 8) kept started ahead of the next page, so it shows at once (Voila's pre-heated "
                         "kernels, kept beside the --max-kernels pages); 0: start a kernel with each page request "
                         "(default: 1 for the dashboard, 0 with --notebook: a pre-heated kernel runs the notebook "
                         "before anyone asks)")
    db.add_argument("--no-preheat", dest="preheat", action="store_const", const=0, help="same as --preheat 0")
    return parser


def cmd_train(args) -> int:
    from adaft_core.cli.console import ConsoleSink

    bar = not getattr(args, "no_progress", False)
    if getattr(args, "resume", None) is not None:
        resume_args_check(args)
        from adaft_core.run import engine  # imports torch
        from adaft_core import resume as resume_run  # with the sinks of the trackers the run reports to

        if getattr(engine, "resume", None) is None:
            raise ConfigError("this version of adaft cannot resume runs (adaft_core.run.engine.resume is missing)")
        result = resume_run(args.resume, output_dir=getattr(args, "output_dir", "runs"), sinks=[ConsoleSink(bar=bar)])
    else:
        cfg = validated_config(args)  # a bad setting stops here, before torch is imported
        from adaft_core import train  # adds the sinks of the --report-to trackers

        result = train(cfg, sinks=[ConsoleSink(bar=bar)])
    if result.run_dir is not None:
        print(f"run folder: {result.run_dir}")
    return 0 if result.status in ("completed", "early_stopped") else 1


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """adaft's own warnings (their text begins ``adaft: ``) as one line, ``adaft: warning: ...``,
    without Python's file, line and source; any other warning as Python shows it."""
    text = str(message)
    if text.startswith("adaft: "):
        return f"adaft: warning: {text[len('adaft: '):]}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.formatwarning = _format_warning
    if argv[:2] == ["sweep", "report"]:  # `adaft sweep report NAME`: its own parser
        argv = ["sweep-report", *argv[2:]]
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "sweep-report":
            return cmd_sweep_report(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "dashboard":
            from adaft_dashboard.server.serve import serve

            return serve(args.runs, port=args.port, ip=args.ip, cull_idle=args.cull_idle, open_browser=args.open,
                         token=args.token, password=args.password, allow_origins=tuple(args.allow_origin),
                         data_roots=tuple(args.data_root), max_kernels=args.max_kernels,
                         notebook=args.notebook, preheat=args.preheat)
        return cmd_runs(args)
    except AdaftError as exc:
        print(f"adaft: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # a library missing, broken or shadowed by a file: one sentence, not a traceback
        from adaft_core.store.module_path import explain_import_error

        print(f"adaft: error: {explain_import_error(exc)}", file=sys.stderr)
        return 2
