"""``adaft sweep [GRID.toml] [--mode a,b --seed 1,2,3 ...]`` and ``adaft sweep report NAME``.

The sweep takes every ``adaft train`` flag (derived from the same declarations, ``train.py``):
the factor flags (mode, strategy, train fraction / size, seed, data, model, lr) accept
comma-separated values, which make them sweep factors; every other flag is passed to each point
unchanged. ``--output-dir`` is the runs folder, as for ``train``.
"""

from __future__ import annotations

import argparse
import sys

from adaft_core.cli.train import OPTION_DEST, add_setting, strategy_options_from_args
from adaft_core.settings.config import GROUPS, SETTINGS
from adaft_core.settings.strategy_options import GROUP as OPTIONS_GROUP
from adaft_core.settings.strategy_options import OPTIONS, defaults_text

SWEEP_EPILOG = """examples:
  adaft sweep --mode original,stable,adaptive --train-fraction 0.1,0.25 --seed 1,2,3 --name study
  adaft sweep grid.toml --executor local --workers 2
  adaft sweep --strategy vanilla,dps-dense,childtuning-d --seed 1,2,3 --task classification \\
      --data ../shared/datasets/snli --train-size 1000
  adaft sweep report study --format csv
"""


def add_sweep_parsers(sub) -> None:
    from adaft_core.sweep import EXECUTORS, FACTORS

    s = sub.add_parser("sweep", help="run a grid of runs (modes × strategies × data sizes × seeds); "
                                     "'adaft sweep report NAME' prints its table",
                       epilog=SWEEP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       argument_default=argparse.SUPPRESS)
    s.add_argument("grid_file", nargs="?", metavar="GRID.toml",
                   help="a TOML file with [grid] (factor = [values]), optional [settings] and name")
    how = s.add_argument_group("the sweep")
    how.add_argument("--name", help="the sweep's name (default: derived from the varied factors)")
    how.add_argument("--executor", choices=EXECUTORS, help="sequential: one point after another in this "
                     "process; local: --workers processes; ray: Ray tasks (default: sequential)")
    how.add_argument("--workers", type=int, help="local executor: points at once; torch threads are split so "
                     "that workers x threads <= cores (default: 2)")
    how.add_argument("--ray-address", help="ray executor: join this cluster (default: start a local Ray)")
    how.add_argument("--cpus-per-point", type=int, help="ray executor: num_cpus of each task (default: 1)")
    how.add_argument("--gpus-per-point", type=float, help="ray executor: num_gpus of each task (default: 0)")
    how.add_argument("--extend", action="store_true", help="add factor values to an existing sweep of this name")
    how.add_argument("--retry-failed", action="store_true", help="run failed points again (default: keep them)")
    how.add_argument("--no-progress", action="store_true", help="no progress bar, one line per point")
    groups = {key: s.add_argument_group(title) for key, title in GROUPS.items()}
    groups["options"] = s.add_argument_group(OPTIONS_GROUP)
    for spec in SETTINGS.values():
        if not spec.cli or spec.name == "run_name":
            continue
        if spec.name in FACTORS:
            groups[spec.group].add_argument(spec.cli_flag, dest=spec.name, metavar="V[,V...]",
                                            help=f"{spec.help}; comma-separated values make it a sweep factor "
                                                 f"(default: {spec.shown_default()})".replace("%", "%%"))
        else:  # a sweep saves no final model unless asked (sweep.point_configs)
            add_setting(groups[spec.group], spec, default="false in a sweep" if spec.name == "save_model" else None)
    for name, spec in OPTIONS.items():
        add_setting(groups["options"], spec, dest=OPTION_DEST + name, default=defaults_text(name))

    r = sub.add_parser("sweep-report", help=argparse.SUPPRESS, prog="adaft sweep report",
                       description="The per-cell table of a sweep (mean ± std of the test metric, converged "
                                   "runs, epochs, wall time); also writes report.md and figure.html beside "
                                   "its manifest.")
    r.add_argument("name", help="the sweep's name")
    r.add_argument("--output-dir", default="runs", help="the runs folder (default: %(default)s)")
    r.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown",
                   help="output format (default: %(default)s)")
    r.add_argument("--split", choices=("test", "validation"), default="test",
                   help="the score aggregated: the final model's test score, or its last validation score "
                        "(to choose a recipe without looking at the test split) (default: %(default)s)")
    r.add_argument("--baseline", metavar="FACTOR=VALUE",
                   help="compare every cell with this value of a factor on the same seeds: wins/ties/losses, "
                        "mean difference, exact Wilcoxon signed-rank p, std ratio (e.g. strategy=vanilla; "
                        "needs a seed factor) (default: none)")


def grid_from_args(args: argparse.Namespace):
    """The grid: a TOML file and/or factor flags (a value with a comma makes a factor)."""
    from adaft_core.cli.train import given_settings
    from adaft_core.sweep import FACTORS, load_manifest, make_grid, read_grid_file
    from adaft_core.sweep.grid import parse_values

    base = read_grid_file(args.grid_file) if getattr(args, "grid_file", None) else None
    factors = dict(base.factors) if base else {}
    settings = dict(base.settings) if base else {}
    given = {k: v for k, v in given_settings(args).items() if k not in FACTORS}
    settings.update(given)
    name = getattr(args, "name", None) or (base.name if base else None)
    stored = load_manifest(settings.get("output_dir", "runs"), name) if name else None
    stored_factors = set((stored.grid.get("factors") or {}) if stored else ())
    for factor in FACTORS:
        text = vars(args).get(factor)
        if text is None:
            continue
        values = parse_values(factor, text)
        if len(values) > 1 or factor in stored_factors:
            factors[factor] = values
            settings.pop(factor, None)
        else:
            settings[factor] = values[0]
            factors.pop(factor, None)
    options = strategy_options_from_args(args, settings.get("strategy", "vanilla"))
    if options:
        settings["strategy_options"] = {**(settings.get("strategy_options") or {}), **options}
    return make_grid(factors, settings, name)


def cmd_sweep(args: argparse.Namespace) -> int:
    from adaft_core.sweep import DONE, run_sweep, write_report_files

    grid = grid_from_args(args)
    runs_dir = grid.settings.get("output_dir", "runs")
    bar = _Progress(len(grid.points()), quiet=bool(getattr(args, "no_progress", False)))
    try:
        manifest = run_sweep(grid, output_dir=runs_dir, executor=getattr(args, "executor", "sequential"),
                             workers=getattr(args, "workers", 2), extend=getattr(args, "extend", False),
                             retry_failed=getattr(args, "retry_failed", False),
                             ray_address=getattr(args, "ray_address", None),
                             cpus_per_point=getattr(args, "cpus_per_point", 1),
                             gpus_per_point=getattr(args, "gpus_per_point", 0), on_point=bar.point,
                             on_start=bar.start)
    finally:
        bar.close()
    counts = manifest.counts()
    md, html = write_report_files(manifest.name, runs_dir)
    print(f"sweep {manifest.name}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"manifest: {md.parent / 'sweep.json'}\nreport: {md}\nfigure: {html}")
    return 0 if all(p.status in DONE for p in manifest.points) else 1


def cmd_sweep_report(args: argparse.Namespace) -> int:
    from adaft_core.sweep import report, sweep_status, write_report_files
    from adaft_core.sweep.paired import parse_baseline

    manifest = sweep_status(args.name, args.output_dir)
    baseline = parse_baseline(args.baseline, manifest.grid["factors"]) if args.baseline else None
    if args.format == "markdown":  # the table of report.md, written beside the manifest
        md, _ = write_report_files(args.name, args.output_dir, split=args.split, baseline=baseline)
        print(md.read_text(encoding="utf-8").rstrip("\n"))
        return 0
    table = report(args.name, args.output_dir, split=args.split, baseline=baseline)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(table.to_json(orient="records", indent=2))
    return 0


class _Progress:
    """One bar for the sweep (points done / total, ETA) and a line per finished point."""

    def __init__(self, total: int, quiet: bool):
        from tqdm.auto import tqdm

        self.total, self.quiet, self.done = total, quiet, 0
        self.bar = None if quiet else tqdm(total=total, unit="point", desc="sweep", dynamic_ncols=True)

    def start(self, already_done: int) -> None:
        self.done = already_done
        if self.bar is not None:
            self.bar.update(already_done)

    def point(self, point, manifest) -> None:
        self.done += 1
        score = "" if point.score is None else f"  {manifest.metric or 'score'} {point.score:.4f}"
        epochs = "" if point.epochs is None else f"  {point.epochs} epochs"
        wall = "" if point.wall_time is None else f"  {point.wall_time:.0f} s"
        why = f"  ({point.reason})" if point.reason else ""
        line = f"[{self.done}/{self.total}] {point.run_id}  {point.status}{score}{epochs}{wall}{why}"
        if self.bar is not None:
            self.bar.write(line)
            self.bar.update(1)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
